package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

const sqlish = `'; DROP TABLE identities; --`

// bodyCase is one malformed or invalid request body.
type bodyCase struct {
	name        string
	contentType string // empty: application/json
	body        string
	status      int
	reason      string // a substring the reason must contain, if set
}

func badBodies() []bodyCase {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	return []bodyCase{
		{name: "malformed JSON", body: `{"traits": {"email": "a@example.org",}}`, status: 400, reason: "not valid JSON"},
		{name: "truncated JSON", body: `{"traits":{"email":"a@example.org"`, status: 400},
		{name: "truncated in a string", body: `{"traits":{"email":"a@exa`, status: 400},
		{name: "JSON array", body: `[{"traits":{"email":"a@example.org"}}]`, status: 400},
		{name: "JSON string", body: `"traits"`, status: 400},
		{name: "JSON number", body: `42`, status: 400},
		{name: "JSON null", body: `null`, status: 400, reason: "traits"},
		{name: "two documents", body: `{"traits":{"email":"a@example.org"}} {}`, status: 400},
		{name: "trailing garbage", body: `{"traits":{"email":"a@example.org"}} xyz`, status: 400},
		{name: "text/plain", contentType: "text/plain", body: `{"traits":{"email":"a@example.org"}}`, status: 400, reason: "text/plain"},
		{name: "form encoded", contentType: "application/x-www-form-urlencoded", body: `traits.email=a@example.org`, status: 400},
		{name: "bogus content type", contentType: "%%%;;", body: `{"traits":{"email":"a@example.org"}}`, status: 400},
		{name: "empty body", body: ``, status: 400, reason: "empty"},
		{name: "whitespace body", body: " \n\t ", status: 400},
		{name: "invalid UTF-8", body: "{\"traits\":{\"email\":\"\xff\xfe@example.org\"}}", status: 400, reason: "UTF-8"},
		{name: "invalid UTF-8 in a key", body: "{\"tr\xc3\x28its\":{}}", status: 400},
		{name: "raw control character", body: "{\"traits\":{\"email\":\"a\x01@example.org\"}}", status: 400},
		{name: "unknown field", body: `{"traits":{"email":"a@example.org"},"nonsense":true}`, status: 400, reason: "nonsense"},
		{name: "unknown nested field", body: `{"traits":{"email":"a@example.org"},"credentials":{"password":{"config":{"salt":"x"}}}}`, status: 400},
		{name: "traits as string", body: `{"traits":"a@example.org"}`, status: 400},
		{name: "traits as array", body: `{"traits":[{"email":"a@example.org"}]}`, status: 400},
		{name: "traits empty object", body: `{"traits":{}}`, status: 400, reason: "email"},
		{name: "traits missing", body: `{"schema_id":"default"}`, status: 400, reason: "traits"},
		{name: "trait of the wrong type", body: `{"traits":{"email":42}}`, status: 400},
		{name: "undeclared trait", body: `{"traits":{"email":"a@example.org","admin":true}}`, status: 400},
		{name: "bad email", body: `{"traits":{"email":"not-an-email"}}`, status: 400, reason: "email"},
		{name: "state as number", body: `{"traits":{"email":"a@example.org"},"state":1}`, status: 400},
		{name: "state as object", body: `{"traits":{"email":"a@example.org"},"state":{}}`, status: 400},
		{name: "invalid state", body: `{"traits":{"email":"a@example.org"},"state":"banned"}`, status: 400, reason: "banned"},
		{name: "schema_id as number", body: `{"traits":{"email":"a@example.org"},"schema_id":7}`, status: 400},
		{name: "unknown schema_id", body: `{"traits":{"email":"a@example.org"},"schema_id":"nope"}`, status: 400, reason: "nope"},
		{name: "SQL-ish schema_id", body: `{"traits":{"email":"a@example.org"},"schema_id":"` + sqlish + `"}`, status: 400},
		{name: "number overflow", body: `{"traits":{"email":"a@example.org"},"state":1e999}`, status: 400},
		{name: "deeply nested", body: `{"traits":{"email":"a@example.org","name":` + deep + `}}`, status: 400},
		{name: "huge body", body: `{"traits":{"email":"a@example.org","name":{"first":"` + strings.Repeat("x", 1<<20) + `"}}}`, status: 413},
		{name: "metadata as array", body: `{"traits":{"email":"a@example.org"},"metadata_public":[1]}`, status: 400},
	}
}

