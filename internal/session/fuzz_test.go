package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/testutil/bound"
)

// FuzzTokenFromRequest feeds the headers that carry a session (Cookie,
// X-Session-Token, X-Session-Cookie, Authorization) to the token extraction
// and to the logout-token derivation that follows it.
func FuzzTokenFromRequest(f *testing.F) {
	tok := strings.Repeat("aB3", 10) + "xy"
	f.Add("ory_kratos_session="+tok, "", "", "")
	f.Add("csrf_token_abc=x; ory_kratos_session="+tok+"; other=1", "", "", "")
	f.Add("", tok, "", "")
	f.Add("", "", tok, "")
	f.Add("", "", "", "Bearer "+tok)
	f.Add("ory_kratos_session=\"quoted\"", " ", "\t", "bearer")
	f.Add(strings.Repeat("a=b;", 100), "", "", "Basic dXNlcjpwYXNz")
	m := testManager(false)
	f.Fuzz(func(t *testing.T, cookie, sessionToken, sessionCookie, authorization string) {
		n := len(cookie) + len(sessionToken) + len(sessionCookie) + len(authorization)
		bound.Check(t, bound.Budget{Bytes: uint64(16*n + 64<<10), Time: time.Second}, func() {
			r := httptest.NewRequest(http.MethodGet, "/sessions/whoami", nil)
			r.Header.Set("Cookie", cookie)
			r.Header.Set("X-Session-Token", sessionToken)
			r.Header.Set("X-Session-Cookie", sessionCookie)
			r.Header.Set("Authorization", authorization)
			token, _ := m.TokenFromRequest(r)
			if token != strings.TrimSpace(token) {
				t.Fatalf("token %q keeps surrounding space", token)
			}
			if m.HasSessionCredentials(r) != (token != "") {
				t.Fatal("HasSessionCredentials disagrees with TokenFromRequest")
			}
			lt := m.LogoutToken(token)
			if len(lt) != secret.TokenLength || !m.ValidLogoutToken(token, lt) {
				t.Fatalf("logout token %q of %q", lt, token)
			}
		})
	})
}
