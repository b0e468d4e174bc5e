package e2e_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

var linkRE = regexp.MustCompile(`<([^>]+)>;\s*rel="([a-z]+)"`)

// parseLinks maps the relations of a Link header to their URLs.
func parseLinks(t *testing.T, h string) map[string]*url.URL {
	t.Helper()
	out := map[string]*url.URL{}
	for _, part := range strings.Split(h, ",") {
		m := linkRE.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			t.Fatalf("malformed Link entry %q in %q", part, h)
		}
		u, err := url.Parse(m[1])
		if err != nil {
			t.Fatalf("Link URL %q: %v", m[1], err)
		}
		if _, dup := out[m[2]]; dup {
			t.Fatalf("relation %q twice in %q", m[2], h)
		}
		out[m[2]] = u
	}
	return out
}

func pageOf(t *testing.T, u *url.URL) (page, perPage int) {
	t.Helper()
	page, err1 := strconv.Atoi(u.Query().Get("page"))
	perPage, err2 := strconv.Atoi(u.Query().Get("per_page"))
	if err1 != nil || err2 != nil {
		t.Fatalf("link %s lacks numeric page/per_page", u)
	}
	return page, perPage
}

func TestAdminHTTPCreateLocation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "located@example.org"}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %s", r)
		}
		created := decode[identityJSON](t, r)
		if want := s.AdminURL + "identities/" + created.ID; r.Header.Get("Location") != want {
			t.Errorf("Location %q, want %q", r.Header.Get("Location"), want)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "private, no-cache, no-store, must-revalidate" {
			t.Errorf("Cache-Control %q", cc)
		}
		// The Location answers (through the admin prefix redirect) with the
		// same identity.
		loc := do(t, http.MethodGet, r.Header.Get("Location"), nil)
		if loc.Status != http.StatusTemporaryRedirect || loc.Header.Get("Location") != "/admin/identities/"+created.ID {
			t.Fatalf("GET Location: %d %q", loc.Status, loc.Header.Get("Location"))
		}
		got := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+created.ID), nil))
		if got.ID != created.ID || got.Traits["email"] != "located@example.org" {
			t.Errorf("got %+v", got)
		}
	})
}

