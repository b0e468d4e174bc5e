package e2e_test

// Helpers for the social sign-in tests: a Hoplite configured with one
// generic provider, the in-test OpenID provider (internal/testutil/testop),
// and a cookie-jar browser that walks through the provider's sign-in page.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/testutil"
	"github.com/hoplite-id/hoplite/internal/testutil/testop"
)

const (
	oidcProvider     = "testop"
	oidcClientID     = "hoplite-rp"
	oidcClientSecret = "hoplite-rp-secret"
	oidcCipherKey    = "0123456789abcdef0123456789abcdef"
)

// oidcMapper maps the provider's claims to the default schema's traits;
// an account without an email address yields traits that fail the schema.
const oidcMapper = `local claims = std.extVar('claims');
{
  identity: {
    traits: {
      [if 'email' in claims then 'email' else null]: claims.email,
      name: { first: if 'given_name' in claims then claims.given_name else '' },
    },
  },
}`

// Accounts at the in-test provider.
var (
	oidcAlice = testop.User{ID: "alice-sub", Username: "alice", Password: "alice-pw", Email: "alice@example.org", EmailVerified: true, GivenName: "Alice", FamilyName: "A"}
	oidcBob   = testop.User{ID: "bob-sub", Username: "bob", Password: "bob-pw", Email: "bob@example.org", EmailVerified: true, GivenName: "Bob", FamilyName: "B"}
	// oidcNoMail has no email address: the mapped traits miss one.
	oidcNoMail    = testop.User{ID: "nomail-sub", Username: "nomail", Password: "nomail-pw", GivenName: "Nomail"}
	oidcBobNoMail = testop.User{ID: "bob-nomail-sub", Username: "bob-nomail", Password: "bob-nomail-pw", GivenName: "Bob"}
)

type oidcEnv struct {
	s  *testutil.Server
	op *testop.OP
}

// oidcStart runs the provider and a Hoplite that signs in with it.
func oidcStart(t *testing.T, b testutil.Backend, extra string) *oidcEnv {
	t.Helper()
	op := testop.New(t, oidcAlice, oidcBob, oidcNoMail, oidcBobNoMail)
	s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, oidcProviderConfig(op.Issuer), extra)})
	op.Start(oidcClientID, oidcClientSecret, s.PublicURL+"self-service/methods/oidc/callback/"+oidcProvider)
	return &oidcEnv{s: s, op: op}
}

// oidcProviderConfig configures the in-test provider at issuer.
func oidcProviderConfig(issuer string) string {
	return fmt.Sprintf(`
ciphers:
  algorithm: xchacha20-poly1305
secrets:
  cipher:
    - %s
selfservice:
  flows:
    registration:
      after:
        oidc:
          hooks:
            - hook: session
  methods:
    oidc:
      enabled: true
      config:
        providers:
          - id: %s
            provider: generic
            label: Test OP
            client_id: %s
            client_secret: %s
            issuer_url: %s
            scope: [email, profile]
            mapper_url: base64://%s
`, oidcCipherKey, oidcProvider, oidcClientID, oidcClientSecret, issuer, base64.StdEncoding.EncodeToString([]byte(oidcMapper)))
}

// opHost tells whether u is at the provider.
func (e *oidcEnv) atOP(u *url.URL) bool {
	op, _ := url.Parse(e.op.Issuer)
	return u.Host == op.Host
}

var opAuthRequestID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// toCallback follows r (Hoplite's redirect to the provider) through the
// provider's sign-in page as user (or refusing, with deny) and returns the
// callback URL the provider sends the browser back to.
func (e *oidcEnv) toCallback(t testing.TB, b *ssBrowser, r response, user testop.User, deny bool) *url.URL {
	t.Helper()
	base, _ := url.Parse(e.op.Issuer)
	for hops := 0; hops < 10; hops++ {
		if r.Status != http.StatusFound && r.Status != http.StatusSeeOther && r.Status != http.StatusTemporaryRedirect {
			t.Fatalf("expected a redirect on the way through the provider: %s", r)
		}
		// The provider answers with relative redirects.
		loc := base.ResolveReference(ssLocation(t, r))
		if !e.atOP(loc) {
			if !strings.HasPrefix(loc.Path, "/self-service/methods/oidc/callback/") {
				t.Fatalf("the provider sent the browser to %s, not to the callback", loc)
			}
			return loc
		}
		if loc.Path == testop.LoginPath {
			if deny {
				r = b.get(e.op.DenyURL(loc.String()))
				continue
			}
			page := b.get(loc.String())
			m := opAuthRequestID.FindSubmatch(page.Body)
			if page.Status != http.StatusOK || m == nil {
				t.Fatalf("the provider's sign-in page: %s", page)
			}
			r = b.postForm(e.op.Issuer+testop.LoginPath, url.Values{"id": {string(m[1])}, "username": {user.Username}, "password": {user.Password}})
			continue
		}
		r = b.get(loc.String())
	}
	t.Fatal("too many redirects at the provider")
	return nil
}

// atProvider is toCallback followed by Hoplite's answer to the callback.
func (e *oidcEnv) atProvider(t testing.TB, b *ssBrowser, r response, user testop.User, deny bool) response {
	t.Helper()
	return b.get(e.toCallback(t, b, r, user, deny).String())
}

// submitProvider clicks the provider's button on flow f (a login or
// registration form) and checks the 303 to the provider.
func (e *oidcEnv) submitProvider(t testing.TB, b *ssBrowser, f ssFlow, extra url.Values) response {
	t.Helper()
	v := url.Values{"csrf_token": {f.csrf(t)}, "provider": {oidcProvider}}
	for k, vs := range extra {
		v[k] = vs
	}
	r := b.postForm(f.UI.Action, v)
	if r.Status != http.StatusSeeOther || !e.atOP(ssLocation(t, r)) {
		t.Fatalf("submitting the provider: want 303 to the provider, got %s", r)
	}
	if c := ssSetCookie(r, "ory_kratos_continuity"); c == nil || !c.HttpOnly || c.Value == "" {
		t.Fatalf("submitting the provider: no HttpOnly continuity cookie: %v", r.Header["Set-Cookie"])
	}
	return r
}

// signIn runs a whole login flow through the provider as user and returns
// Hoplite's final answer.
func (e *oidcEnv) signIn(t testing.TB, b *ssBrowser, user testop.User) response {
	t.Helper()
	f := b.initFlow("login", "")
	return e.atProvider(t, b, e.submitProvider(t, b, f, nil), user, false)
}

// whoami returns the browser's session (status 200) or fails.
func oidcWhoami(t testing.TB, b *ssBrowser) map[string]any {
	t.Helper()
	r := b.get(ssFlowURL(b.s, "/sessions/whoami"), "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("whoami: %s", r)
	}
	return decode[map[string]any](t, r)
}

func oidcIdentityOf(t testing.TB, sess map[string]any) (id string, traits map[string]any) {
	t.Helper()
	i, _ := sess["identity"].(map[string]any)
	id, _ = i["id"].(string)
	traits, _ = i["traits"].(map[string]any)
	if id == "" {
		t.Fatalf("session without identity: %v", sess)
	}
	return id, traits
}

// oidcNode finds the node named name with value value.
func oidcNode(f ssFlow, name, value string) *ssNode {
	for k := range f.UI.Nodes {
		n := &f.UI.Nodes[k]
		if v, _ := n.value(); n.name() == name && v == value {
			return n
		}
	}
	return nil
}

func uuidOf(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
