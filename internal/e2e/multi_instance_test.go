package e2e_test

// Several stateless Hoplite instances over one database: sessions issued by
// one are honoured by the other, and revocation through one takes effect on
// the other — immediately with the default (no session cache), and within
// session.cache.max_age when the cache is on.

import (
	"context"
	"net/http"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// whoamiStatus asks an instance about a token.
func whoamiStatus(t *testing.T, s *testutil.Server, token string) int {
	t.Helper()
	r := do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "X-Session-Token", token)
	return r.Status
}

func TestInstancesShareSessionsAndRevocationIsImmediate(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook})
		c := testutil.StartServer(t, testutil.Options{DSN: dsn})

		reg := ssRegister(t, a, "shared@example.com", ssPassword)
		token := reg.GetSessionToken()
		if got := whoamiStatus(t, c, token); got != http.StatusOK {
			t.Fatalf("a session issued by instance A must work on instance B, got %d", got)
		}
		// Revoke through A; B must refuse the token at once.
		if _, err := a.Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(context.Background()).
			SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if got := whoamiStatus(t, c, token); got != http.StatusUnauthorized {
			t.Fatalf("instance B must refuse a session revoked on A immediately (no cache by default), got %d", got)
		}
	})
}

func TestSessionCacheBoundsStaleness(t *testing.T) {
	dsn := testutil.NewSQLiteDSN(t)
	const maxAge = 1500 * time.Millisecond
	cacheCfg := "session:\n  cache:\n    max_age: 1500ms\n"
	a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook})
	c := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cacheCfg})

	token := ssRegister(t, a, "cached@example.com", ssPassword).GetSessionToken()
	if got := whoamiStatus(t, c, token); got != http.StatusOK {
		t.Fatalf("warming B's cache: got %d", got)
	}
	revokedAt := time.Now()
	if _, err := a.Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(context.Background()).
		SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
		t.Fatalf("logout: %v", err)
	}
	// Within the bound B may still answer from its cache; after it, never.
	deadline := revokedAt.Add(maxAge + 500*time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := whoamiStatus(t, c, token); got != http.StatusUnauthorized {
		t.Fatalf("a revoked session passed on B after session.cache.max_age: %d", got)
	}
	// Revocation through B itself is immediate even with the cache.
	token2 := ssLogin(t, c, "cached@example.com", ssPassword).GetSessionToken()
	if got := whoamiStatus(t, c, token2); got != http.StatusOK {
		t.Fatalf("login on B: whoami %d", got)
	}
	if _, err := c.Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(context.Background()).
		SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token2}).Execute(); err != nil {
		t.Fatalf("logout on B: %v", err)
	}
	if got := whoamiStatus(t, c, token2); got != http.StatusUnauthorized {
		t.Fatalf("a session revoked on the caching instance itself must stop at once, got %d", got)
	}
}
