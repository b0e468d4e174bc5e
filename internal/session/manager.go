package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/store"
)

// CookieConfig describes the session cookie.
type CookieConfig struct {
	Name       string
	Domain     string
	Path       string
	SameSite   http.SameSite
	Secure     bool
	Persistent bool
}

// Config are the session settings.
type Config struct {
	Lifespan time.Duration
	// IdleTimeout is session.idle_timeout: a session unused for this long
	// ends before its lifespan (0 disables).
	IdleTimeout time.Duration
	Cookie      CookieConfig
	// WhoamiRequiredAAL is session.whoami.required_aal: "aal1" or
	// "highest_available".
	WhoamiRequiredAAL string
	// PublicURL is used for redirect_browser_to in AAL errors.
	PublicURL string
	// KratosCookieSecrets (secrets.cookie, else secrets.default) open
	// session cookies written by Ory Kratos before a move to Hoplite.
	KratosCookieSecrets []string
	// Cache, when set, answers session checks from memory; the storage
	// layer keeps it exact (see Cache).
	Cache *Cache
}

// Manager issues and checks sessions.
type Manager struct {
	store     Store
	hasher    *secret.TokenHasher
	logoutKey *secret.TokenHasher
	cache     *Cache
	kratos    *kratosCookie
	cfg       Config
	expose    func(*identity.Identity) *identity.Identity
	audit     Auditor
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// SetAuditor makes the manager record revoked sessions (nil: none).
func (m *Manager) SetAuditor(a Auditor) { m.audit = a }

func (m *Manager) revoked(ctx context.Context, identityID uuid.UUID, details map[string]any) {
	if m.audit != nil {
		m.audit.Record(ctx, audit.For(audit.SessionRevoked, identityID, details))
	}
}

// NewManager wires the session manager. secrets are secrets.default; expose
// fills in computed identity fields (schema_url) before sessions are served.
func NewManager(st Store, secrets []string, cfg Config, expose func(*identity.Identity) *identity.Identity) *Manager {
	return &Manager{
		store: st, cfg: cfg, expose: expose,
		hasher:    secret.NewTokenHasher("session-token", secrets),
		logoutKey: secret.NewTokenHasher("logout-token", secrets),
		cache:     cfg.Cache,
		kratos:    newKratosCookie(cfg.Cookie.Name, cfg.KratosCookieSecrets),
	}
}

// TokenHash is the keyed hash under which a session token is stored (under
// the current secret): what a session moved in from elsewhere, whose token
// is known, must be stored under.
func (m *Manager) TokenHash(token string) string { return m.hasher.Hash(token) }

// Config returns the settings.
func (m *Manager) Config() Config { return m.cfg }

// ErrNoSession means the request carries no valid, active session.
var ErrNoSession = errors.New("no valid session")

// New prepares a session for an identity that just completed methods. It is
// not stored until Persist.
func (m *Manager) New(i *identity.Identity, methods ...AuthenticationMethod) *Session {
	now := identity.Now()
	s := &Session{
		ID: uuid.New(), Active: true, Identity: i, IdentityID: i.ID,
		IssuedAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(m.cfg.Lifespan),
		CreatedAt: now, UpdatedAt: now,
	}
	for _, meth := range methods {
		if meth.CompletedAt.IsZero() {
			meth.CompletedAt = now
		}
		if meth.AAL == "" {
			meth.AAL = identity.AAL1
		}
		s.AuthenticationMethods = append(s.AuthenticationMethods, meth)
	}
	s.AAL = s.ComputeAAL()
	return s
}

// Persist stores a new session under fresh tokens.
func (m *Manager) Persist(ctx context.Context, s *Session) error {
	s.Token = secret.RandomToken(secret.TokenLength)
	s.TokenHash = m.hasher.Hash(s.Token)
	return m.store.CreateSession(ctx, s)
}

// Refresh records a new authentication on an existing session (a factor
// set up in settings): same id and token, new authenticated_at, issued_at
// and expires_at, the method appended and the AAL recomputed. A session
// revoked meanwhile stays revoked (store.ErrNotFound).
func (m *Manager) Refresh(ctx context.Context, s *Session, meth AuthenticationMethod) error {
	now := identity.Now()
	if meth.CompletedAt.IsZero() {
		meth.CompletedAt = now
	}
	if meth.AAL == "" {
		meth.AAL = identity.AAL1
	}
	s.AuthenticationMethods = append(s.AuthenticationMethods, meth)
	s.AAL = s.ComputeAAL()
	s.AuthenticatedAt, s.IssuedAt, s.UpdatedAt = now, now, now
	s.ExpiresAt = now.Add(m.cfg.Lifespan)
	return m.store.UpdateSession(ctx, s)
}

// Reauthenticate is Refresh for a login that re-authenticates the session
// (refresh=true, or a step-up to aal2), which also replaces the token:
// s.Token holds the new one, so a token that leaked before does not carry
// the fresh authentication or the higher assurance. Kratos keeps the token;
// its login answer carries session_token (API flows) and sets the cookie
// (browsers) either way, so clients take the new one without noticing.
func (m *Manager) Reauthenticate(ctx context.Context, s *Session, meth AuthenticationMethod) error {
	s.Token = secret.RandomToken(secret.TokenLength)
	s.TokenHash = m.hasher.Hash(s.Token)
	return m.Refresh(ctx, s, meth)
}

// SetCookie writes the session cookie.
func (m *Manager) SetCookie(w http.ResponseWriter, s *Session) {
	c := &http.Cookie{
		Name: m.cfg.Cookie.Name, Value: s.Token, Path: m.cfg.Cookie.Path, Domain: m.cfg.Cookie.Domain,
		HttpOnly: true, Secure: m.cfg.Cookie.Secure, SameSite: m.cfg.Cookie.SameSite,
	}
	if m.cfg.Cookie.Persistent {
		// Kratos gives the cookie the full session lifespan from now (so a
		// fresh session's cookie says Max-Age=86400, not 86399).
		c.MaxAge = int(m.cfg.Lifespan.Seconds())
		c.Expires = time.Now().Add(m.cfg.Lifespan)
	}
	http.SetCookie(w, c)
}

// ClearCookie deletes the session cookie.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: m.cfg.Cookie.Name, Value: "", Path: m.cfg.Cookie.Path, Domain: m.cfg.Cookie.Domain,
		HttpOnly: true, Secure: m.cfg.Cookie.Secure, SameSite: m.cfg.Cookie.SameSite,
		MaxAge: -1, Expires: time.Unix(0, 0),
	})
}

