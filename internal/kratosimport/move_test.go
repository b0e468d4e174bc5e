package kratosimport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/cli"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/kratosimport"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

const (
	defaultSecret = "test-secret-test-secret-test-secret" // testutil's secrets.default
	cookieSecret  = "kratos-cookie-secret-0123456789ab"
	cookieName    = "ory_kratos_session"
)

// hopliteConfig writes the configuration the command reads: the target
// database, the test server's schema and secrets, and Kratos' cookie secret.
func hopliteConfig(t testing.TB, dsn string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hoplite.yml")
	doc := fmt.Sprintf(`dsn: %q
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: hoplite://default
hashers:
  algorithm: bcrypt
  bcrypt:
    cost: 4
secrets:
  default:
    - %s
  cookie:
    - %s
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  methods:
    password:
      config:
        haveibeenpwned_enabled: false
log:
  level: error
`, dsn, defaultSecret, cookieSecret)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs hoplite with args in-process and returns its output.
func runCLI(t testing.TB, args ...string) (string, error) {
	t.Helper()
	root := cli.NewRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(""))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func migrateTarget(t testing.TB, dsn string) {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func fileDigest(t testing.TB, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// fixture is the set of Kratos users every dialect's test moves.
type fixture struct {
	users      []*kratosUser
	bad        []*kratosUser // expected to be reported and skipped
	lookupCode string
	totpURL    string
	webauthn   string
	oidc       string
	message    uuid.UUID
}

func buildFixture(t testing.TB, k *kratosDB) *fixture {
	f := &fixture{}
	now := time.Now().UTC().Truncate(time.Second)
	verifiedAt := now.Add(-30 * time.Hour)
	changed := now.Add(-20 * time.Hour)
	mk := func(email, password, hash string) *kratosUser {
		u := &kratosUser{Email: email, Password: password}
		if hash != "" {
			u.Credentials = append(u.Credentials, passwordCredential(email, hash))
		}
		u.Sessions = []kratosSession{{Active: true}}
		return u
	}
	bc := mk("bcrypt@example.org", "bcrypt-password-1", bcryptHash(t, "bcrypt-password-1"))
	bc.Verified, bc.VerifiedAt = true, &verifiedAt
	bc.Sessions = append(bc.Sessions,
		kratosSession{Active: true, Issued: now.Add(-48 * time.Hour), Expires: now.Add(-24 * time.Hour)}, // expired
		kratosSession{Active: false}) // revoked
	ar := mk("argon2@example.org", "argon2-password-2", argon2Hash("argon2-password-2"))
	ar.StateChangedAt = &changed
	pb := mk("pbkdf2@example.org", "pbkdf2-password-3", pbkdf2Hash(t, "pbkdf2-password-3"))

	// Second factors: a TOTP secret and lookup codes, with an aal2 session.
	mfa := mk("mfa@example.org", "mfa-password-4", bcryptHash(t, "mfa-password-4"))
	f.totpURL = "otpauth://totp/example.org:mfa@example.org?algorithm=SHA1&digits=6&issuer=example.org&period=30&secret=JBSWY3DPEHPK3PXP"
	f.lookupCode = "k2mz9qa7"
	mfa.Credentials = append(mfa.Credentials,
		kratosCredential{Type: "totp", Identifiers: []string{"ID"}, Config: fmt.Sprintf(`{"totp_url":%q}`, f.totpURL)},
		kratosCredential{Type: "lookup_secret", Identifiers: []string{"ID"}, Config: fmt.Sprintf(
			`{"recovery_codes":[{"code":%q,"used_at":null},{"code":"usedcode","used_at":%q}]}`, f.lookupCode, now.Add(-time.Hour).Format(time.RFC3339))},
	)
	mfa.Sessions[0].AAL = "aal2"
	mfa.Sessions[0].Methods = fmt.Sprintf(`[{"method":"password","aal":"aal1","completed_at":%q},{"method":"totp","aal":"aal2","completed_at":%q}]`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(-50*time.Minute).Format(time.RFC3339))

	// A social sign-in with a passwordless security key and no password.
	social := mk("social@example.org", "", "")
	f.oidc = `{"providers":[{"subject":"12345","provider":"github","initial_id_token":"","initial_access_token":"","initial_refresh_token":""}]}`
	f.webauthn = `{"credentials":[{"id":"AQID","public_key":"BAUG","attestation_type":"none","authenticator":{"aaguid":"AAAAAAAAAAAAAAAAAAAAAA==","sign_count":3,"clone_warning":false},"display_name":"key","added_at":"2022-03-01T10:00:00Z","is_passwordless":true}],"user_handle":"AQIDBA=="}`
	social.Credentials = append(social.Credentials,
		kratosCredential{Type: "oidc", Identifiers: []string{"github:12345"}, Config: f.oidc},
		kratosCredential{Type: "webauthn", Identifiers: []string{"social@example.org"}, Config: f.webauthn, Version: 1},
	)
	social.Sessions[0].Methods = `[{"method":"oidc","aal":"aal1","completed_at":"2022-03-01T10:00:00Z"}]`

	// A legacy session from Kratos before v0.7 (no aal on its method).
	legacy := mk("legacy@example.org", "legacy-password-5", bcryptHash(t, "legacy-password-5"))
	legacy.Sessions[0].Methods = `[{"method":"v0.6_legacy_session"}]`

	inactive := mk("inactive@example.org", "inactive-password-6", bcryptHash(t, "inactive-password-6"))
	inactive.State, inactive.StateChangedAt = "inactive", &changed
	inactive.Sessions = nil

	f.users = []*kratosUser{bc, ar, pb, mfa, social, legacy, inactive}
	badTraits := mk("", "x", bcryptHash(t, "bad-traits-password"))
	badTraits.Traits = `{"email":"not-an-email","nickname":"x"}`
	badTraits.Credentials = []kratosCredential{passwordCredential("not-an-email", bcryptHash(t, "bad-traits-password"))}
	badHash := mk("md5@example.org", "md5-password", "")
	badHash.Credentials = []kratosCredential{passwordCredential("md5@example.org", "$1$abcdefgh$0123456789abcdefghijkl")}
	f.bad = []*kratosUser{badTraits, badHash}
	for _, u := range append(append([]*kratosUser{}, f.users...), f.bad...) {
		k.add(u)
	}
	f.message = k.addMessage(1, "bcrypt@example.org")
	k.addMessage(2, "sent@example.org")
	return f
}

func TestMoveFromKratos(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		k := newKratosDB(t, b)
		f := buildFixture(t, k)
		var before [32]byte
		sqlitePath := ""
		if k.dialect == sqlstore.SQLite {
			sqlitePath = strings.TrimPrefix(strings.SplitN(k.dsn, "?", 2)[0], "sqlite://")
			before = fileDigest(t, sqlitePath)
		}

		targetDSN := b.NewDSN(t)
		cfgPath := hopliteConfig(t, targetDSN)

		// A database that migrate sql has not prepared is refused.
		out, err := runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--yes")
		if err == nil || !strings.Contains(err.Error(), "not ready") || !strings.Contains(err.Error(), "migrate sql") {
			t.Fatalf("unmigrated target: err %v, output %s", err, out)
		}
		migrateTarget(t, targetDSN)

		// Without --yes and nobody answering, nothing happens.
		if _, err := runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath); err == nil || !strings.Contains(err.Error(), "aborted") {
			t.Fatalf("unconfirmed move: %v", err)
		}

		// A dry run reports what would move and writes nothing.
		out, err = runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--dry-run", "--courier-messages")
		if err != nil {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		for _, want := range []string{"Dry run", "identities: 9 in Kratos, 7 moved, 0 already in Hoplite, 2 skipped",
			"sessions:   10 in Kratos, 6 moved, 0 already in Hoplite, 4 skipped", "messages:   2 in Kratos, 1 moved",
			"4 problem(s)", "traits fail identity schema", "unknown format"} {
			if !strings.Contains(out, want) {
				t.Errorf("dry run output lacks %q:\n%s", want, out)
			}
		}
		st, err := sqlstore.Open(ctx, targetDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int
		if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM identities").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the dry run wrote %d identities (%v)", n, err)
		}

		out, err = runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--yes", "--courier-messages")
		if err != nil {
			t.Fatalf("move: %v\n%s", err, out)
		}
		for _, want := range []string{"identities: 9 in Kratos, 7 moved, 0 already in Hoplite, 2 skipped",
			"sessions:   10 in Kratos, 6 moved, 0 already in Hoplite, 4 skipped", "messages:   2 in Kratos, 1 moved",
			"identity " + f.bad[0].ID.String() + ": traits fail identity schema",
			"identity " + f.bad[1].ID.String() + ": the password hash is in an unknown format",
			"session " + f.bad[1].Sessions[0].ID.String() + ": its identity " + f.bad[1].ID.String() + " was not moved"} {
			if !strings.Contains(out, want) {
				t.Errorf("move output lacks %q:\n%s", want, out)
			}
		}

		// A second run finds everything in place.
		out, err = runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--yes", "--courier-messages")
		if err != nil {
			t.Fatalf("second move: %v\n%s", err, out)
		}
		for _, want := range []string{"identities: 9 in Kratos, 0 moved, 7 already in Hoplite, 2 skipped",
			"sessions:   10 in Kratos, 0 moved, 6 already in Hoplite, 4 skipped", "messages:   2 in Kratos, 0 moved, 1 already in Hoplite"} {
			if !strings.Contains(out, want) {
				t.Errorf("second run output lacks %q:\n%s", want, out)
			}
		}
		if sqlitePath != "" && fileDigest(t, sqlitePath) != before {
			t.Error("the Kratos database file changed")
		}

		s := testutil.StartServer(t, testutil.Options{DSN: targetDSN, Config: "secrets:\n  cookie:\n    - " + cookieSecret + "\n"})
		checkMoved(t, s, f)
	})
}

