package e2e_test

// Several stateless Hoplite instances over one database: sessions issued by
// one are honoured by the other, and revocation through one takes effect on
// the other — immediately with the default (no session cache), and within
// session.cache.max_age when the cache is on.

import (
	"context"
	"net/http"
	"strings"
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

// kratosQuickstartSecrets is the secrets block of Kratos' quickstart: cookie
// and cipher secrets, no secrets.default (the test defaults set one, so it
// is emptied here).
const kratosQuickstartSecrets = `
secrets:
  default: []
  cookie:
    - PLEASE-CHANGE-ME-I-AM-VERY-INSECURE
  cipher:
    - 32-LONG-SECRET-NOT-SECURE-AT-ALL
`

// A Kratos file with only cookie and cipher secrets keeps sessions across a
// restart and across instances, and a secrets.default added later signs new
// sessions while the old ones keep working (rotation).
func TestSessionsSurviveRestartWithCookieAndCipherSecretsOnly(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		first := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook + kratosQuickstartSecrets, NotDev: true})
		reg := ssRegister(t, first, "restart@example.com", ssPassword)
		token := reg.GetSessionToken()
		if got := whoamiStatus(t, first, token); got != http.StatusOK {
			t.Fatalf("whoami on the first server: %d", got)
		}
		first.Stop()

		// The same file, restarted, as two instances.
		again := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: kratosQuickstartSecrets, NotDev: true})
		other := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: kratosQuickstartSecrets, NotDev: true})
		for name, s := range map[string]*testutil.Server{"restarted": again, "second instance": other} {
			r := do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "X-Session-Token", token)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: a session issued before the restart must still work, got %d %s", name, r.Status, r.Body)
			}
			if got := decode[struct {
				Identity struct{ ID string }
			}](t, r).Identity.ID; got != reg.Identity.Id {
				t.Fatalf("%s: whoami answered identity %s, want %s", name, got, reg.Identity.Id)
			}
		}
		again.Stop()
		other.Stop()

		// Rotation: a new secrets.default signs new sessions; the old cookie
		// secret still verifies the sessions it signed.
		rotated := testutil.StartServer(t, testutil.Options{DSN: dsn, NotDev: true,
			Config: strings.Replace(kratosQuickstartSecrets, "default: []", "default:\n    - a-new-default-secret-0123456789", 1)})
		if got := whoamiStatus(t, rotated, token); got != http.StatusOK {
			t.Fatalf("after adding secrets.default, an older session must still verify, got %d", got)
		}
		fresh := ssLogin(t, rotated, "restart@example.com", ssPassword).GetSessionToken()
		rotated.Stop()
		// An instance that does not know the new default secret cannot verify
		// sessions signed with it: the new secret really signs.
		old := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: kratosQuickstartSecrets, NotDev: true})
		if got := whoamiStatus(t, old, fresh); got != http.StatusUnauthorized {
			t.Fatalf("a session signed by the new default secret must not verify without it, got %d", got)
		}
		if got := whoamiStatus(t, old, token); got != http.StatusOK {
			t.Fatalf("the older session must still verify, got %d", got)
		}
	})
}
