package session

import (
	"net/http"

	"github.com/gorilla/securecookie"

	"github.com/hoplite-id/hoplite/internal/secret"
)

// kratosCookie reads session cookies written by Ory Kratos, so that browsers
// signed in before a move from Kratos (hoplite migrate from-kratos) stay
// signed in. Kratos keeps the session token in a gorilla/securecookie value:
// a gob-encoded map holding "session_token", authenticated with HMAC-SHA256
// and, when there is a second secret, encrypted with AES. Its codecs come
// from the cookie secrets taken in pairs (hash key, block key), which is how
// Kratos hands them to its cookie store.
type kratosCookie struct {
	name   string
	codecs []securecookie.Codec
}

func newKratosCookie(name string, secrets []string) *kratosCookie {
	if len(secrets) == 0 || name == "" {
		return nil
	}
	keys := make([][]byte, len(secrets))
	for k, s := range secrets {
		keys[k] = []byte(s)
	}
	return &kratosCookie{name: name, codecs: securecookie.CodecsFromPairs(keys...)}
}

// token returns the session token inside a Kratos cookie value.
func (k *kratosCookie) token(value string) (string, bool) {
	if k == nil || len(value) <= secret.TokenLength {
		return "", false
	}
	values := map[any]any{}
	if err := securecookie.DecodeMulti(k.name, value, &values, k.codecs...); err != nil {
		return "", false
	}
	t, ok := values["session_token"].(string)
	return t, ok && t != ""
}

// ReplaceKratosCookie answers a request that signed in with a cookie Kratos
// wrote with Hoplite's own session cookie for the same session, so that the
// browser presents the Kratos format at most once. It must be called
// before the answer's header is written.
func (m *Manager) ReplaceKratosCookie(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(m.cfg.Cookie.Name)
	if err != nil {
		return
	}
	// Only when the cookie is what authenticated the request (no token
	// header took precedence over it).
	used, fromCookie := m.TokenFromRequest(r)
	if token, ok := m.kratos.token(c.Value); ok && fromCookie && token == used {
		m.SetCookie(w, &Session{Token: token})
	}
}
