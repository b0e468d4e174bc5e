package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func testManager(persistent bool) *Manager {
	return NewManager(nil, []string{"a-test-secret-of-enough-length"}, Config{
		Lifespan: 24 * time.Hour,
		Cookie: CookieConfig{Name: "ory_kratos_session", Path: "/", SameSite: http.SameSiteLaxMode,
			Persistent: persistent},
	}, nil)
}

func TestSetCookie(t *testing.T) {
	s := &Session{Token: "tok", ExpiresAt: time.Now().Add(time.Hour)}

	w := httptest.NewRecorder()
	testManager(true).SetCookie(w, s)
	c := w.Result().Cookies()[0]
	// The full lifespan, whatever the session's own expiry.
	if c.MaxAge != 86400 || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Value != "tok" {
		t.Errorf("persistent cookie %s", w.Header().Get("Set-Cookie"))
	}
	if d := time.Until(c.Expires); d < 23*time.Hour || d > 24*time.Hour {
		t.Errorf("Expires in %v, want the lifespan", d)
	}

	w = httptest.NewRecorder()
	testManager(false).SetCookie(w, s)
	if c := w.Result().Cookies()[0]; c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("session-only cookie %s", w.Header().Get("Set-Cookie"))
	}

	w = httptest.NewRecorder()
	testManager(true).ClearCookie(w)
	if c := w.Result().Cookies()[0]; c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("cleared cookie %s", w.Header().Get("Set-Cookie"))
	}
}

// TestTokenFromRequest checks Kratos' order of token sources.
func TestTokenFromRequest(t *testing.T) {
	m := testManager(true)
	cases := []struct {
		name       string
		headers    map[string]string
		cookie     string
		want       string
		fromCookie bool
	}{
		{"nothing", nil, "", "", false},
		{"X-Session-Token", map[string]string{"X-Session-Token": "a"}, "", "a", false},
		{"X-Session-Token wins", map[string]string{"X-Session-Token": "a", "X-Session-Cookie": "b", "Authorization": "Bearer d"}, "c", "a", false},
		{"X-Session-Cookie before the cookie", map[string]string{"X-Session-Cookie": "b"}, "c", "b", true},
		{"cookie before Authorization", map[string]string{"Authorization": "Bearer d"}, "c", "c", true},
		{"Bearer", map[string]string{"Authorization": "Bearer d"}, "", "d", false},
		{"bearer, any case", map[string]string{"Authorization": "BEARER d"}, "", "d", false},
		{"Basic is not a token", map[string]string{"Authorization": "Basic d"}, "", "", false},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/sessions/whoami", nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "ory_kratos_session", Value: c.cookie})
			}
			got, fromCookie := m.TokenFromRequest(r)
			if got != c.want || fromCookie != c.fromCookie {
				t.Errorf("got %q (cookie %v), want %q (cookie %v)", got, fromCookie, c.want, c.fromCookie)
			}
		})
	}
}
