package session

import (
	"testing"

	"github.com/gorilla/securecookie"

	"github.com/hoplite-id/hoplite/internal/secret"
)

func TestKratosCookie(t *testing.T) {
	const name = "ory_kratos_session"
	encode := func(t *testing.T, name string, values map[any]any, secrets ...string) string {
		keys := make([][]byte, len(secrets))
		for k, s := range secrets {
			keys[k] = []byte(s)
		}
		v, err := securecookie.EncodeMulti(name, values, securecookie.CodecsFromPairs(keys...)...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	token := secret.RandomToken(secret.TokenLength)
	signing := "a-cookie-secret-a-cookie-secret!"
	blockKey := "0123456789abcdef0123456789abcdef" // 32 bytes: AES-256
	for _, tc := range []struct {
		name    string
		secrets []string // the reader's
		value   string
		want    string
	}{
		{"signed", []string{signing}, encode(t, name, map[any]any{"session_token": token}, signing), token},
		{"signed and encrypted", []string{signing, blockKey}, encode(t, name, map[any]any{"session_token": token}, signing, blockKey), token},
		{"older secret pair", []string{"new-secret-new-secret-new-secret", blockKey, signing},
			encode(t, name, map[any]any{"session_token": token, "expires_at": "2030-01-01T00:00:00Z"}, signing), token},
		{"wrong secret", []string{"another-secret-another-secret-xx"}, encode(t, name, map[any]any{"session_token": token}, signing), ""},
		{"other cookie name", []string{signing}, encode(t, "other", map[any]any{"session_token": token}, signing), ""},
		{"no token inside", []string{signing}, encode(t, name, map[any]any{"sid": "x"}, signing), ""},
		{"a bare Hoplite token", []string{signing}, token, ""},
		{"garbage", []string{signing}, "not-a-cookie-value-not-a-cookie-value", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := newKratosCookie(name, tc.secrets).token(tc.value)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("token %q %v, want %q", got, ok, tc.want)
			}
		})
	}
	if _, ok := newKratosCookie(name, nil).token("x"); ok {
		t.Fatal("no secrets decoded a cookie")
	}
}