// TokenFromRequest extracts a session token in Kratos' order: the
// X-Session-Token header, the X-Session-Cookie header (a cookie value sent by
// a server-side proxy), the session cookie, then Authorization: Bearer.
func (m *Manager) TokenFromRequest(r *http.Request) (token string, fromCookie bool) {
	if t := strings.TrimSpace(r.Header.Get("X-Session-Token")); t != "" {
		return t, false
	}
	if t := strings.TrimSpace(r.Header.Get("X-Session-Cookie")); t != "" {
		return m.cookieToken(t), true
	}
	if c, err := r.Cookie(m.cfg.Cookie.Name); err == nil && c.Value != "" {
		return m.cookieToken(c.Value), true
	}
	if scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		if t = strings.TrimSpace(t); t != "" {
			return t, false
		}
	}
	return "", false
}

// cookieToken is the token a session cookie value carries: the value
// itself, or the token inside a cookie Kratos wrote.
func (m *Manager) cookieToken(v string) string {
	if t, ok := m.kratos.token(v); ok {
		return t
	}
	return v
}

// HasSessionCredentials reports whether the request carries any session
// token or cookie at all (valid or not).
func (m *Manager) HasSessionCredentials(r *http.Request) bool {
	t, _ := m.TokenFromRequest(r)
	return t != ""
}

// FromRequest returns the request's active session, or ErrNoSession.
func (m *Manager) FromRequest(ctx context.Context, r *http.Request) (*Session, error) {
	token, _ := m.TokenFromRequest(r)
	return m.FromToken(ctx, token)
}

// FromToken returns the active session a token belongs to, or ErrNoSession.
// The caller owns the session it gets.
func (m *Manager) FromToken(ctx context.Context, token string) (*Session, error) {
	e, err := m.lookup(ctx, token)
	if err != nil {
		return nil, err
	}
	if m.cache != nil {
		return copySession(e.session), nil
	}
	return e.session, nil
}

// lookup finds the active session of a token: in the cache, or in the
// database (then caching it). With a cache the entry is shared and must not
// be changed; without one, its session belongs to the caller and whoami is
// nil.
func (m *Manager) lookup(ctx context.Context, token string) (*cacheEntry, error) {
	if token == "" || len(token) > 512 {
		return nil, ErrNoSession
	}
	now := time.Now()
	first := m.hasher.Hash(token)
	if e := m.cache.get(first, now); e != nil {
		if _, err := m.checkIdle(ctx, e.session, now); err != nil {
			return nil, err
		}
		return e, nil
	}
	epoch := m.cache.begin()
	// The current secret's hash first; older secrets only on a miss (a
	// rotation in progress).
	for k := 0; k < m.hasher.Len(); k++ {
		h := first
		if k > 0 {
			h = m.hasher.HashWith(k, token)
		}
		s, err := m.store.SessionByTokenHash(ctx, h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !s.IsActive(now) {
			return nil, ErrNoSession
		}
		s.Identity = m.expose(s.Identity)
		if s, err = m.checkIdle(ctx, s, now); err != nil {
			return nil, err
		}
		e := &cacheEntry{session: s}
		if m.cache != nil {
			e.whoami = append(s.AppendJSON(nil), '\n')
			m.cache.put(epoch, first, s, e.whoami, now)
		}
		return e, nil
	}
	return nil, ErrNoSession
}

// checkIdle applies session.idle_timeout: a session unused for longer has
// ended. A use is recorded at most once per sixteenth of the timeout, so
// whoami stays a read on most requests (a session may therefore end up to
// that much early). The session passed in may be shared through the cache
// and is never modified.
func (m *Manager) checkIdle(ctx context.Context, s *Session, now time.Time) (*Session, error) {
	idle := m.cfg.IdleTimeout
	if idle <= 0 {
		return s, nil
	}
	since := now.Sub(s.LastActivity())
	if since > idle {
		return nil, ErrNoSession
	}
	if since < idle/16 {
		return s, nil
	}
	// The store drops the cached copies, which hold the previous time.
	if err := m.store.TouchSession(ctx, s.ID, s.IdentityID, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrNoSession
		}
		return nil, err
	}
	return s, nil
}

