package csrf

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/testutil/bound"
)

const testBaseURL = "http://127.0.0.1:4433/"

func newTestManager(secrets ...string) *Manager {
	return New(testBaseURL, CookieSettings{Secrets: secrets})
}

// issue returns the cookie value a manager sets and the token it returns.
func issue(t testing.TB, m *Manager) (cookie, token string) {
	t.Helper()
	w := httptest.NewRecorder()
	token = m.Regenerate(w)
	for _, c := range w.Result().Cookies() {
		if c.Name == m.CookieName() {
			return c.Value, token
		}
	}
	t.Fatal("no anti-CSRF cookie set")
	return "", ""
}

func submission(m *Manager, cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow=x", nil)
	r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: cookie})
	return r
}

func TestIssuedCookieAndMaskedToken(t *testing.T) {
	m := newTestManager("secret-one-secret-one-secret-one")
	cookie, token := issue(t, m)
	if cookie == token || len(cookie) != 64 {
		t.Fatalf("the cookie %q must not be the bare token %q", cookie, token)
	}
	masked := Mask(token)
	if len(masked) != 88 {
		t.Fatalf("masked token has %d characters, Kratos UIs expect 88", len(masked))
	}
	if err := m.Check(submission(m, cookie), masked); err != nil {
		t.Fatalf("issued cookie with its masked token refused: %v", err)
	}
	if got, ok := m.CookieToken(submission(m, cookie)); !ok || got != token {
		t.Fatalf("CookieToken = %q, %v; want the issued token", got, ok)
	}
	if !m.MatchesHash(submission(m, cookie), Hash(token)) {
		t.Fatal("the flow's stored hash does not match the issued cookie")
	}
}

func TestPlantedCookieRefused(t *testing.T) {
	m := newTestManager("secret-one-secret-one-secret-one")
	raw := make([]byte, tokenLength)
	for k := range raw {
		raw[k] = byte(k)
	}
	chosen := base64.StdEncoding.EncodeToString(raw)
	withBogusTag := base64.StdEncoding.EncodeToString(append(raw, make([]byte, tagLength)...))
	otherDeployment, _ := issue(t, newTestManager("another-secret-another-secret"))
	for name, planted := range map[string]string{
		"untagged token (the old shape)": chosen,
		"token with a made-up tag":       withBogusTag,
		"cookie of another deployment":   otherDeployment,
	} {
		t.Run(name, func(t *testing.T) {
			r := submission(m, planted)
			if _, ok := m.CookieToken(r); ok {
				t.Fatal("a planted cookie was taken as a token")
			}
			token := chosen
			if name == "cookie of another deployment" {
				token, _ = newTestManager("another-secret-another-secret").CookieToken(r)
			}
			err := m.Check(r, Mask(token))
			if he := httpx.As(err); err == nil || he.ID != "security_csrf_violation" {
				t.Fatalf("Check = %v, want security_csrf_violation", err)
			}
			// A page render issues a fresh cookie instead of adopting it.
			w := httptest.NewRecorder()
			if got := m.EnsureToken(w, r); got == token || len(w.Result().Cookies()) != 1 {
				t.Fatal("EnsureToken adopted the planted value")
			}
		})
	}
}

func TestCookieSurvivesSecretRotation(t *testing.T) {
	old := newTestManager("old-secret-old-secret-old-secret")
	cookie, token := issue(t, old)
	rotated := newTestManager("new-secret-new-secret-new-secret", "old-secret-old-secret-old-secret")
	if err := rotated.Check(submission(rotated, cookie), Mask(token)); err != nil {
		t.Fatalf("a cookie tagged with the previous secret was refused: %v", err)
	}
}

// FuzzCheck feeds cookie values and submitted tokens to the parsers: no
// panic, a violation unless the pair is genuine, little memory per call.
func FuzzCheck(f *testing.F) {
	m := newTestManager("fuzz-secret-fuzz-secret-fuzz-secret")
	// A fixed token, as each fuzzing process runs this again.
	raw := []byte("0123456789abcdef0123456789abcdef")
	token := base64.StdEncoding.EncodeToString(raw)
	cookie := base64.StdEncoding.EncodeToString(append(raw, m.tag(0, raw)...))
	f.Add(cookie, Mask(token))
	f.Add(cookie, strings.ReplaceAll(Mask(token), "+", " "))
	f.Add(token, Mask(token))
	f.Add("", "")
	f.Add("%%%", strings.Repeat("A", 88))
	f.Add(cookie+"=", Mask(token)+"==")
	f.Fuzz(func(t *testing.T, cookieValue, masked string) {
		bound.Check(t, bound.Budget{Bytes: uint64(8*(len(cookieValue)+len(masked)) + 64<<10), Time: time.Second}, func() {
			r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow=x", nil)
			r.Header.Set("Cookie", m.CookieName()+"="+cookieValue)
			err := m.Check(r, masked)
			if err == nil {
				got, ok := m.CookieToken(r)
				if !ok || got != token {
					t.Fatalf("accepted cookie %q with token %q", cookieValue, masked)
				}
				return
			}
			if he := httpx.As(err); he.Code != http.StatusForbidden {
				t.Fatalf("error %v, want 403", err)
			}
		})
	})
}
