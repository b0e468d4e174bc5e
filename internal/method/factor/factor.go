// Package factor holds what the second-factor methods (totp, lookup_secret,
// webauthn) share: the storage they spend one-time secrets through and the
// brute-force counters of their code checks.
package factor

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/throttle"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Store is the storage the second-factor methods need.
type Store interface {
	GetIdentity(ctx context.Context, id uuid.UUID, withCredentials bool) (*identity.Identity, error)
	// SwapCredentialsConfig replaces a config only while it still equals
	// old (store.ErrConflict otherwise), so a one-time secret is spent once.
	SwapCredentialsConfig(ctx context.Context, identityID uuid.UUID, t identity.CredentialsType, old, config json.RawMessage) error
}

// Throttle limits the guessing of codes (throttle.Limiter).
type Throttle interface {
	Check(ctx context.Context, keys ...throttle.Key) (time.Duration, error)
	Failure(ctx context.Context, keys ...throttle.Key) (locked bool, err error)
	Success(ctx context.Context, keys ...throttle.Key) error
}

// Guard is one code check of an identity under a Throttle: it counts
// against the identity's account for the method and the client address, as
// password sign-ins do.
type Guard struct {
	t       Throttle
	account throttle.Key
	keys    []throttle.Key
}

// NewGuard prepares the counters of a code check of method for identityID.
// t may be nil (no limits).
func NewGuard(ctx context.Context, t Throttle, method string, identityID uuid.UUID) *Guard {
	g := &Guard{t: t, account: throttle.Account(method, identityID.String())}
	g.keys = []throttle.Key{g.account}
	if ip := httpx.ClientIPFrom(ctx); ip.IsValid() {
		g.keys = append(g.keys, throttle.IP(ip))
	}
	return g
}

// Allow refuses, before the code is looked at, an account or address that
// must wait: a form error saying how long, with Retry-After.
func (g *Guard) Allow(ctx context.Context) error {
	if g.t == nil {
		return nil
	}
	wait, err := g.t.Check(ctx, g.keys...)
	if err != nil {
		return err
	}
	if wait > 0 {
		return &flow.FormError{Items: []flow.FormErrorItem{{Text: ui.ErrTooManyAttempts(wait)}}, RetryAfter: wait}
	}
	return nil
}

// Record counts a wrong code against every key, or forgets the account's
// count after a right one (not the address's: a client must not reset it
// with its own account).
func (g *Guard) Record(ctx context.Context, ok bool) error {
	if g.t == nil {
		return nil
	}
	if ok {
		return g.t.Success(ctx, g.account)
	}
	_, err := g.t.Failure(ctx, g.keys...)
	return err
}

// Spent reports whether err means the one-time secret was spent by another
// request first (or the credentials vanished meanwhile).
func Spent(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}