func TestAdminHTTPPagination(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		var ids []string
		for k := range 5 {
			ids = append(ids, createIdentity(t, s, "page"+strconv.Itoa(k)+"@example.org").ID)
		}
		slices.Sort(ids)
		slices.Reverse(ids) // the list is ordered by id, descending

		list := func(query string) (response, []identityJSON) {
			r := do(t, http.MethodGet, adminURL(s, "identities")+query, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("list %s: %s", query, r)
			}
			if r.Header.Get("X-Total-Count") != "5" {
				t.Errorf("list %s: X-Total-Count %q, want 5", query, r.Header.Get("X-Total-Count"))
			}
			return r, decode[[]identityJSON](t, r)
		}

		type want struct {
			first, prev, next, last int // 0 = relation absent (first/last always present)
			ids                     []string
			perPage                 int // in the links; 0 means 2
		}
		cases := map[string]want{
			"":                    {first: 1, next: 2, last: 3, ids: ids[0:2]},
			"?per_page=2&page=0":  {first: 1, next: 2, last: 3, ids: ids[0:2]},
			"?per_page=2&page=1":  {first: 1, next: 2, last: 3, ids: ids[0:2]},
			"?per_page=2&page=2":  {first: 1, prev: 1, next: 3, last: 3, ids: ids[2:4]},
			"?per_page=2&page=3":  {first: 1, prev: 2, last: 3, ids: ids[4:5]},
			"?per_page=2&page=9":  {first: 1, prev: 3, last: 3, ids: nil},
			"?per_page=10":        {first: 1, last: 1, ids: ids, perPage: 10},
			"?per_page=5&page=1":  {first: 1, last: 1, ids: ids, perPage: 5},
			"?per_page=4&page=2":  {first: 1, prev: 1, last: 2, ids: ids[4:5], perPage: 4},
			"?per_page=1&page=5":  {first: 1, prev: 4, last: 5, ids: ids[4:5], perPage: 1},
			"?per_page=1&page=3":  {first: 1, prev: 2, next: 4, last: 5, ids: ids[2:3], perPage: 1},
			"?page=1&per_page=0":  {first: 1, next: 2, last: 5, ids: ids[0:1], perPage: 1}, // per_page clamps to 1
			"?per_page=5000&page": {first: 1, last: 1, ids: ids, perPage: 1000},            // clamps to 1000
			"?page=1":             {first: 1, last: 1, ids: ids, perPage: 250},             // the default
		}
		for query, w := range cases {
			if query == "" {
				query = "?per_page=2"
			}
			r, got := list(query)
			var gotIDs []string
			for _, i := range got {
				gotIDs = append(gotIDs, i.ID)
			}
			if !slices.Equal(gotIDs, w.ids) {
				t.Errorf("%s: ids %v, want %v", query, gotIDs, w.ids)
			}
			links := parseLinks(t, r.Header.Get("Link"))
			for rel, page := range map[string]int{"first": w.first, "prev": w.prev, "next": w.next, "last": w.last} {
				u, ok := links[rel]
				if page == 0 {
					if ok {
						t.Errorf("%s: unexpected rel=%s %s", query, rel, u)
					}
					continue
				}
				if !ok {
					t.Errorf("%s: rel=%s missing in %q", query, rel, r.Header.Get("Link"))
					continue
				}
				p, pp := pageOf(t, u)
				if p != page {
					t.Errorf("%s: rel=%s page %d, want %d", query, rel, p, page)
				}
				wantPP := w.perPage
				if wantPP == 0 {
					wantPP = 2
				}
				if pp != wantPP {
					t.Errorf("%s: rel=%s per_page %d, want %d", query, rel, pp, wantPP)
				}
				if want := adminURL(s, "identities"); u.Scheme+"://"+u.Host+u.Path != want {
					t.Errorf("%s: rel=%s points to %s, want %s", query, rel, u, want)
				}
			}
		}

		// Following next from the first page visits every identity once.
		next := adminURL(s, "identities") + "?per_page=2"
		var seen []string
		for hops := 0; next != ""; hops++ {
			if hops > 5 {
				t.Fatalf("following next did not end: seen %v", seen)
			}
			r := do(t, http.MethodGet, next, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("GET %s: %s", next, r)
			}
			for _, i := range decode[[]identityJSON](t, r) {
				if slices.Contains(seen, i.ID) {
					t.Fatalf("identity %s repeated when following next (at %s)", i.ID, next)
				}
				seen = append(seen, i.ID)
			}
			next = ""
			if u, ok := parseLinks(t, r.Header.Get("Link"))["next"]; ok {
				next = u.String()
			}
		}
		if !slices.Equal(seen, ids) {
			t.Errorf("following next visited %v, want %v", seen, ids)
		}
	})
}

func TestAdminHTTPRedirects(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, testutil.Options{})
	created := createIdentity(t, s, "redirect@example.org")

	// Admin port: unprefixed paths are sent under /admin with a relative
	// Location, method and query preserved.
	for _, c := range []struct{ method, path, want string }{
		{http.MethodGet, "identities", "/admin/identities"},
		{http.MethodGet, "identities?page=2&per_page=1", "/admin/identities?page=2&per_page=1"},
		{http.MethodPost, "identities", "/admin/identities"},
		{http.MethodGet, "identities/" + created.ID + "?include_credential=oidc", "/admin/identities/" + created.ID + "?include_credential=oidc"},
		{http.MethodDelete, "identities/" + created.ID, "/admin/identities/" + created.ID},
		{http.MethodGet, "health/alive", "/admin/health/alive"},
		{http.MethodGet, "version", "/admin/version"},
		{http.MethodGet, "schemas/default", "/admin/schemas/default"},
	} {
		r := do(t, c.method, s.AdminURL+c.path, nil)
		if r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") != c.want {
			t.Errorf("admin %s /%s: %d Location %q, want 307 %q", c.method, c.path, r.Status, r.Header.Get("Location"), c.want)
		}
	}

	// Public port: identity routes go to the admin port.
	for _, c := range []struct{ method, path, want string }{
		{http.MethodGet, "identities", "admin/identities"},
		{http.MethodGet, "identities?per_page=3", "admin/identities?per_page=3"},
		{http.MethodPost, "identities", "admin/identities"},
		{http.MethodGet, "admin/identities", "admin/identities"},
		{http.MethodGet, "identities/" + created.ID, "admin/identities/" + created.ID},
		{http.MethodPut, "identities/" + created.ID, "admin/identities/" + created.ID},
		{http.MethodDelete, "admin/identities/" + created.ID, "admin/identities/" + created.ID},
	} {
		r := do(t, c.method, s.PublicURL+c.path, nil)
		if r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") != s.AdminURL+c.want {
			t.Errorf("public %s /%s: %d Location %q, want 307 %q", c.method, c.path, r.Status, r.Header.Get("Location"), s.AdminURL+c.want)
		}
	}

	// An SDK pointed at the public port reaches the admin API through the
	// redirect, POST body included.
	got, res, err := s.Public.V0alpha2Api.AdminCreateIdentity(context.Background()).
		AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", traits("via-public@example.org"))).Execute()
	if err != nil || res.StatusCode != http.StatusCreated || got.Traits.(map[string]interface{})["email"] != "via-public@example.org" {
		t.Errorf("create through the public redirect: %v %v", err, sdkErrorBody(err))
	}
	// Following a redirect from the public port lands on the identity.
	r, err := http.Get(s.PublicURL + "identities/" + created.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.Contains(string(body), created.ID) {
		t.Errorf("followed redirect: %d %s", r.StatusCode, body)
	}
}