// LogoutToken derives a session's logout token from its session token (a
// keyed hash written as 32 alphanumerics). Only hashes of both are stored,
// so deriving is how a logout URL can be produced again for the browser that
// holds the session cookie.
func (m *Manager) LogoutToken(sessionToken string) string {
	return secret.Alphanumeric(m.logoutKey.Hash(sessionToken))
}

// ValidLogoutToken checks a logout token against a session token in
// constant time.
func (m *Manager) ValidLogoutToken(sessionToken, logoutToken string) bool {
	return subtle.ConstantTimeCompare([]byte(m.LogoutToken(sessionToken)), []byte(logoutToken)) == 1
}

// RevokeToken deactivates the session of a token; found is false when no
// session has that token.
func (m *Manager) RevokeToken(ctx context.Context, token string) (found bool, err error) {
	if token == "" || len(token) > 512 {
		return false, nil
	}
	for _, h := range m.hasher.Candidates(token) {
		ok, err := m.store.RevokeSessionByTokenHash(ctx, h)
		if ok && err == nil {
			m.revoked(ctx, uuid.Nil, map[string]any{"reason": "logout"})
		}
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// Revoke deactivates one session of an identity.
func (m *Manager) Revoke(ctx context.Context, s *Session) error {
	return m.RevokeByID(ctx, s.IdentityID, s.ID)
}

// RevokeByID deactivates one session of an identity by id.
func (m *Manager) RevokeByID(ctx context.Context, identityID, sessionID uuid.UUID) error {
	if err := m.store.RevokeSession(ctx, identityID, sessionID); err != nil {
		return err
	}
	m.revoked(ctx, identityID, map[string]any{"session_id": sessionID.String()})
	return nil
}

// RevokeOthers deactivates every other session of the identity.
func (m *Manager) RevokeOthers(ctx context.Context, identityID, keep uuid.UUID) (int, error) {
	n, err := m.store.RevokeSessionsExcept(ctx, identityID, keep)
	if err == nil && n > 0 {
		m.revoked(ctx, identityID, map[string]any{"reason": "others", "count": n})
	}
	return n, err
}

// DeleteAll removes every session of the identity (admin).
func (m *Manager) DeleteAll(ctx context.Context, identityID uuid.UUID) (int, error) {
	n, err := m.store.DeleteSessionsOfIdentity(ctx, identityID)
	if err == nil && n > 0 {
		m.revoked(ctx, identityID, map[string]any{"reason": "admin", "count": n})
	}
	return n, err
}

// RequiredAAL resolves a required_aal setting for an identity:
// highest_available means whatever the identity's credentials allow (at
// least aal1).
func RequiredAAL(setting string, i *identity.Identity) string {
	if setting == identity.AAL1 || i == nil {
		return identity.AAL1
	}
	if i.AvailableAAL == identity.AAL2 {
		return identity.AAL2
	}
	return identity.AAL1
}

// AALSatisfied reports whether the session meets the required level.
func AALSatisfied(s *Session, required string) bool {
	return aalRank(s.AAL) >= aalRank(required)
}

func aalRank(aal string) int {
	switch aal {
	case identity.AAL1:
		return 1
	case identity.AAL2:
		return 2
	case "aal3":
		return 3
	}
	return 0
}

// ErrAAL2Required is the 403 for a session below the required level.
func (m *Manager) ErrAAL2Required(returnTo string) *httpx.Error {
	to := strings.TrimSuffix(m.cfg.PublicURL, "/") + "/self-service/login/browser?aal=aal2"
	if returnTo != "" {
		to += "&return_to=" + queryEscape(returnTo)
	}
	return httpx.Forbidden("An active session was found but it does not fulfill the Authenticator Assurance Level, implying that the session must (e.g.) authenticate the second factor.").
		WithID("session_aal2_required").
		WithMessage("Session does not fulfill the requested Authenticator Assurance Level").
		WithDetail("redirect_browser_to", to).
		WithExtra("redirect_browser_to", to)
}
