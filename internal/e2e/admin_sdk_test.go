package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func traits(email string) map[string]interface{} {
	return map[string]interface{}{"email": email}
}

// storedPasswordHash reads the password hash stored for an identity straight
// from the store.
func storedPasswordHash(t *testing.T, s *testutil.Server, id string) string {
	t.Helper()
	i := getStored(t, s, id)
	c, ok := i.Credentials[identity.CredentialsPassword]
	if !ok {
		t.Fatalf("identity %s has no password credentials", id)
	}
	var cfg identity.PasswordConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		t.Fatalf("password config %s: %v", c.Config, err)
	}
	return cfg.HashedPassword
}

func getStored(t *testing.T, s *testutil.Server, id string) *identity.Identity {
	t.Helper()
	ids, err := uuid.Parse(id)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	i, err := s.App.Store.GetIdentity(context.Background(), ids, true)
	if err != nil {
		t.Fatalf("loading %s from the store: %v", id, err)
	}
	return i
}

func TestAdminIdentitiesSDK(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		api := s.Admin.V0alpha2Api

		t.Run("create with plain password", func(t *testing.T) {
			body := kratos.NewAdminCreateIdentityBody("", traits("Plain.User@Example.ORG"))
			body.Credentials = &kratos.AdminIdentityImportCredentials{Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
				Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{Password: kratos.PtrString("an imported passw0rd")},
			}}
			got, res, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
			if err != nil {
				t.Fatalf("create: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("status %d, want 201", res.StatusCode)
			}
			if !uuidRE.MatchString(got.Id) {
				t.Errorf("id %q is not a UUID v4", got.Id)
			}
			if got.SchemaId != "default" {
				t.Errorf("schema_id %q", got.SchemaId)
			}
			if want := s.PublicURL + "schemas/ZGVmYXVsdA"; got.SchemaUrl != want {
				t.Errorf("schema_url %q, want %q", got.SchemaUrl, want)
			}
			if got.State == nil || *got.State != kratos.IDENTITYSTATE_ACTIVE {
				t.Errorf("state %v, want active", got.State)
			}
			// As in Kratos, a new identity records when it got its state.
			if got.StateChangedAt == nil || got.CreatedAt == nil || !got.StateChangedAt.Equal(*got.CreatedAt) {
				t.Errorf("state_changed_at %v, want created_at %v", got.StateChangedAt, got.CreatedAt)
			}
			// Traits are kept as sent; addresses are derived and lower-cased.
			if tr, _ := got.Traits.(map[string]interface{}); tr["email"] != "Plain.User@Example.ORG" {
				t.Errorf("traits %v", got.Traits)
			}
			if len(got.VerifiableAddresses) != 1 {
				t.Fatalf("verifiable addresses %+v", got.VerifiableAddresses)
			}
			va := got.VerifiableAddresses[0]
			if va.Value != "plain.user@example.org" || va.Via != "email" || va.Verified || va.Status != "pending" || va.VerifiedAt != nil || !uuidRE.MatchString(va.Id) {
				t.Errorf("verifiable address %+v", va)
			}
			if len(got.RecoveryAddresses) != 1 || got.RecoveryAddresses[0].Value != "plain.user@example.org" || got.RecoveryAddresses[0].Via != "email" {
				t.Errorf("recovery addresses %+v", got.RecoveryAddresses)
			}
			if got.CreatedAt == nil || got.UpdatedAt == nil || time.Since(*got.CreatedAt) > time.Minute {
				t.Errorf("created_at %v updated_at %v", got.CreatedAt, got.UpdatedAt)
			}
			// The create answer shows credentials metadata, never the hash.
			if got.Credentials == nil {
				t.Fatal("no credentials in the create answer")
			}
			pw, ok := (*got.Credentials)["password"]
			if !ok || !slices.Equal(pw.Identifiers, []string{"plain.user@example.org"}) || pw.Config != nil {
				t.Errorf("password credentials %+v", pw)
			}
			// The password was hashed with the configured hasher.
			stored := storedPasswordHash(t, s, got.Id)
			if !strings.HasPrefix(stored, "$2a$04$") && !strings.HasPrefix(stored, "$2b$04$") {
				t.Errorf("stored hash %q is not a cost-4 bcrypt hash", stored)
			}
			if err := hash.Compare(ctx, []byte("an imported passw0rd"), []byte(stored)); err != nil {
				t.Errorf("stored hash does not verify the imported password: %v", err)
			}
		})

		t.Run("create with hashed_password", func(t *testing.T) {
			vectors := []struct{ name, password, encoded string }{
				{"bcrypt", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
				{"argon2id", "hunter2", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$dyFFU11W76aQyJZQ4xkeVUkbv8avN8EtW5J682moB+k"},
				{"argon2i", "hunter2", "$argon2i$v=19$m=64,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$WgG/iu2KR/w1fkzeLSZI3vPX1Ziy5jbDS/jAHiSnAnM"},
				{"pbkdf2", "tr0ub4dor&3", "$pbkdf2-sha256$i=1000,l=32$cGVwcGVyIGFuZCBzYWx0IQ$HEpzEcguDAexEuDfvIdsTcUb9zmgKDT3LNtVjGZ8z58"},
				{"scrypt", "s3cr3t", "$scrypt$ln=1024,r=8,p=1$cGVwcGVyIGFuZCBzYWx0IQ==$Pt8revjkKLfp1A2HhJyHTTOVl+NQggx+zZE0RT2ImYY="},
			}
			for _, v := range vectors {
				body := kratos.NewAdminCreateIdentityBody("default", traits("hashed-"+v.name+"@example.org"))
				body.Credentials = &kratos.AdminIdentityImportCredentials{Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
					Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{HashedPassword: kratos.PtrString(v.encoded)},
				}}
				got, res, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
				if err != nil {
					t.Fatalf("%s: %v (%d) %s", v.name, err, sdkStatus(res), sdkErrorBody(err))
				}
				stored := storedPasswordHash(t, s, got.Id)
				if stored != v.encoded {
					t.Errorf("%s: stored %q, want the imported hash verbatim", v.name, stored)
				}
				if err := hash.Compare(ctx, []byte(v.password), []byte(stored)); err != nil {
					t.Errorf("%s: imported hash does not verify its password: %v", v.name, err)
				}
			}

			// Unknown formats and ambiguous imports are refused.
			for name, cfg := range map[string]map[string]any{
				"unknown format": {"hashed_password": "$md5$abcdef"},
				"plain text":     {"hashed_password": "not a hash"},
				"both":           {"hashed_password": vectors[0].encoded, "password": "something"},
			} {
				r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
					"traits":      map[string]any{"email": "bad-hash@example.org"},
					"credentials": map[string]any{"password": map[string]any{"config": cfg}},
				})
				e := requireEnvelope(t, r, http.StatusBadRequest)
				if name != "both" && !strings.Contains(e.Reason, "does not match any known hash format") {
					t.Errorf("%s: reason %q", name, e.Reason)
				}
			}
			// Nothing was stored for the refused imports.
			r := do(t, http.MethodGet, adminURL(s, "identities"), nil)
			if strings.Contains(string(r.Body), "bad-hash@example.org") {
				t.Error("a refused import was stored")
			}
		})

		var oidcID string
		t.Run("create with oidc providers", func(t *testing.T) {
			body := kratos.NewAdminCreateIdentityBody("", traits("social@example.org"))
			body.Credentials = &kratos.AdminIdentityImportCredentials{
				Oidc: &kratos.AdminCreateIdentityImportCredentialsOidc{Config: &kratos.AdminCreateIdentityImportCredentialsOidcConfig{
					Providers: []kratos.AdminCreateIdentityImportCredentialsOidcProvider{
						{Provider: "github", Subject: "12345"},
						{Provider: "google", Subject: "abc-def"},
					},
				}},
				Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
					Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{HashedPassword: kratos.PtrString("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")},
				},
			}
			got, res, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
			if err != nil {
				t.Fatalf("create: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			oidcID = got.Id
			oidc := (*got.Credentials)["oidc"]
			if !slices.Equal(oidc.Identifiers, []string{"github:12345", "google:abc-def"}) || oidc.Config != nil {
				t.Errorf("oidc credentials in the create answer: %+v", oidc)
			}
		})

		t.Run("get with and without include_credential", func(t *testing.T) {
			if oidcID == "" {
				t.Fatal("the oidc identity was not created")
			}
			got, _, err := api.AdminGetIdentity(ctx, oidcID).Execute()
			if err != nil {
				t.Fatalf("get: %v %s", err, sdkErrorBody(err))
			}
			if got.Id != oidcID || got.Credentials == nil {
				t.Fatalf("got %+v", got)
			}
			for typ, c := range *got.Credentials {
				if c.Config != nil {
					t.Errorf("%s credentials carry a config without include_credential: %v", typ, c.Config)
				}
				if c.Type == nil || string(*c.Type) != typ || c.CreatedAt == nil || c.Version == nil {
					t.Errorf("%s credentials metadata incomplete: %+v", typ, c)
				}
			}
			if _, ok := (*got.Credentials)["password"]; !ok {
				t.Error("password credentials metadata missing")
			}

			got, _, err = api.AdminGetIdentity(ctx, oidcID).IncludeCredential([]string{"oidc"}).Execute()
			if err != nil {
				t.Fatalf("get with oidc: %v %s", err, sdkErrorBody(err))
			}
			oidc := (*got.Credentials)["oidc"]
			providers, _ := oidc.Config["providers"].([]interface{})
			if len(providers) != 2 {
				t.Fatalf("oidc config %v", oidc.Config)
			}
			first, _ := providers[0].(map[string]interface{})
			if first["provider"] != "github" || first["subject"] != "12345" {
				t.Errorf("first provider %v", first)
			}
			if (*got.Credentials)["password"].Config != nil {
				t.Error("include_credential=oidc revealed the password config")
			}

			_, res, err := api.AdminGetIdentity(ctx, oidcID).IncludeCredential([]string{"password"}).Execute()
			if err == nil || sdkStatus(res) != http.StatusBadRequest {
				t.Errorf("include_credential=password: status %d, err %v; want 400", sdkStatus(res), err)
			}
		})

		t.Run("update keeps credentials", func(t *testing.T) {
			if oidcID == "" {
				t.Fatal("the oidc identity was not created")
			}
			before := storedPasswordHash(t, s, oidcID)
			_, _, err := api.AdminUpdateIdentity(ctx, oidcID).AdminUpdateIdentityBody(kratos.AdminUpdateIdentityBody{
				Traits: traits("Social.Renamed@example.org"),
			}).Execute()
			if err != nil {
				t.Fatalf("update: %v %s", err, sdkErrorBody(err))
			}
			if after := storedPasswordHash(t, s, oidcID); after != before {
				t.Errorf("password hash changed by a traits update: %q → %q", before, after)
			}
			got, _, err := api.AdminGetIdentity(ctx, oidcID).IncludeCredential([]string{"oidc"}).Execute()
			if err != nil {
				t.Fatal(err)
			}
			creds := *got.Credentials
			if !slices.Equal(creds["oidc"].Identifiers, []string{"github:12345", "google:abc-def"}) || creds["oidc"].Config["providers"] == nil {
				t.Errorf("oidc credentials after update: %+v", creds["oidc"])
			}
			if !slices.Equal(creds["password"].Identifiers, []string{"social.renamed@example.org"}) {
				t.Errorf("password identifiers after update: %v", creds["password"].Identifiers)
			}
		})

		t.Run("list with pagination", func(t *testing.T) {
			all, res, err := api.AdminListIdentities(ctx).Execute()
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(all) < 3 {
				t.Fatalf("only %d identities listed", len(all))
			}
			if res.Header.Get("X-Total-Count") != strconv.Itoa(len(all)) {
				t.Errorf("X-Total-Count %q for %d identities", res.Header.Get("X-Total-Count"), len(all))
			}
			// Ordered by id, descending.
			for k := 1; k < len(all); k++ {
				if all[k-1].Id < all[k].Id {
					t.Errorf("list not ordered by id descending: %s before %s", all[k-1].Id, all[k].Id)
				}
			}
			var paged []string
			for page := int64(1); page <= int64(len(all)); page++ {
				list, _, err := api.AdminListIdentities(ctx).Page(page).PerPage(2).Execute()
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				if len(list) == 0 {
					break
				}
				if len(list) > 2 {
					t.Fatalf("page %d has %d entries with per_page=2", page, len(list))
				}
				for _, i := range list {
					paged = append(paged, i.Id)
					// A page carries each identity's own addresses, as
					// a single get shows them.
					one, _, err := api.AdminGetIdentity(ctx, i.Id).Execute()
					if err != nil {
						t.Fatalf("get %s: %v", i.Id, err)
					}
					if fmt.Sprint(addressValues(i)) != fmt.Sprint(addressValues(*one)) {
						t.Errorf("page %d: identity %s lists addresses %v, get shows %v", page, i.Id, addressValues(i), addressValues(*one))
					}
				}
			}
			var want []string
			for _, i := range all {
				want = append(want, i.Id)
			}
			if !slices.Equal(paged, want) {
				t.Errorf("paging by 2 gave %v, want %v", paged, want)
			}
			// Page 0 is the first page.
			p0, _, err := api.AdminListIdentities(ctx).Page(0).PerPage(2).Execute()
			if err != nil || len(p0) != 2 || p0[0].Id != want[0] {
				t.Errorf("page 0: %v %v", p0, err)
			}
		})

		t.Run("update replaces traits and tracks state", func(t *testing.T) {
			created, _, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", map[string]interface{}{
				"email": "before@example.org", "name": map[string]interface{}{"first": "Ada", "last": "Lovelace"},
			})).Execute()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			time.Sleep(5 * time.Millisecond)

			// Full replace: the name is gone, the address follows the traits.
			upd, res, err := api.AdminUpdateIdentity(ctx, created.Id).AdminUpdateIdentityBody(kratos.AdminUpdateIdentityBody{
				Traits: traits("After@Example.org"), State: kratos.IDENTITYSTATE_INACTIVE,
			}).Execute()
			if err != nil {
				t.Fatalf("update: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if tr, _ := upd.Traits.(map[string]interface{}); len(tr) != 1 || tr["email"] != "After@Example.org" {
				t.Errorf("traits after update %v, want only the new email", upd.Traits)
			}
			if len(upd.VerifiableAddresses) != 1 || upd.VerifiableAddresses[0].Value != "after@example.org" {
				t.Errorf("verifiable addresses %+v", upd.VerifiableAddresses)
			}
			if *upd.State != kratos.IDENTITYSTATE_INACTIVE || upd.StateChangedAt == nil || !upd.StateChangedAt.After(*created.StateChangedAt) {
				t.Fatalf("state %v changed_at %v (created with %v)", *upd.State, upd.StateChangedAt, created.StateChangedAt)
			}
			if !upd.UpdatedAt.After(*created.UpdatedAt) {
				t.Errorf("updated_at %v not after %v", upd.UpdatedAt, created.UpdatedAt)
			}
			changedAt := *upd.StateChangedAt

			// Empty schema_id and state keep the old values.
			upd2, _, err := api.AdminUpdateIdentity(ctx, created.Id).AdminUpdateIdentityBody(kratos.AdminUpdateIdentityBody{
				Traits: traits("after@example.org"),
			}).Execute()
			if err != nil {
				t.Fatalf("second update: %v %s", err, sdkErrorBody(err))
			}
			if upd2.SchemaId != "default" || *upd2.State != kratos.IDENTITYSTATE_INACTIVE {
				t.Errorf("schema %q state %v after an update without them", upd2.SchemaId, *upd2.State)
			}
			if upd2.StateChangedAt == nil || !upd2.StateChangedAt.Equal(changedAt) {
				t.Errorf("state_changed_at moved without a state change: %v → %v", changedAt, upd2.StateChangedAt)
			}

			// What GET returns matches the update.
			got, _, err := api.AdminGetIdentity(ctx, created.Id).Execute()
			if err != nil {
				t.Fatal(err)
			}
			if *got.State != kratos.IDENTITYSTATE_INACTIVE || !got.StateChangedAt.Equal(changedAt) {
				t.Errorf("stored state %v changed_at %v", *got.State, got.StateChangedAt)
			}

			// Unknown identity: 404.
			_, res, err = api.AdminUpdateIdentity(ctx, "6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d11").AdminUpdateIdentityBody(kratos.AdminUpdateIdentityBody{
				Traits: traits("nobody@example.org"),
			}).Execute()
			if err == nil || sdkStatus(res) != http.StatusNotFound {
				t.Errorf("update of an unknown identity: %d %v", sdkStatus(res), err)
			}
		})

		t.Run("delete", func(t *testing.T) {
			created, _, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", traits("doomed@example.org"))).Execute()
			if err != nil {
				t.Fatal(err)
			}
			res, err := api.AdminDeleteIdentity(ctx, created.Id).Execute()
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("delete: %d %v", sdkStatus(res), err)
			}
			_, res, err = api.AdminGetIdentity(ctx, created.Id).Execute()
			if err == nil || sdkStatus(res) != http.StatusNotFound {
				t.Errorf("get after delete: %d %v", sdkStatus(res), err)
			}
			res, err = api.AdminDeleteIdentity(ctx, created.Id).Execute()
			if err == nil || sdkStatus(res) != http.StatusNotFound {
				t.Errorf("second delete: %d %v", sdkStatus(res), err)
			}
			// The address is free again.
			if _, _, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", traits("doomed@example.org"))).Execute(); err != nil {
				t.Errorf("re-creating the deleted identity's address: %v %s", err, sdkErrorBody(err))
			}
		})

		t.Run("schemas", func(t *testing.T) {
			for name, c := range map[string]*kratos.APIClient{"public": s.Public, "admin": s.Admin} {
				list, _, err := c.V0alpha2Api.ListIdentitySchemas(ctx).Execute()
				if err != nil {
					t.Fatalf("%s list: %v", name, err)
				}
				if len(list) != 1 || list[0].Id == nil || *list[0].Id != "default" || list[0].Schema["properties"] == nil {
					t.Errorf("%s list %+v", name, list)
				}
			}
			for _, id := range []string{"default", "ZGVmYXVsdA"} {
				doc, _, err := s.Public.V0alpha2Api.GetJsonSchema(ctx, id).Execute()
				if err != nil {
					t.Fatalf("get %s: %v", id, err)
				}
				if doc["title"] != "Person" || doc["properties"] == nil {
					t.Errorf("schema %s: %v", id, doc)
				}
			}
			_, res, err := s.Public.V0alpha2Api.GetJsonSchema(ctx, "nope").Execute()
			if err == nil || sdkStatus(res) != http.StatusNotFound {
				t.Errorf("unknown schema: %d %v", sdkStatus(res), err)
			}
			// Schema pages count from zero: page 1 is the second page.
			for page, want := range map[int64]int{0: 1, 1: 0} {
				list, res, err := s.Public.V0alpha2Api.ListIdentitySchemas(ctx).Page(page).PerPage(1).Execute()
				if err != nil || len(list) != want || res.Header.Get("X-Total-Count") != "1" {
					t.Errorf("schemas page %d: %d entries (want %d), total %q, %v", page, len(list), want, res.Header.Get("X-Total-Count"), err)
				}
			}
			r := do(t, http.MethodGet, s.PublicURL+"schemas?page=1&per_page=1", nil)
			if strings.TrimSpace(string(r.Body)) != "[]" || !strings.Contains(r.Header.Get("Link"), "page=0") {
				t.Errorf("schemas beyond the end: %s Link %q", r.Body, r.Header.Get("Link"))
			}
			for _, q := range []string{"page=00", "page=%2B0", "page=", "per_page=1"} {
				r := do(t, http.MethodGet, s.PublicURL+"schemas?"+q, nil)
				if !strings.Contains(string(r.Body), `"id":"default"`) {
					t.Errorf("schemas?%s is not the first page: %s", q, r)
				}
			}
		})

		t.Run("health and version", func(t *testing.T) {
			for name, c := range map[string]*kratos.APIClient{"public": s.Public, "admin": s.Admin} {
				alive, _, err := c.MetadataApi.IsAlive(ctx).Execute()
				if err != nil || alive.Status != "ok" {
					t.Errorf("%s alive: %+v %v", name, alive, err)
				}
				ready, _, err := c.MetadataApi.IsReady(ctx).Execute()
				if err != nil || ready.Status != "ok" {
					t.Errorf("%s ready: %+v %v", name, ready, err)
				}
			}
			v, _, err := s.Admin.MetadataApi.GetVersion(ctx).Execute()
			if err != nil || v.Version == "" {
				t.Errorf("version: %+v %v", v, err)
			}
			if v != nil && v.Version != app.Version {
				t.Errorf("version %q, want %q", v.Version, app.Version)
			}
			// /version is admin-only.
			_, res, err := s.Public.MetadataApi.GetVersion(ctx).Execute()
			if err == nil || sdkStatus(res) != http.StatusNotFound {
				t.Errorf("public version: %d %v, want 404", sdkStatus(res), err)
			}
		})

		t.Run("metadata over raw HTTP", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits":          map[string]any{"email": "meta@example.org"},
				"metadata_public": map[string]any{"plan": "gold", "n": 3},
				"metadata_admin":  map[string]any{"crm_id": "x-42"},
			})
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			created := decode[identityJSON](t, r)
			if string(created.MetadataPublic) != `{"n":3,"plan":"gold"}` && string(created.MetadataPublic) != `{"plan":"gold","n":3}` {
				t.Errorf("metadata_public %s", created.MetadataPublic)
			}
			got := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+created.ID), nil))
			var pub, adm map[string]any
			_ = json.Unmarshal(got.MetadataPublic, &pub)
			_ = json.Unmarshal(got.MetadataAdmin, &adm)
			if pub["plan"] != "gold" || adm["crm_id"] != "x-42" {
				t.Errorf("stored metadata public %s admin %s", got.MetadataPublic, got.MetadataAdmin)
			}
			// Update replaces metadata when given and keeps it when absent.
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+created.ID), map[string]any{
				"traits": map[string]any{"email": "meta@example.org"}, "metadata_public": map[string]any{"plan": "silver"},
			})
			if r.Status != http.StatusOK {
				t.Fatalf("update: %s", r)
			}
			upd := decode[identityJSON](t, r)
			_ = json.Unmarshal(upd.MetadataPublic, &pub)
			_ = json.Unmarshal(upd.MetadataAdmin, &adm)
			if pub["plan"] != "silver" || adm["crm_id"] != "x-42" {
				t.Errorf("after update: public %s admin %s", upd.MetadataPublic, upd.MetadataAdmin)
			}
			// null clears it (the v0.9 SDK never sends metadata, so absent
			// must keep it: updates through the SDK do not lose it).
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+created.ID), `{"traits":{"email":"meta@example.org"},"metadata_admin":null}`)
			if r.Status != http.StatusOK {
				t.Fatalf("update: %s", r)
			}
			cleared := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+created.ID), nil))
			if cleared.MetadataAdmin != nil || !strings.Contains(string(cleared.MetadataPublic), "silver") {
				t.Errorf("after clearing metadata_admin: public %s admin %s", cleared.MetadataPublic, cleared.MetadataAdmin)
			}
			if _, _, err := api.AdminUpdateIdentity(ctx, created.ID).AdminUpdateIdentityBody(kratos.AdminUpdateIdentityBody{Traits: traits("meta@example.org")}).Execute(); err != nil {
				t.Fatal(err)
			}
			if kept := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+created.ID), nil)); !strings.Contains(string(kept.MetadataPublic), "silver") {
				t.Errorf("an SDK update lost metadata_public: %s", kept.MetadataPublic)
			}
			// Metadata must be objects.
			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits": map[string]any{"email": "meta2@example.org"}, "metadata_public": "a string",
			})
			requireEnvelope(t, r, http.StatusBadRequest)
		})

		t.Run("verifiable addresses supplied by the admin", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits": map[string]any{"email": "Verified@Example.org"},
				"verifiable_addresses": []map[string]any{
					{"value": "verified@example.org", "via": "email", "verified": true, "status": "completed"},
					{"value": "elsewhere@example.org", "via": "email", "verified": true, "status": "completed"},
				},
				"recovery_addresses": []map[string]any{{"value": "stranger@example.org", "via": "email"}},
			})
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			got := decode[identityJSON](t, r)
			if len(got.VerifiableAddresses) != 1 {
				t.Fatalf("verifiable addresses %v", got.VerifiableAddresses)
			}
			va := got.VerifiableAddresses[0]
			if string(va["value"]) != `"verified@example.org"` || string(va["verified"]) != "true" || string(va["status"]) != `"completed"` || va["verified_at"] == nil {
				t.Errorf("matching address lost its verification: %v", va)
			}
			if len(got.RecoveryAddresses) != 1 || string(got.RecoveryAddresses[0]["value"]) != `"verified@example.org"` {
				t.Errorf("recovery addresses %v", got.RecoveryAddresses)
			}

			// What the create answered is what was stored (timestamps at
			// storage precision included), and a traits update with the same
			// address keeps its verification.
			stored := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+got.ID), nil))
			if len(stored.VerifiableAddresses) != 1 || string(stored.VerifiableAddresses[0]["verified_at"]) != string(va["verified_at"]) ||
				string(stored.VerifiableAddresses[0]["id"]) != string(va["id"]) || !stored.CreatedAt.Equal(got.CreatedAt) {
				t.Errorf("stored %v / %v, created %v / %v", stored.VerifiableAddresses, stored.CreatedAt, got.VerifiableAddresses, got.CreatedAt)
			}
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+got.ID), map[string]any{"traits": map[string]any{"email": "VERIFIED@example.org"}})
			if r.Status != http.StatusOK {
				t.Fatalf("update: %s", r)
			}
			upd := decode[identityJSON](t, r)
			if len(upd.VerifiableAddresses) != 1 || string(upd.VerifiableAddresses[0]["id"]) != string(va["id"]) || string(upd.VerifiableAddresses[0]["verified"]) != "true" {
				t.Errorf("verification lost by an update: %v", upd.VerifiableAddresses)
			}

			// A supplied verified_at is kept, at storage precision.
			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits":               map[string]any{"email": "dated@example.org"},
				"verifiable_addresses": []map[string]any{{"value": "dated@example.org", "via": "email", "verified": true, "status": "completed", "verified_at": "2023-01-02T03:04:05.123456789+02:00"}},
			})
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			dated := decode[identityJSON](t, r)
			reread := decode[identityJSON](t, do(t, http.MethodGet, adminURL(s, "identities/"+dated.ID), nil))
			for _, i := range []identityJSON{dated, reread} {
				if len(i.VerifiableAddresses) != 1 || string(i.VerifiableAddresses[0]["verified_at"]) != `"2023-01-02T01:04:05.123456Z"` {
					t.Errorf("verified_at %v", i.VerifiableAddresses)
				}
			}

			// The same through the SDK, whose address model always sends an id.
			body := kratos.NewAdminCreateIdentityBody("", traits("sdk-verified@example.org"))
			body.VerifiableAddresses = []kratos.VerifiableIdentityAddress{{Value: "sdk-verified@example.org", Via: "email", Verified: true, Status: "completed"}}
			body.RecoveryAddresses = []kratos.RecoveryAddress{{Value: "sdk-verified@example.org", Via: "email"}}
			created, res, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
			if err != nil {
				t.Fatalf("SDK import of a verified address: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if len(created.VerifiableAddresses) != 1 || !created.VerifiableAddresses[0].Verified || created.VerifiableAddresses[0].Status != "completed" {
				t.Errorf("SDK import: %+v", created.VerifiableAddresses)
			}

			// A non-matching address only: derived as pending.
			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
				"traits":               map[string]any{"email": "fresh@example.org"},
				"verifiable_addresses": []map[string]any{{"value": "other@example.org", "via": "email", "verified": true, "status": "completed"}},
			})
			if r.Status != http.StatusCreated {
				t.Fatalf("create: %s", r)
			}
			got = decode[identityJSON](t, r)
			if len(got.VerifiableAddresses) != 1 || string(got.VerifiableAddresses[0]["value"]) != `"fresh@example.org"` ||
				string(got.VerifiableAddresses[0]["verified"]) != "false" || string(got.VerifiableAddresses[0]["status"]) != `"pending"` {
				t.Errorf("non-matching supplied address: %v", got.VerifiableAddresses)
			}
		})

		t.Run("conflicts and validation", func(t *testing.T) {
			createIdentity(t, s, "dup@example.org")
			r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "DUP@Example.ORG"}})
			requireEnvelope(t, r, http.StatusConflict)
			// Update into someone else's address conflicts too.
			other := createIdentity(t, s, "not-dup@example.org")
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+other.ID), map[string]any{"traits": map[string]any{"email": "Dup@example.org"}})
			requireEnvelope(t, r, http.StatusConflict)

			// SDK sees the same 409.
			_, res, err := api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*kratos.NewAdminCreateIdentityBody("", traits("dup@EXAMPLE.org"))).Execute()
			if err == nil || sdkStatus(res) != http.StatusConflict {
				t.Errorf("SDK duplicate: %d %v", sdkStatus(res), err)
			}

			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": "not-an-email"}})
			e := requireEnvelope(t, r, http.StatusBadRequest)
			if !strings.Contains(e.Reason, "/email") || !strings.Contains(strings.ToLower(e.Reason), "email") {
				t.Errorf("bad email reason %q", e.Reason)
			}
			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"name": map[string]any{"first": "No"}}})
			e = requireEnvelope(t, r, http.StatusBadRequest)
			if !strings.Contains(e.Reason, "email") {
				t.Errorf("missing email reason %q", e.Reason)
			}
			r = doJSON(t, http.MethodPost, adminURL(s, "identities"), `{"traits":{"email":"x@example.org"},"surprise":1}`)
			e = requireEnvelope(t, r, http.StatusBadRequest)
			if !strings.Contains(e.Reason, "surprise") {
				t.Errorf("unknown field reason %q", e.Reason)
			}
			r = doJSON(t, http.MethodPut, adminURL(s, "identities/"+other.ID), `{"traits":{"email":"x@example.org"},"credentials":{}}`)
			requireEnvelope(t, r, http.StatusBadRequest)
		})
	})
}

// addressValues names an identity's verifiable and recovery addresses with
// their ids, in the order the API returns them.
func addressValues(i kratos.Identity) []string {
	var out []string
	for _, a := range i.VerifiableAddresses {
		out = append(out, "verifiable:"+a.Id+":"+a.Value+":"+a.Status)
	}
	for _, a := range i.RecoveryAddresses {
		out = append(out, "recovery:"+a.Id+":"+a.Value)
	}
	return out
}
