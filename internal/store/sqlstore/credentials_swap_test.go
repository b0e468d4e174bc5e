package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestSwapCredentialsConfig: a config is replaced only while it still
// equals the old one, so of many requests spending the same one-time secret
// exactly one succeeds.
func TestSwapCredentialsConfig(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := migrated(t, b.NewDSN(t))
		now := identity.Now()
		i := &identity.Identity{ID: uuid.New(), SchemaID: "default", Traits: json.RawMessage(`{}`), State: identity.StateActive, CreatedAt: now, UpdatedAt: now,
			Credentials: map[identity.CredentialsType]identity.Credentials{
				identity.CredentialsTOTP: {Type: identity.CredentialsTOTP, Identifiers: []string{"x"}, Config: json.RawMessage(`{"last_step":1}`), CreatedAt: now, UpdatedAt: now},
			}}
		if err := st.CreateIdentity(ctx, i); err != nil {
			t.Fatal(err)
		}
		old := json.RawMessage(`{"last_step":1}`)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for k := range 8 {
			wg.Go(func() {
				next, _ := json.Marshal(map[string]int{"last_step": 2 + k})
				err := st.SwapCredentialsConfig(ctx, i.ID, identity.CredentialsTOTP, old, next)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, store.ErrConflict):
					lost++
				default:
					t.Errorf("swap: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != 7 {
			t.Errorf("%d swaps won, %d lost; want 1 and 7", won, lost)
		}
		if err := st.SwapCredentialsConfig(ctx, i.ID, identity.CredentialsLookupSecret, old, old); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("absent credentials: %v", err)
		}
	})
}