// checkMoved checks through the SDK that users sign in with their
// passwords, that their sessions answer with tokens and Kratos cookies, and
// that the admin API shows what Kratos had.
func checkMoved(t *testing.T, s *testutil.Server, f *fixture) {
	ctx := context.Background()
	for _, u := range f.users {
		got, res, err := s.Admin.V0alpha2Api.AdminGetIdentity(ctx, u.ID.String()).Execute()
		if err != nil {
			t.Fatalf("admin get %s: %v (%d)", u.Email, err, res.StatusCode)
		}
		traits, _ := json.Marshal(got.Traits)
		if string(traits) != u.Traits {
			t.Errorf("%s: traits %s, want %s", u.Email, traits, u.Traits)
		}
		if string(*got.State) != u.State || !got.CreatedAt.Equal(u.Created) || got.SchemaId != "default" {
			t.Errorf("%s: state %v created %v schema %s; want %s %v", u.Email, *got.State, got.CreatedAt, got.SchemaId, u.State, u.Created)
		}
		if (u.StateChangedAt == nil) != (got.StateChangedAt == nil) || (u.StateChangedAt != nil && !got.StateChangedAt.Equal(*u.StateChangedAt)) {
			t.Errorf("%s: state_changed_at %v, want %v", u.Email, got.StateChangedAt, u.StateChangedAt)
		}
		if len(got.VerifiableAddresses) != 1 || len(got.RecoveryAddresses) != 1 {
			t.Fatalf("%s: addresses %+v %+v", u.Email, got.VerifiableAddresses, got.RecoveryAddresses)
		}
		va := got.VerifiableAddresses[0]
		wantStatus := "sent"
		if u.Verified {
			wantStatus = "completed"
		}
		if va.GetId() != u.VerifiableID.String() || va.Value != u.Email || va.Verified != u.Verified || va.Status != wantStatus {
			t.Errorf("%s: verifiable address %+v", u.Email, va)
		}
		if u.Verified && (va.VerifiedAt == nil || !va.VerifiedAt.Equal(*u.VerifiedAt)) {
			t.Errorf("%s: verified_at %v, want %v", u.Email, va.VerifiedAt, u.VerifiedAt)
		}
		if got.RecoveryAddresses[0].Id != u.RecoveryID.String() {
			t.Errorf("%s: recovery address id %s", u.Email, got.RecoveryAddresses[0].Id)
		}

		// (A password alone does not complete a login that needs a second
		// factor.)
		if u.Password != "" && u.State == "active" && u != f.users[3] {
			fl, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			body := kratos.SubmitSelfServiceLoginFlowWithPasswordMethodBodyAsSubmitSelfServiceLoginFlowBody(
				kratos.NewSubmitSelfServiceLoginFlowWithPasswordMethodBody(u.Email, "password", u.Password, ""))
			login, res, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(fl.Id).SubmitSelfServiceLoginFlowBody(body).Execute()
			if err != nil {
				t.Fatalf("%s: login: %v (%d)", u.Email, err, res.StatusCode)
			}
			if login.Session.Identity.Id != u.ID.String() {
				t.Errorf("%s: signed in as %s", u.Email, login.Session.Identity.Id)
			}
		}

		for k, ks := range u.Sessions {
			usable := ks.Active && ks.Expires.After(time.Now())
			sess, res, err := s.Public.V0alpha2Api.ToSession(ctx).XSessionToken(ks.Token).Execute()
			if !usable {
				if err == nil || res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: session %d (revoked or expired) answered %v", u.Email, k, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: whoami with the Kratos token: %v (%d)", u.Email, err, res.StatusCode)
			}
			if sess.Id != ks.ID.String() || sess.Identity.Id != u.ID.String() || string(*sess.AuthenticatorAssuranceLevel) != ks.AAL ||
				!sess.IssuedAt.Equal(ks.Issued) || !sess.ExpiresAt.Equal(ks.Expires) || !sess.AuthenticatedAt.Equal(ks.Issued) {
				t.Errorf("%s: session %+v, want %+v", u.Email, sess, ks)
			}
			var methods []map[string]any
			if err := json.Unmarshal([]byte(ks.Methods), &methods); err != nil {
				t.Fatal(err)
			}
			if len(sess.AuthenticationMethods) != len(methods) || sess.AuthenticationMethods[0].GetMethod() != methods[0]["method"] {
				t.Errorf("%s: methods %+v, want %s", u.Email, sess.AuthenticationMethods, ks.Methods)
			}

			// The browser's Kratos cookie signs it in too.
			cookie := kratosCookie(t, cookieName, ks.Token, cookieSecret)
			for _, path := range []string{"sessions/whoami", "self-service/settings/browser"} {
				req, _ := http.NewRequest(http.MethodGet, s.PublicURL+path, nil)
				req.Header.Set("Accept", "application/json")
				req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), u.ID.String()) {
					t.Errorf("%s: %s with the Kratos cookie: %d %s", u.Email, path, resp.StatusCode, raw)
				}
				if path != "sessions/whoami" {
					continue
				}
				// whoami swaps the Kratos cookie for Hoplite's own, which
				// carries the same session.
				var replaced *http.Cookie
				for _, c := range resp.Cookies() {
					if c.Name == cookieName {
						replaced = c
					}
				}
				if replaced == nil || replaced.Value != ks.Token {
					t.Fatalf("%s: whoami did not replace the Kratos cookie: %v", u.Email, resp.Header["Set-Cookie"])
				}
				again, res, err := s.Public.V0alpha2Api.ToSession(ctx).Cookie(cookieName + "=" + replaced.Value).Execute()
				if err != nil || again.Id != ks.ID.String() {
					t.Errorf("%s: whoami with the replacement cookie: %v (%v)", u.Email, err, res)
				}
			}
		}
	}
	// A cookie signed with another secret is no session.
	req, _ := http.NewRequest(http.MethodGet, s.PublicURL+"sessions/whoami", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: kratosCookie(t, cookieName, f.users[0].Sessions[0].Token, "another-secret-another-secret-xx")})
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged cookie: %v %v", resp.StatusCode, err)
	}

	// Second factors and social links moved as Hoplite stores them.
	mfa, err := s.App.Store.GetIdentity(ctx, f.users[3].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(mfa.Credentials[identity.CredentialsTOTP].Config); !strings.Contains(got, f.totpURL) {
		t.Errorf("totp config %s", got)
	}
	lookup := string(mfa.Credentials[identity.CredentialsLookupSecret].Config)
	var lc kratosimport.LookupConfig
	if err := json.Unmarshal([]byte(lookup), &lc); err != nil || len(lc.RecoveryCodes) != 2 {
		t.Fatalf("lookup config %s (%v)", lookup, err)
	}
	if strings.Contains(lookup, f.lookupCode) || strings.Contains(lookup, "usedcode") {
		t.Errorf("lookup codes stored in the clear: %s", lookup)
	}
	hasher := kratosimport.LookupCodeHasher([]string{defaultSecret})
	if lc.RecoveryCodes[0].CodeHash != hasher.Hash(f.lookupCode) || lc.RecoveryCodes[0].UsedAt != nil || lc.RecoveryCodes[1].UsedAt == nil {
		t.Errorf("lookup config %s", lookup)
	}
	if mfa.AvailableAAL != identity.AAL2 {
		t.Errorf("mfa identity available aal %s", mfa.AvailableAAL)
	}
	social, err := s.App.Store.GetIdentity(ctx, f.users[4].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	oidc := social.Credentials[identity.CredentialsOIDC]
	if !jsonEqual(oidc.Config, f.oidc) || len(oidc.Identifiers) != 1 || oidc.Identifiers[0] != "github:12345" {
		t.Errorf("oidc credentials %+v", oidc)
	}
	wa := social.Credentials[identity.CredentialsWebAuthn]
	if !jsonEqual(wa.Config, f.webauthn) || wa.Version != 1 {
		t.Errorf("webauthn credentials %s v%d", wa.Config, wa.Version)
	}

	// Queued mail moved; sent mail did not.
	var status int
	if err := s.App.Store.DB().QueryRowContext(ctx, rebindTest(s, "SELECT status FROM courier_messages WHERE id = ?"), f.message).Scan(&status); err != nil || status != 1 {
		t.Errorf("queued message: status %d (%v)", status, err)
	}
}

// jsonEqual compares documents by value: PostgreSQL's jsonb, which Kratos
// uses there, does not keep key order.
func jsonEqual(a []byte, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func rebindTest(s *testutil.Server, q string) string {
	if s.App.Store.Dialect() == sqlstore.Postgres {
		return strings.Replace(q, "?", "$1", 1)
	}
	return q
}
