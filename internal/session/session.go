// Package session issues, finds, refreshes and revokes sessions: the proof
// that an identity authenticated, carried as a cookie by browsers and as a
// token by native apps.
package session

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// AuthenticationMethod records one completed authentication step: the
// method that completed it names it, and says which level it proved (the
// session package knows no method). A step without a level proves a first
// factor.
type AuthenticationMethod struct {
	Method      string    `json:"method"`
	AAL         string    `json:"aal"`
	CompletedAt time.Time `json:"completed_at"`
}

// Session is an authenticated session of an identity.
type Session struct {
	ID                    uuid.UUID              `json:"id"`
	Active                bool                   `json:"active"`
	ExpiresAt             time.Time              `json:"expires_at"`
	AuthenticatedAt       time.Time              `json:"authenticated_at"`
	AAL                   string                 `json:"authenticator_assurance_level"`
	AuthenticationMethods []AuthenticationMethod `json:"authentication_methods"`
	IssuedAt              time.Time              `json:"issued_at"`
	Identity              *identity.Identity     `json:"identity"`

	IdentityID uuid.UUID `json:"-"`
	CreatedAt  time.Time `json:"-"`
	UpdatedAt  time.Time `json:"-"`

	// Token is known only when the session is issued (or presented); the
	// store keeps nothing but its keyed hash. Logout tokens are derived from
	// it (Manager.LogoutToken) and never stored.
	Token     string `json:"-"`
	TokenHash string `json:"-"`
	// LastSeenAt is when the session was last used, as recorded for
	// session.idle_timeout; zero when not recorded since it was issued.
	LastSeenAt time.Time `json:"-"`
}

// LastActivity is the latest of the session's issue, authentication and
// recorded use: what session.idle_timeout counts from.
func (s *Session) LastActivity() time.Time {
	t := s.IssuedAt
	if s.AuthenticatedAt.After(t) {
		t = s.AuthenticatedAt
	}
	if s.LastSeenAt.After(t) {
		t = s.LastSeenAt
	}
	return t
}

// IsActive reports whether the session may be used at time now.
func (s *Session) IsActive(now time.Time) bool {
	return s.Active && now.Before(s.ExpiresAt) && s.Identity != nil && s.Identity.IsActive()
}

// ComputeAAL derives the session's level from its methods: a first and a
// second factor make aal2, a first factor alone aal1, nothing aal0.
func (s *Session) ComputeAAL() string {
	first, second := false, false
	for _, m := range s.AuthenticationMethods {
		switch m.AAL {
		case identity.AAL1, "":
			first = true
		case identity.AAL2:
			second = true
		}
	}
	switch {
	case first && second:
		return identity.AAL2
	case first:
		return identity.AAL1
	default:
		return identity.AAL0
	}
}

// ListFilter narrows session lists.
type ListFilter struct {
	// Active, when set, keeps only sessions whose active flag equals it.
	Active *bool
	// Except leaves out one session (the caller's own).
	Except uuid.UUID
}

// Store is the storage sessions need.
type Store interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByTokenHash loads a session with its identity (no credentials).
	SessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	// TouchSession records a use of an active session at time at.
	TouchSession(ctx context.Context, id, identityID uuid.UUID, at time.Time) error
	ListSessions(ctx context.Context, identityID uuid.UUID, f ListFilter, offset, limit int) ([]*Session, error)
	RevokeSession(ctx context.Context, identityID, sessionID uuid.UUID) error
	RevokeSessionsExcept(ctx context.Context, identityID, keep uuid.UUID) (int, error)
	RevokeSessionByTokenHash(ctx context.Context, tokenHash string) (bool, error)
	DeleteSessionsOfIdentity(ctx context.Context, identityID uuid.UUID) (int, error)
}
