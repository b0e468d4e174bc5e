package e2e_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestAdminConcurrentWrites races admin writes against each other: the
// same address created many times at once yields exactly one identity and
// conflicts for the rest (never a 500 from a lock or deadlock), distinct
// creates all succeed, and updates racing deletes end in 200 or 404.
func TestAdminConcurrentWrites(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		const n = 12

		race := func(f func(k int) response) []response { return rcRace(n, f) }

		same := race(func(int) response {
			return doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "race@example.org"}})
		})
		created := 0
		for _, r := range same {
			switch r.Status {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				requireEnvelope(t, r, http.StatusConflict)
			default:
				t.Errorf("same address: %s", r)
			}
		}
		if created != 1 {
			t.Errorf("%d identities created for one address", created)
		}

		distinct := race(func(k int) response {
			return doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "racer" + strconv.Itoa(k) + "@example.org"}})
		})
		var ids []string
		for _, r := range distinct {
			if r.Status != http.StatusCreated {
				t.Errorf("distinct create: %s", r)
				continue
			}
			ids = append(ids, decode[identityJSON](t, r).ID)
		}
		if list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities?per_page=100"), nil)); len(list) != n+1 {
			t.Errorf("%d identities listed, want %d", len(list), n+1)
		}

		// Updates and deletes of the same identities at once.
		mixed := race(func(k int) response {
			id := ids[k/2]
			if k%2 == 0 {
				return do(t, http.MethodDelete, adminURL(s, "identities/"+id), nil)
			}
			return doJSON(t, http.MethodPut, adminURL(s, "identities/"+id), map[string]any{"traits": map[string]any{"email": "renamed" + strconv.Itoa(k) + "@example.org"}})
		})
		for k, r := range mixed {
			ok := r.Status == http.StatusNotFound || (k%2 == 0 && r.Status == http.StatusNoContent) || (k%2 == 1 && r.Status == http.StatusOK)
			if !ok {
				t.Errorf("racing update/delete %d: %s", k, r)
			}
		}
		// Every identity touched by a delete is gone, with its addresses.
		for k := 0; k < n; k += 2 {
			if r := do(t, http.MethodGet, adminURL(s, "identities/"+ids[k/2]), nil); r.Status != http.StatusNotFound {
				t.Errorf("identity %s survived its delete: %s", ids[k/2], r)
			}
		}
		r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "renamed1@example.org"}})
		if r.Status != http.StatusCreated {
			t.Errorf("address of a deleted identity not released: %s", r)
		}
	})
}

// TestMemoryDSN serves the admin API from the "memory" DSN, whose pool holds
// a single connection: concurrent requests must queue, never deadlock on a
// query that needs a second connection.
func TestMemoryDSN(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, testutil.Options{DSN: "memory"})
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	for k := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits":      map[string]any{"email": "mem" + strconv.Itoa(k) + "@example.org"},
				"credentials": map[string]any{"oidc": map[string]any{"config": map[string]any{"providers": []map[string]any{{"provider": "p", "subject": strconv.Itoa(k)}}}}},
			})
			if r.Status != http.StatusCreated {
				t.Errorf("create: %s", r)
				return
			}
			id := decode[identityJSON](t, r).ID
			ids[k] = id
			for _, path := range []string{"identities?per_page=3", "identities/" + id + "?include_credential=oidc", "health/ready"} {
				if r := do(t, http.MethodGet, adminURL(s, path), nil); r.Status != http.StatusOK {
					t.Errorf("GET %s: %s", path, r)
				}
			}
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+id), map[string]any{"traits": map[string]any{"email": "mem-upd" + strconv.Itoa(k) + "@example.org"}, "state": "inactive"})
			if r.Status != http.StatusOK {
				t.Errorf("update: %s", r)
			}
		}()
	}
	wg.Wait()
	list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities"), nil))
	if len(list) != n {
		t.Fatalf("%d identities, want %d", len(list), n)
	}
	for _, i := range list {
		if i.State != "inactive" || len(i.VerifiableAddresses) != 1 {
			t.Errorf("identity after update: %+v", i)
		}
	}
	for _, id := range ids {
		if r := do(t, http.MethodDelete, adminURL(s, "identities/"+id), nil); r.Status != http.StatusNoContent {
			t.Errorf("delete: %s", r)
		}
	}
}