// chunked hides a reader's length so the request is sent chunked.
type chunked struct{ io.Reader }

func TestAdminHTTPBodyLimits(t *testing.T) {
	t.Parallel()
	// Traits of a given total size, as valid JSON.
	body := func(size int) []byte {
		prefix := `{"traits":{"email":"big@example.org","name":{"first":"`
		suffix := `"}}}`
		return []byte(prefix + strings.Repeat("a", size-len(prefix)-len(suffix)) + suffix)
	}

	t.Run("default 1 MiB", func(t *testing.T) {
		t.Parallel()
		s := testutil.StartServer(t, testutil.Options{})
		for _, method := range []string{http.MethodPost, http.MethodPut} {
			path := "identities"
			if method == http.MethodPut {
				path = "identities/" + createIdentity(t, s, "put-big@example.org").ID
			}
			r := do(t, method, adminURL(s, path), body(1<<20+1), "Content-Type", "application/json")
			e := requireEnvelope(t, r, http.StatusRequestEntityTooLarge)
			if !strings.Contains(e.Reason, strconv.Itoa(1<<20)) {
				t.Errorf("reason %q does not name the limit", e.Reason)
			}
			r = do(t, method, adminURL(s, path), chunked{bytes.NewReader(body(1<<20 + 1))}, "Content-Type", "application/json")
			requireEnvelope(t, r, http.StatusRequestEntityTooLarge)
		}
		// Just under the limit is fine (the trait is long but valid).
		r := do(t, http.MethodPost, adminURL(s, "identities"), body(1<<20-1), "Content-Type", "application/json")
		if r.Status != http.StatusCreated {
			t.Errorf("body just under 1 MiB: %s", truncateBody(r))
		}
		// The public port has the same limit.
		r = do(t, http.MethodPost, s.PublicURL+"identities", body(1<<20+10), "Content-Type", "application/json")
		requireEnvelope(t, r, http.StatusRequestEntityTooLarge)
	})

	t.Run("configured limit", func(t *testing.T) {
		t.Parallel()
		s := testutil.StartServer(t, testutil.Options{Config: "serve:\n  admin:\n    max_body_bytes: 2048\n"})
		r := do(t, http.MethodPost, adminURL(s, "identities"), body(2049), "Content-Type", "application/json")
		requireEnvelope(t, r, http.StatusRequestEntityTooLarge)
		r = do(t, http.MethodPost, adminURL(s, "identities"), chunked{bytes.NewReader(body(4000))}, "Content-Type", "application/json")
		requireEnvelope(t, r, http.StatusRequestEntityTooLarge)
		r = do(t, http.MethodPost, adminURL(s, "identities"), body(2048), "Content-Type", "application/json")
		if r.Status != http.StatusCreated {
			t.Errorf("body at the limit: %s", r)
		}
	})
}

