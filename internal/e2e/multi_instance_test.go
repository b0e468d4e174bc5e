package e2e_test

// Several Hoplite instances over one database: sessions issued by one are
// honoured by the others, and every change that alters a whoami answer —
// made through any instance — reaches every instance's session cache within
// the bound (PostgreSQL: notified; SQLite and MySQL: polled).

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

// revocationBound is how soon a change made through one instance shows on
// every other: PostgreSQL notifies at once; SQLite and MySQL poll the
// invalidation log every 200 ms.
func revocationBound(dsn string) time.Duration {
	if strings.HasPrefix(dsn, "postgres") {
		return 100 * time.Millisecond
	}
	return time.Second
}

// waitCachesReady waits until every instance's session cache has caught up
// with the invalidation feed (a PostgreSQL listener connects, a first poll
// runs): until then checks read SQL, which is correct but would not
// exercise the caches.
func waitCachesReady(t *testing.T, servers ...*testutil.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range servers {
		for !s.App.SessionCache.Ready() {
			if time.Now().After(deadline) {
				t.Fatalf("the session cache of %s never caught up with the invalidation feed", s.PublicURL)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// waitWhoami asks every instance about token until all answer want, and
// fails when that takes longer than bound. It returns how long it took.
func waitWhoami(t *testing.T, servers []*testutil.Server, token string, want int, bound time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		all := true
		for _, s := range servers {
			if whoamiStatus(t, s, token) != want {
				all = false
				break
			}
		}
		took := time.Since(start)
		if all {
			return took
		}
		if took > bound {
			t.Fatalf("after %v some instance still does not answer %d (bound %v)", took, want, bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInstancesShareSessionsAndRevocationSpreads(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook})
		c := testutil.StartServer(t, testutil.Options{DSN: dsn})
		waitCachesReady(t, a, c)

		reg := ssRegister(t, a, "shared@example.com", ssPassword)
		token := reg.GetSessionToken()
		// Twice each: the second answer comes from each instance's cache.
		waitWhoami(t, []*testutil.Server{a, c, a, c}, token, http.StatusOK, 0)
		// Revoke through A; B must refuse the token within the bound.
		if _, err := a.Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(context.Background()).
			SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
			t.Fatalf("logout: %v", err)
		}
		if got := whoamiStatus(t, a, token); got != http.StatusUnauthorized {
			t.Fatalf("the instance that revoked must refuse at once, got %d", got)
		}
		took := waitWhoami(t, []*testutil.Server{c}, token, http.StatusUnauthorized, revocationBound(dsn))
		t.Logf("%s: revocation through A refused by B after %v", b.Name, took)
		if st := c.App.SessionCache.Stats(); st.Hits == 0 || st.Invalidations == 0 {
			t.Fatalf("B's cache should have answered and been invalidated: %+v", st)
		}
	})
}

// Each change that alters a whoami answer reaches the other instance's
// cache: an admin update of traits and state, and deleting the identity.
func TestCachedWhoamiFollowsAdminChanges(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook})
		c := testutil.StartServer(t, testutil.Options{DSN: dsn})
		waitCachesReady(t, a, c)
		bound := revocationBound(dsn)
		reg := ssRegister(t, a, "follow@example.com", ssPassword)
		token, id := reg.GetSessionToken(), reg.Identity.Id
		waitWhoami(t, []*testutil.Server{c, c}, token, http.StatusOK, 0)
		for range 2 { // warm B's cache of admin answers
			if got := do(t, http.MethodGet, adminURL(c, "identities/"+id), nil); got.Status != http.StatusOK {
				t.Fatalf("admin get on B: %s", got)
			}
		}

		upd := doJSON(t, http.MethodPut, adminURL(a, "identities/"+id), map[string]any{
			"schema_id": "default", "state": "active",
			"traits": map[string]any{"email": "follow@example.com", "name": map[string]any{"first": "Renamed"}},
		})
		if upd.Status != http.StatusOK {
			t.Fatalf("admin update: %s", upd)
		}
		start := time.Now()
		for {
			r := do(t, http.MethodGet, c.PublicURL+"sessions/whoami", nil, "X-Session-Token", token)
			if r.Status == http.StatusOK && strings.Contains(string(r.Body), "Renamed") {
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("B still answers the old traits after %v: %s", time.Since(start), r)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for {
			r := do(t, http.MethodGet, adminURL(c, "identities/"+id), nil)
			if r.Status == http.StatusOK && strings.Contains(string(r.Body), "Renamed") {
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("B's admin API still answers the old traits after %v: %s", time.Since(start), r)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if st := c.App.SessionCache.Stats(); st.Hits == 0 {
			t.Fatalf("B's session cache never answered: %+v", st)
		}
		if st := c.App.IdentityViews.Stats(); st.Hits == 0 || st.Invalidations == 0 {
			t.Fatalf("B's cache of admin answers never answered or was never invalidated: %+v", st)
		}

		upd = doJSON(t, http.MethodPut, adminURL(a, "identities/"+id), map[string]any{
			"schema_id": "default", "state": "inactive",
			"traits": map[string]any{"email": "follow@example.com"},
		})
		if upd.Status != http.StatusOK {
			t.Fatalf("admin deactivation: %s", upd)
		}
		waitWhoami(t, []*testutil.Server{c}, token, http.StatusUnauthorized, bound)

		// Active again, then deleted.
		upd = doJSON(t, http.MethodPut, adminURL(a, "identities/"+id), map[string]any{
			"schema_id": "default", "state": "active", "traits": map[string]any{"email": "follow@example.com"},
		})
		if upd.Status != http.StatusOK {
			t.Fatalf("admin reactivation: %s", upd)
		}
		waitWhoami(t, []*testutil.Server{c, c}, token, http.StatusOK, bound)
		if del := do(t, http.MethodDelete, adminURL(a, "identities/"+id), nil); del.Status != http.StatusNoContent {
			t.Fatalf("admin delete: %s", del)
		}
		waitWhoami(t, []*testutil.Server{c}, token, http.StatusUnauthorized, bound)
		start = time.Now()
		for do(t, http.MethodGet, adminURL(c, "identities/"+id), nil).Status != http.StatusNotFound {
			if time.Since(start) > bound {
				t.Fatalf("B's admin API still finds a deleted identity after %v", time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// With session.cache.enabled: false every check reads the database.
func TestSessionCacheCanBeTurnedOff(t *testing.T) {
	dsn := testutil.NewSQLiteDSN(t)
	off := "session:\n  cache:\n    enabled: false\n"
	a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: ssSessionHook + off})
	c := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: off})
	if c.App.SessionCache != nil {
		t.Fatal("no cache expected")
	}
	token := ssRegister(t, a, "uncached@example.com", ssPassword).GetSessionToken()
	if got := whoamiStatus(t, c, token); got != http.StatusOK {
		t.Fatalf("whoami on B: %d", got)
	}
	if _, err := a.Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(context.Background()).
		SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if got := whoamiStatus(t, c, token); got != http.StatusUnauthorized {
		t.Fatalf("without a cache B must refuse a revoked session at once, got %d", got)
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