// createOnlyBodies are invalid only for the create body (PUT has no
// credentials or addresses).
func createOnlyBodies() []bodyCase {
	long := strings.Repeat("s", 600)
	return []bodyCase{
		{name: "credentials as string", body: `{"traits":{"email":"a@example.org"},"credentials":"x"}`, status: 400},
		{name: "password as number", body: `{"traits":{"email":"a@example.org"},"credentials":{"password":{"config":{"password":5}}}}`, status: 400},
		{name: "unknown hash format", body: `{"traits":{"email":"a@example.org"},"credentials":{"password":{"config":{"hashed_password":"$1$abc$def"}}}}`, status: 400, reason: "hash format"},
		{name: "over-long hash", body: `{"traits":{"email":"a@example.org"},"credentials":{"password":{"config":{"hashed_password":"$2a$04$` + strings.Repeat("a", 5000) + `"}}}}`, status: 400},
		{name: "password too long for bcrypt", body: `{"traits":{"email":"a@example.org"},"credentials":{"password":{"config":{"password":"` + strings.Repeat("p", 100) + `"}}}}`, status: 400},
		{name: "oidc provider without subject", body: `{"traits":{"email":"a@example.org"},"credentials":{"oidc":{"config":{"providers":[{"provider":"github"}]}}}}`, status: 400},
		{name: "oidc providers as object", body: `{"traits":{"email":"a@example.org"},"credentials":{"oidc":{"config":{"providers":{"provider":"github"}}}}}`, status: 400},
		{name: "over-long oidc subject", body: `{"traits":{"email":"a@example.org"},"credentials":{"oidc":{"config":{"providers":[{"provider":"github","subject":"` + long + `"}]}}}}`, status: 400},
		{name: "NUL in oidc subject", body: `{"traits":{"email":"a@example.org"},"credentials":{"oidc":{"config":{"providers":[{"provider":"github","subject":"a\u0000b"}]}}}}`, status: 400},
		{name: "bad address status", body: `{"traits":{"email":"a@example.org"},"verifiable_addresses":[{"value":"a@example.org","via":"email","status":"hacked"}]}`, status: 400},
		{name: "addresses as object", body: `{"traits":{"email":"a@example.org"},"verifiable_addresses":{"value":"a@example.org"}}`, status: 400},
		{name: "address id as number", body: `{"traits":{"email":"a@example.org"},"recovery_addresses":[{"id":1,"value":"a@example.org","via":"email"}]}`, status: 400},
		{name: "verified_at not a time", body: `{"traits":{"email":"a@example.org"},"verifiable_addresses":[{"value":"a@example.org","via":"email","verified":true,"verified_at":"yesterday"}]}`, status: 400},
		{name: "NUL in email", body: `{"traits":{"email":"nul\u0000@example.org"}}`, status: 400},
	}
}

func TestAdminBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		existing := createIdentity(t, s, "existing@example.org")

		send := func(t *testing.T, method, path string, c bodyCase) {
			t.Helper()
			ct := c.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := do(t, method, adminURL(s, path), c.body, "Content-Type", ct, "Accept", "application/json")
			e := requireEnvelope(t, r, c.status)
			if c.reason != "" && !strings.Contains(e.Reason, c.reason) {
				t.Errorf("reason %q does not mention %q", e.Reason, c.reason)
			}
		}
		t.Run("create", func(t *testing.T) {
			for _, c := range append(badBodies(), createOnlyBodies()...) {
				t.Run(c.name, func(t *testing.T) { send(t, http.MethodPost, "identities", c) })
			}
		})
		t.Run("update", func(t *testing.T) {
			for _, c := range badBodies() {
				t.Run(c.name, func(t *testing.T) { send(t, http.MethodPut, "identities/"+existing.ID, c) })
			}
			// Fields only create accepts are unknown to update.
			send(t, http.MethodPut, "identities/"+existing.ID, bodyCase{body: `{"traits":{"email":"existing@example.org"},"verifiable_addresses":[]}`, status: 400})
		})
		// None of the refused requests changed anything.
		t.Run("nothing stored", func(t *testing.T) {
			r := do(t, http.MethodGet, adminURL(s, "identities"), nil)
			list := decode[[]identityJSON](t, r)
			if len(list) != 1 || list[0].ID != existing.ID || list[0].Traits["email"] != "existing@example.org" || list[0].State != "active" {
				t.Fatalf("identities after bad input: %s", r.Body)
			}
			if len(list[0].VerifiableAddresses) != 1 {
				t.Errorf("addresses changed: %s", r.Body)
			}
		})

		t.Run("SQL-ish values are data", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits":          map[string]any{"email": "bobby@example.org", "name": map[string]any{"first": sqlish, "last": `Robert"); DELETE FROM identities WHERE ("1"="1`}},
				"metadata_public": map[string]any{"q": sqlish},
				"credentials":     map[string]any{"oidc": map[string]any{"config": map[string]any{"providers": []map[string]any{{"provider": "github", "subject": sqlish}}}}},
			})
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			created := decode[identityJSON](t, r)
			got := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+created.ID+"?include_credential=oidc"), nil))
			name, _ := got.Traits["name"].(map[string]any)
			if name["first"] != sqlish || !strings.Contains(name["last"].(string), "DELETE FROM") {
				t.Errorf("traits not stored verbatim: %v", got.Traits)
			}
			if !strings.Contains(string(got.MetadataPublic), "DROP TABLE") {
				t.Errorf("metadata: %s", got.MetadataPublic)
			}
			if ids := got.Credentials["oidc"].Identifiers; len(ids) != 1 || ids[0] != "github:"+sqlish {
				t.Errorf("oidc identifiers %v", ids)
			}
			// Update with SQL-ish traits, too.
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+created.ID), map[string]any{
				"traits": map[string]any{"email": "bobby@example.org", "name": map[string]any{"first": sqlish + sqlish}},
			})
			if r.Status != http.StatusOK {
				t.Fatalf("update: %s", r)
			}
			// The table is still there and holds both identities.
			list := decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities"), nil))
			if len(list) != 2 {
				t.Errorf("%d identities listed, want 2", len(list))
			}
			// An SQL-ish id in the path is just an unknown identity.
			for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
				r := doJSON(t, method, adminURL(s, "identities/"+url.PathEscape(sqlish)), `{"traits":{"email":"x@example.org"}}`)
				requireEnvelope(t, r, http.StatusNotFound)
			}
			r = do(t, http.MethodGet, adminURL(s, "identities/"+created.ID+"?include_credential="+url.QueryEscape(sqlish)), nil)
			requireEnvelope(t, r, http.StatusBadRequest)
			r = do(t, http.MethodGet, adminURL(s, "identities?page="+url.QueryEscape("1; "+sqlish)), nil)
			requireEnvelope(t, r, http.StatusBadRequest)
			if n := len(decode[[]identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities"), nil))); n != 2 {
				t.Errorf("%d identities after SQL-ish requests, want 2", n)
			}
		})

		t.Run("invalid ids in paths", func(t *testing.T) {
			for _, id := range []string{
				"not-a-uuid", "123", "6b7f1a4e2f7b4e4b9a593f1e2f0c9d11", "{6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d11}",
				"urn:uuid:6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d11", "6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d1g",
				existing.ID + "0", " " + existing.ID, strings.Repeat("f", 5000), "%00", "..%2f..%2fetc%2fpasswd", "💥",
			} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
					r := doJSON(t, method, adminURL(s, "identities/"+url.PathEscape(id)), `{"traits":{"email":"x@example.org"}}`)
					if r.Status == http.StatusTemporaryRedirect || r.Status == http.StatusMovedPermanently {
						continue // path cleaning of "..": a redirect, not a handler answer
					}
					e := requireEnvelope(t, r, http.StatusNotFound)
					if e.Reason == "" {
						t.Errorf("%s %q: 404 without a reason", method, id)
					}
					if len(e.Reason) > 200 {
						t.Errorf("%s: reason is %d bytes long", method, len(e.Reason))
					}
				}
			}
			// A well-formed but unknown id (and the nil UUID) is a plain 404.
			for _, id := range []string{"6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d11", "00000000-0000-0000-0000-000000000000"} {
				for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
					requireEnvelope(t, doJSON(t, method, adminURL(s, "identities/"+id), `{"traits":{"email":"x@example.org"}}`), http.StatusNotFound)
				}
			}
			// Upper-case UUIDs name the same identity.
			r := do(t, http.MethodGet, adminURL(s, "identities/"+strings.ToUpper(existing.ID)), nil)
			if r.Status != http.StatusOK || decode[identityJSON](t, r).ID != existing.ID {
				t.Errorf("upper-case id: %s", r)
			}
		})

		t.Run("pagination", func(t *testing.T) {
			for _, q := range []string{"page=-1", "per_page=abc", "page=abc", "per_page=-5", "page=1.5", "per_page=1e3",
				"page=99999999999999999999", "page=2147483647&per_page=1000", "page=%20"} {
				for _, path := range []string{"identities", "schemas"} {
					e := requireEnvelope(t, do(t, http.MethodGet, adminURL(s, path)+"?"+q, nil), http.StatusBadRequest)
					if !strings.Contains(e.Reason, "page") {
						t.Errorf("%s?%s: reason %q", path, q, e.Reason)
					}
				}
			}
			r := do(t, http.MethodGet, adminURL(s, "identities")+"?per_page=5000", nil)
			if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Link"), "per_page=1000") {
				t.Errorf("per_page=5000: %d Link %q", r.Status, r.Header.Get("Link"))
			}
			r = do(t, http.MethodGet, adminURL(s, "identities")+"?page=1000000&per_page=1", nil)
			if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != "[]" {
				t.Errorf("page far beyond the end: %s", r)
			}
		})

		t.Run("unknown routes and methods", func(t *testing.T) {
			for _, c := range []struct {
				method, path string
				status       int
			}{
				{http.MethodGet, "admin/nope", 404},
				{http.MethodGet, "admin", 404},
				{http.MethodGet, "admin/", 404},
				{http.MethodGet, "admin/identities/" + existing.ID + "/nope", 404},
				{http.MethodGet, "admin/identities/" + existing.ID + "/credentials", 404},
				{http.MethodGet, "admin/health", 404},
				{http.MethodPatch, "admin/identities", 405},
				{http.MethodDelete, "admin/identities", 405},
				{http.MethodPut, "admin/identities", 405},
				{http.MethodPost, "admin/identities/" + existing.ID, 405},
				{http.MethodPatch, "admin/identities/" + existing.ID, 405},
				{http.MethodPost, "admin/health/alive", 405},
				{http.MethodDelete, "admin/version", 405},
				{http.MethodPost, "admin/schemas", 405},
				{http.MethodPost, "admin/schemas/default", 405},
			} {
				r := doJSON(t, c.method, s.AdminURL+c.path, `{}`)
				requireEnvelope(t, r, c.status)
				if c.status == 405 && r.Header.Get("Allow") == "" {
					t.Errorf("%s /%s: 405 without Allow", c.method, c.path)
				}
			}
			for _, c := range []struct {
				method, path string
				status       int
			}{
				{http.MethodGet, "schemas/nope", 404},
				{http.MethodGet, "schemas/" + url.PathEscape(sqlish), 404},
				{http.MethodGet, "admin/schemas/nope", 404},
				{http.MethodGet, "nope", 404},
				{http.MethodGet, "version", 404},
				{http.MethodGet, "admin/version", 404},
				{http.MethodPost, "schemas", 405},
				{http.MethodPost, "health/ready", 405},
			} {
				r := doJSON(t, c.method, s.PublicURL+c.path, `{}`)
				requireEnvelope(t, r, c.status)
			}
		})

		t.Run("request id is echoed", func(t *testing.T) {
			r := do(t, http.MethodGet, adminURL(s, "identities/nope"), nil, "X-Request-Id", "req-123")
			if e := requireEnvelope(t, r, http.StatusNotFound); e.Request != "req-123" {
				t.Errorf("request %q", e.Request)
			}
		})

		t.Run("still healthy", func(t *testing.T) {
			if r := do(t, http.MethodGet, adminURL(s, "health/ready"), nil); r.Status != http.StatusOK {
				t.Errorf("ready after bad input: %s", r)
			}
			if strings.Contains(s.Logs.String(), "panic") {
				t.Errorf("the server logged a panic:\n%s", s.Logs.String())
			}
		})
	})
}
