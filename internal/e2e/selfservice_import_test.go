package e2e_test

// Imported password hashes: a user whose hash came from another system
// signs in with the SDK, and the hash is replaced by one of the configured
// hasher on that first successful login.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// ssStoredHash reads an identity's password hash from the store.
func ssStoredHash(t testing.TB, s *testutil.Server, id string) string {
	t.Helper()
	i, err := s.App.Store.GetIdentity(context.Background(), uuid.MustParse(id), true)
	if err != nil {
		t.Fatal(err)
	}
	var cfg identity.PasswordConfig
	if err := json.Unmarshal(i.Credentials[identity.CredentialsPassword].Config, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.HashedPassword
}

func TestSelfServiceLoginRehashesImportedHashes(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		for _, v := range []struct{ name, password, encoded string }{
			{"pbkdf2-sha256", "tr0ub4dor&3", "$pbkdf2-sha256$i=1000,l=32$cGVwcGVyIGFuZCBzYWx0IQ$HEpzEcguDAexEuDfvIdsTcUb9zmgKDT3LNtVjGZ8z58"},
			{"pbkdf2-sha512", "tr0ub4dor&3", "$pbkdf2-sha512$i=1000,l=32$cGVwcGVyIGFuZCBzYWx0IQ$z4bwEh3ampioTxMYzc/5ScPiUc9p3qNwJISpRVgA8/c"},
			{"argon2id", "hunter2", "$argon2id$v=19$m=64,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$dyFFU11W76aQyJZQ4xkeVUkbv8avN8EtW5J682moB+k"},
		} {
			t.Run(v.name, func(t *testing.T) {
				email := "imported-" + v.name + "@example.org"
				body := kratos.NewAdminCreateIdentityBody("default", map[string]any{"email": email})
				body.Credentials = &kratos.AdminIdentityImportCredentials{Password: &kratos.AdminCreateIdentityImportCredentialsPassword{
					Config: &kratos.AdminCreateIdentityImportCredentialsPasswordConfig{HashedPassword: kratos.PtrString(v.encoded)},
				}}
				created, res, err := s.Admin.V0alpha2Api.AdminCreateIdentity(ctx).AdminCreateIdentityBody(*body).Execute()
				if err != nil {
					t.Fatalf("import: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
				}
				if got := ssStoredHash(t, s, created.Id); got != v.encoded {
					t.Fatalf("stored %q before login, want the import", got)
				}

				// A wrong password neither signs in nor touches the hash.
				f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
				if err != nil {
					t.Fatal(err)
				}
				_, res, err = s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
					SubmitSelfServiceLoginFlowBody(ssPasswordLogin(email, v.password+"x")).Execute()
				if sdkStatus(res) != http.StatusBadRequest {
					t.Fatalf("wrong password: status %d (%v)", sdkStatus(res), err)
				}
				if got := ssStoredHash(t, s, created.Id); got != v.encoded {
					t.Fatalf("a failed login changed the hash to %q", got)
				}

				out := ssLogin(t, s, email, v.password)
				if out.Session.Identity.Id != created.Id {
					t.Errorf("signed in as %s", out.Session.Identity.Id)
				}
				rehashed := ssStoredHash(t, s, created.Id)
				if !strings.HasPrefix(rehashed, "$2a$04$") {
					t.Fatalf("stored %q after login, want a cost-4 bcrypt hash", rehashed)
				}
				if err := hash.Compare(ctx, []byte(v.password), []byte(rehashed)); err != nil {
					t.Errorf("the new hash does not verify the password: %v", err)
				}
				// The new hash keeps working, and stays as it is.
				ssLogin(t, s, email, v.password)
				if again := ssStoredHash(t, s, created.Id); again != rehashed {
					t.Errorf("a bcrypt hash of the configured cost was replaced again")
				}
			})
		}
	})
}
