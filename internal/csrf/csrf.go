// Package csrf protects browser flows against cross-site request forgery
// with the double-submit pattern: a random token lives in an HttpOnly cookie,
// and every form carries the same token masked with a fresh one-time pad (so
// the form value changes on every render and leaks nothing through
// compression side channels). A submission is accepted only when the form
// token unmasks to the cookie token.
//
// The cookie carries the token followed by a tag keyed with secrets.default,
// so a value chosen by someone else (a cookie planted from a sibling
// subdomain, which the browser sends along like the real one) is not taken
// as a token: the server issues a fresh one instead and the submission
// fails. The masked form token keeps its Kratos shape (88 base64
// characters), since UIs copy it around.
package csrf

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

const (
	tokenLength = 32
	// tagLength is the length of the keyed tag after the token in the
	// cookie (128 bits).
	tagLength = 16
)

// CookieSettings are the cookie attributes (from cookies.* in the config)
// and the secrets that key the cookie value.
type CookieSettings struct {
	Domain   string
	Path     string
	SameSite http.SameSite
	Secure   bool
	// Secrets are secrets.default: the first tags new cookies, all are
	// accepted, so secrets can rotate. Without any, a random key lives as
	// long as the process.
	Secrets []string
}

// Manager issues and checks anti-CSRF tokens.
type Manager struct {
	name   string
	cookie CookieSettings
	keys   [][]byte
}

// New creates a manager. The cookie name depends on the public base URL, as
// in Kratos, so two deployments on one domain don't share tokens.
func New(publicBaseURL string, cookie CookieSettings) *Manager {
	sum := sha256.Sum256([]byte(publicBaseURL))
	if cookie.Path == "" {
		cookie.Path = "/"
	}
	m := &Manager{name: "csrf_token_" + hex.EncodeToString(sum[:]), cookie: cookie}
	secrets := cookie.Secrets
	if len(secrets) == 0 {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		secrets = []string{string(b)}
	}
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		mac.Write([]byte("hoplite/csrf-cookie/v1"))
		m.keys = append(m.keys, mac.Sum(nil))
	}
	return m
}

// tag is the keyed tag of a raw token under key k.
func (m *Manager) tag(k int, raw []byte) []byte {
	mac := hmac.New(sha256.New, m.keys[k])
	mac.Write(raw)
	return mac.Sum(nil)[:tagLength]
}

// CookieValue is the cookie value that carries token (as Regenerate
// returns it): the raw token followed by its tag.
func (m *Manager) CookieValue(token string) string {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenLength {
		return ""
	}
	return base64.StdEncoding.EncodeToString(append(raw, m.tag(0, raw)...))
}

// parseCookieValue returns the token (base64 of its raw bytes, the form
// Mask and Hash take) of a cookie value, if it is well-formed and its tag
// was made with one of the secrets.
func (m *Manager) parseCookieValue(value string) (string, bool) {
	if len(value) != base64.StdEncoding.EncodedLen(tokenLength+tagLength) {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(b) != tokenLength+tagLength {
		return "", false
	}
	raw, tag := b[:tokenLength], b[tokenLength:]
	ok := 0
	for k := range m.keys {
		ok |= subtle.ConstantTimeCompare(tag, m.tag(k, raw))
	}
	if ok != 1 {
		return "", false
	}
	return base64.StdEncoding.EncodeToString(raw), true
}

// CookieName is the name of the anti-CSRF cookie.
func (m *Manager) CookieName() string { return m.name }

// CookieToken returns the raw token from the request's cookie, if it holds a
// well-formed one.
func (m *Manager) CookieToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(m.name)
	if err != nil {
		return "", false
	}
	return m.parseCookieValue(c.Value)
}

// EnsureToken returns the request's token, issuing a new cookie when the
// request has none.
func (m *Manager) EnsureToken(w http.ResponseWriter, r *http.Request) string {
	if t, ok := m.CookieToken(r); ok {
		return t
	}
	return m.Regenerate(w)
}

// Regenerate issues a new token cookie (after login, logout or recovery).
func (m *Manager) Regenerate(w http.ResponseWriter) string {
	b := make([]byte, tokenLength)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	t := base64.StdEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: m.name, Value: m.CookieValue(t), Path: m.cookie.Path, Domain: m.cookie.Domain,
		MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: m.cookie.Secure, SameSite: m.cookie.SameSite,
	})
	return t
}

// Mask returns the form value for a token: base64(pad || token XOR pad),
// 88 characters, different on every call.
func Mask(token string) string {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenLength {
		return ""
	}
	out := make([]byte, 2*tokenLength)
	if _, err := rand.Read(out[:tokenLength]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	for k := 0; k < tokenLength; k++ {
		out[tokenLength+k] = raw[k] ^ out[k]
	}
	return base64.StdEncoding.EncodeToString(out)
}

// unmask recovers the raw token bytes from a form value.
func unmask(masked string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(masked)
	if err != nil {
		// Forms may turn "+" into " " when a client forgets to encode it.
		b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(masked, " ", "+"))
	}
	if err != nil || len(b) != 2*tokenLength {
		return nil, false
	}
	out := make([]byte, tokenLength)
	for k := 0; k < tokenLength; k++ {
		out[k] = b[tokenLength+k] ^ b[k]
	}
	return out, true
}

// Hash is what flows store of the token they were created with.
func Hash(token string) string {
	sum := sha256.Sum256([]byte("hoplite/csrf/" + token))
	return hex.EncodeToString(sum[:])
}

// MatchesHash reports whether the request's cookie token is the one whose
// hash a flow stored.
func (m *Manager) MatchesHash(r *http.Request, hash string) bool {
	t, ok := m.CookieToken(r)
	if !ok || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(Hash(t)), []byte(hash)) == 1
}

// Check verifies a submitted (masked) token against the cookie. It returns
// nil or the 403 security_csrf_violation error explaining what was missing.
func (m *Manager) Check(r *http.Request, masked string) error {
	if r.Header.Get("Cookie") == "" {
		return Violation(r, "The request carried no cookies at all, so the anti-CSRF cookie was missing.")
	}
	t, ok := m.CookieToken(r)
	if !ok {
		return Violation(r, "The request carried cookies but not a valid anti-CSRF cookie.")
	}
	want, _ := base64.StdEncoding.DecodeString(t)
	got, ok := unmask(masked)
	if !ok || subtle.ConstantTimeCompare(want, got) != 1 {
		return Violation(r, "The anti-CSRF cookie and the submitted csrf_token do not match. Deleting this site's cookies and starting the flow again usually helps.")
	}
	return nil
}

// Violation builds the 403 security_csrf_violation error.
func Violation(r *http.Request, reason string) *httpx.Error {
	hint := "Server-side apps must forward the browser's Cookie header to Hoplite and submit the csrf_token form value it rendered."
	if r.Header.Get("Origin") != "" {
		hint = "Browser apps calling Hoplite with fetch or XHR must send credentials (cookies) with every request, and the Hoplite domain must be the same as, or a parent of, the app's domain."
	}
	return httpx.Forbidden("The request was rejected because it failed the anti-CSRF check.").
		WithID("security_csrf_violation").
		WithMessage("the request was rejected to protect you from Cross-Site-Request-Forgery").
		WithDetail("docs", "https://www.ory.sh/kratos/docs/debug/csrf").
		WithDetail("hint", hint).
		WithDetail("reject_reason", reason)
}