func truncateBody(r response) string {
	s := r.String()
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func TestAdminHTTPAPIKeys(t *testing.T) {
	t.Parallel()
	const key = "hoplite-test-admin-key-0123456789"
	s := testutil.StartServer(t, testutil.Options{Config: "serve:\n  admin:\n    api_keys:\n      - " + config.HashAPIKey(key) + "\n"})

	for name, headers := range map[string][]string{
		"no header":     nil,
		"wrong key":     {"Authorization", "Bearer not-the-key"},
		"wrong scheme":  {"Authorization", "Basic " + key},
		"empty bearer":  {"Authorization", "Bearer "},
		"hash as key":   {"Authorization", "Bearer " + config.HashAPIKey(key)},
		"key prefix":    {"Authorization", "Bearer " + key[:len(key)-1]},
		"key plus more": {"Authorization", "Bearer " + key + "x"},
	} {
		for _, path := range []string{"admin/identities", "identities", "admin/version"} {
			r := do(t, http.MethodGet, s.AdminURL+path, nil, headers...)
			e := requireEnvelope(t, r, http.StatusUnauthorized)
			if e.Reason == "" {
				t.Errorf("%s %s: 401 without a reason", name, path)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate %q", name, path, r.Header.Get("WWW-Authenticate"))
			}
		}
		r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "sneaky@example.org"}}, headers...)
		requireEnvelope(t, r, http.StatusUnauthorized)
		// Probes answer without a key: orchestrators call them bare.
		for _, path := range []string{"admin/health/alive", "admin/health/ready"} {
			if r := do(t, http.MethodGet, s.AdminURL+path, nil, headers...); r.Status != http.StatusOK {
				t.Errorf("%s %s: %s, want 200 without a key", name, path, r)
			}
		}
		if r := do(t, http.MethodGet, s.AdminURL+"health/ready", nil, headers...); r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") != "/admin/health/ready" {
			t.Errorf("%s unprefixed probe: %d %q, want a 307 to /admin/health/ready", name, r.Status, r.Header.Get("Location"))
		}
	}

	for _, auth := range []string{"Bearer " + key, "bearer " + key} {
		r := do(t, http.MethodGet, adminURL(s, "identities"), nil, "Authorization", auth)
		if r.Status != http.StatusOK {
			t.Errorf("%q: %s", auth, r)
		}
	}
	r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "keyed@example.org"}}, "Authorization", "Bearer "+key)
	if r.Status != http.StatusCreated {
		t.Errorf("create with the key: %s", r)
	}
	// The refused create stored nothing.
	r = do(t, http.MethodGet, adminURL(s, "identities"), nil, "Authorization", "Bearer "+key)
	if strings.Contains(string(r.Body), "sneaky@example.org") || !strings.Contains(string(r.Body), "keyed@example.org") {
		t.Errorf("list: %s", r.Body)
	}

	// The SDK works with the key as a default header and fails without.
	ctx := context.Background()
	if _, res, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute(); err == nil || sdkStatus(res) != http.StatusUnauthorized {
		t.Errorf("SDK without key: %d %v", sdkStatus(res), err)
	}
	sdk := testutil.NewSDK(s.AdminURL)
	sdk.GetConfig().DefaultHeader["Authorization"] = "Bearer " + key
	list, _, err := sdk.V0alpha2Api.AdminListIdentities(ctx).Execute()
	if err != nil || len(list) != 1 {
		t.Errorf("SDK with key: %v %v", list, err)
	}
	created, _, err := sdk.V0alpha2Api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", traits("sdk-keyed@example.org"))).Execute()
	if err != nil {
		t.Fatalf("SDK create with key: %v %s", err, sdkErrorBody(err))
	}
	if _, err := sdk.V0alpha2Api.AdminDeleteIdentity(ctx, created.Id).Execute(); err != nil {
		t.Errorf("SDK delete with key: %v", err)
	}
	// The public port is not protected by admin keys.
	if r := do(t, http.MethodGet, s.PublicURL+"health/ready", nil); r.Status != http.StatusOK {
		t.Errorf("public ready: %s", r)
	}
	if _, _, err := s.Public.V0alpha2Api.ListIdentitySchemas(ctx).Execute(); err != nil {
		t.Errorf("public schemas: %v", err)
	}
}
