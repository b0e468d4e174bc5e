// Package factor holds what the second-factor methods (totp, lookup_secret,
// webauthn) share: the storage they spend one-time secrets through, the
// guessing throttle hook, and the loading of the identity a second-factor
// step is for.
package factor

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
)

// Store is the storage the second-factor methods need.
type Store interface {
	GetIdentity(ctx context.Context, id uuid.UUID, withCredentials bool) (*identity.Identity, error)
	// SwapCredentialsConfig replaces a config only while it still equals
	// old (store.ErrConflict otherwise), so a one-time secret is spent once.
	SwapCredentialsConfig(ctx context.Context, identityID uuid.UUID, t identity.CredentialsType, old, config json.RawMessage) error
}

// Throttle limits the guessing of codes, per identity. The methods call
// Allow before they check a code and Record after; nil means no limit.
//
// It is the hook for a brute-force limiter: none is wired in yet, so
// internal/app passes nil.
type Throttle interface {
	// Allow returns an error (shown as it is) while key may not try again.
	Allow(ctx context.Context, key string) error
	// Record notes the outcome of an attempt.
	Record(ctx context.Context, key string, ok bool)
}

// Allow asks t, if any.
func Allow(ctx context.Context, t Throttle, key string) error {
	if t == nil {
		return nil
	}
	return t.Allow(ctx, key)
}

// Record tells t, if any.
func Record(ctx context.Context, t Throttle, key string, ok bool) {
	if t != nil {
		t.Record(ctx, key, ok)
	}
}

// Spent reports whether err means the one-time secret was spent by another
// request first (or the credentials vanished meanwhile).
func Spent(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound)
}
