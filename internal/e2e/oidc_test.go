package e2e_test

// Social sign-in end to end against a real OpenID provider on loopback
// (internal/testutil/testop): Hoplite discovers it, sends the browser there
// with state, nonce and PKCE, exchanges the code and validates the RS256 ID
// token. Cookie-jar browsers go through login, registration, the
// missing-traits continuation, linking and unlinking in settings, and the
// error paths, on every database.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
	"github.com/hoplite-id/hoplite/internal/testutil/testop"
)

const oidcReturnURL = "http://127.0.0.1:4455/"

func TestOIDCLoginAndRegistration(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := oidcStart(t, b, "")
		s := env.s

		br := ssNewBrowser(t, s)
		login := br.initFlow("login", "")
		n := oidcNode(login, "provider", oidcProvider)
		if n == nil || n.Group != "oidc" || n.Attributes["type"] != "submit" || n.Meta.Label == nil ||
			n.Meta.Label.ID != 1010002 || n.Meta.Label.Context["provider"] != "Test OP" {
			t.Fatalf("login flow: provider button: %+v", n)
		}
		reg := br.initFlow("registration", "")
		if n := oidcNode(reg, "provider", oidcProvider); n == nil || n.Meta.Label == nil || n.Meta.Label.ID != 1040002 {
			t.Fatalf("registration flow: provider button: %+v", n)
		}

		// An unknown subject signing in on a login flow signs up.
		r := env.atProvider(t, br, env.submitProvider(t, br, login, nil), oidcAlice, false)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != oidcReturnURL {
			t.Fatalf("first sign-in: want 303 to %s, got %s", oidcReturnURL, r)
		}
		if c := ssSetCookie(r, "ory_kratos_continuity"); c == nil || c.MaxAge >= 0 {
			t.Errorf("the continuity cookie should be removed after the callback: %v", r.Header["Set-Cookie"])
		}
		sess := oidcWhoami(t, br)
		aliceID, traits := oidcIdentityOf(t, sess)
		if traits["email"] != oidcAlice.Email || lcFirstName(traits) != "Alice" {
			t.Errorf("mapped traits: %v", traits)
		}
		methods, _ := sess["authentication_methods"].([]any)
		if len(methods) != 1 || methods[0].(map[string]any)["method"] != "oidc" {
			t.Errorf("authentication_methods: %v", methods)
		}

		// The admin API shows the link and, when asked, the decrypted tokens.
		ar := do(t, http.MethodGet, adminURL(s, "identities/"+aliceID+"?include_credential=oidc"), nil)
		var got struct {
			Credentials map[string]struct {
				Identifiers []string `json:"identifiers"`
				Config      struct {
					Providers []map[string]string `json:"providers"`
				} `json:"config"`
			} `json:"credentials"`
		}
		if err := json.Unmarshal(ar.Body, &got); err != nil || ar.Status != http.StatusOK {
			t.Fatalf("admin get: %s", ar)
		}
		oc := got.Credentials["oidc"]
		if !slices.Equal(oc.Identifiers, []string{oidcProvider + ":" + oidcAlice.ID}) || len(oc.Config.Providers) != 1 {
			t.Fatalf("oidc credentials: %s", ar.Body)
		}
		p := oc.Config.Providers[0]
		if p["subject"] != oidcAlice.ID || p["provider"] != oidcProvider || strings.Count(p["initial_id_token"], ".") != 2 || p["initial_access_token"] == "" {
			t.Errorf("decrypted provider tokens: %v", p)
		}
		// At rest the tokens are encrypted (hex of the sealed value).
		stored, err := s.App.Identities.Get(context.Background(), uuidOf(t, aliceID), true)
		if err != nil {
			t.Fatal(err)
		}
		if raw := string(stored.Credentials["oidc"].Config); strings.Contains(raw, p["initial_id_token"]) || strings.Contains(raw, p["initial_access_token"]) {
			t.Errorf("tokens are stored in plain text: %s", raw)
		}
		if plain := do(t, http.MethodGet, adminURL(s, "identities/"+aliceID), nil); strings.Contains(string(plain.Body), "initial_id_token") {
			t.Errorf("tokens shown without include_credential=oidc: %s", plain.Body)
		}

		// A known subject signing up on a registration flow signs in.
		br2 := ssNewBrowser(t, s)
		reg2 := br2.initFlow("registration", "")
		r = env.atProvider(t, br2, env.submitProvider(t, br2, reg2, nil), oidcAlice, false)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != oidcReturnURL {
			t.Fatalf("second sign-in: %s", r)
		}
		if id, _ := oidcIdentityOf(t, oidcWhoami(t, br2)); id != aliceID {
			t.Errorf("the second sign-in made identity %s, want %s", id, aliceID)
		}
		// And on a login flow too.
		br3 := ssNewBrowser(t, s)
		if r := env.signIn(t, br3, oidcAlice); r.Status != http.StatusSeeOther {
			t.Fatalf("third sign-in: %s", r)
		}
		if id, _ := oidcIdentityOf(t, oidcWhoami(t, br3)); id != aliceID {
			t.Errorf("the third sign-in made identity %s, want %s", id, aliceID)
		}
		// Re-authentication: refresh=true asks the provider to sign in again
		// (prompt=login) and refreshes the same session.
		before := oidcWhoami(t, br3)
		rf := br3.initFlow("login", "refresh=true")
		if oidcNode(rf, "provider", oidcProvider) == nil {
			t.Fatalf("refresh flow without the provider: %v", rf.nodeNames())
		}
		r = env.submitProvider(t, br3, rf, nil)
		if ssLocation(t, r).Query().Get("prompt") != "login" {
			t.Errorf("refresh: the authorization request does not ask for prompt=login: %s", ssLocation(t, r))
		}
		if r = env.atProvider(t, br3, r, oidcAlice, false); r.Status != http.StatusSeeOther {
			t.Fatalf("refresh: %s", r)
		}
		after := oidcWhoami(t, br3)
		if after["id"] != before["id"] {
			t.Errorf("refresh made a new session %v, want %v", after["id"], before["id"])
		}
		if m, _ := after["authentication_methods"].([]any); len(m) != 2 {
			t.Errorf("refresh: authentication_methods %v", m)
		}

		list := do(t, http.MethodGet, adminURL(s, "identities"), nil)
		if n := len(decode[[]map[string]any](t, list)); n != 1 {
			t.Errorf("%d identities, want 1", n)
		}
	})
}

func TestOIDCMissingTraits(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := oidcStart(t, b, "")
		s := env.s
		br := ssNewBrowser(t, s)
		r := env.signIn(t, br, oidcNoMail)
		// The login became a registration that asks for the missing email.
		if r.Status != http.StatusFound {
			t.Fatalf("want 302 to the registration UI, got %s", r)
		}
		loc := ssLocation(t, r)
		if !strings.Contains(loc.String(), "registration") || loc.Query().Get("flow") == "" {
			t.Fatalf("want the registration UI, got %s", loc)
		}
		f := br.fetch("registration", loc.Query().Get("flow"))
		cont := oidcNode(f, "provider", oidcProvider)
		if cont == nil || cont.Group != "oidc" || cont.Meta.Label == nil || cont.Meta.Label.ID != 1040003 {
			t.Fatalf("continue button: %+v", cont)
		}
		email := f.node(t, "traits.email")
		if email.Group != "oidc" || !slices.Contains(email.messageIDs(), 4000002) {
			t.Errorf("traits.email: group %s, messages %v", email.Group, email.messageIDs())
		}
		if v, _ := f.node(t, "traits.name.first").value(); v != "Nomail" {
			t.Errorf("traits.name.first is not pre-filled with the mapped value: %v", v)
		}
		if names := f.nodeNames(); len(names) < 2 || names[0] != "csrf_token" || names[1] != "provider" {
			t.Errorf("the continuation's nodes should start with csrf_token and the provider, as in Kratos: %v", names)
		}
		if slices.Contains(f.nodeNames(), "password") {
			t.Errorf("the continuation should show only the provider's form: %v", f.nodeNames())
		}

		// Filling in the email address and continuing goes through the
		// provider again and signs up with the merged traits.
		r = env.submitProvider(t, br, f, url.Values{"traits.email": {"nomail@example.org"}, "traits.name.first": {"Nomail"}})
		r = env.atProvider(t, br, r, oidcNoMail, false)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != oidcReturnURL {
			t.Fatalf("continued registration: %s", r)
		}
		_, traits := oidcIdentityOf(t, oidcWhoami(t, br))
		if traits["email"] != "nomail@example.org" || lcFirstName(traits) != "Nomail" {
			t.Errorf("traits: %v", traits)
		}

		// Starting on a registration flow, the same flow asks for the rest.
		br2 := ssNewBrowser(t, s)
		rf := br2.initFlow("registration", "")
		r = env.atProvider(t, br2, env.submitProvider(t, br2, rf, nil), oidcBobNoMail, false)
		if r.Status != http.StatusFound || ssLocation(t, r).Query().Get("flow") != rf.ID {
			t.Fatalf("registration flow with missing traits: want 302 to the same flow, got %s", r)
		}
		rf = br2.fetch("registration", rf.ID)
		if n := oidcNode(rf, "provider", oidcProvider); n == nil || n.Meta.Label.ID != 1040003 || !slices.Contains(rf.node(t, "traits.email").messageIDs(), 4000002) {
			t.Errorf("registration flow with missing traits: %v", rf.nodeNames())
		}
	})
}

func TestOIDCSettingsLinkUnlink(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := oidcStart(t, b, "")
		s := env.s

		// Bob has a password; he signs in with it.
		cr := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
			"traits":      map[string]any{"email": oidcBob.Email},
			"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"password": ssPassword}}},
		})
		if cr.Status != http.StatusCreated {
			t.Fatal(cr)
		}
		bobID := decode[identityJSON](t, cr).ID
		br := ssNewBrowser(t, s)
		lf := br.initFlow("login", "")
		if r := br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", oidcBob.Email, "password", ssPassword)); r.Status != http.StatusSeeOther {
			t.Fatalf("password login: %s", r)
		}

		sf := br.initFlow("settings", "")
		if n := oidcNode(sf, "link", oidcProvider); n == nil || n.Group != "oidc" || n.Meta.Label == nil || n.Meta.Label.ID != 1050002 {
			t.Fatalf("settings: link button: %+v", n)
		}
		if oidcNode(sf, "unlink", oidcProvider) != nil {
			t.Fatal("settings: unlink shown for a provider that is not linked")
		}
		r := br.postForm(sf.UI.Action, url.Values{"csrf_token": {sf.csrf(t)}, "link": {oidcProvider}})
		if r.Status != http.StatusSeeOther || !env.atOP(ssLocation(t, r)) {
			t.Fatalf("link: want 303 to the provider, got %s", r)
		}
		r = env.atProvider(t, br, r, oidcBob, false)
		if r.Status != http.StatusSeeOther || ssLocation(t, r).Query().Get("flow") != sf.ID {
			t.Fatalf("link callback: want 303 to the settings UI, got %s", r)
		}
		sf = br.fetch("settings", sf.ID)
		if sf.State != "success" || oidcNode(sf, "unlink", oidcProvider) == nil || oidcNode(sf, "unlink", oidcProvider).Meta.Label.ID != 1050003 {
			t.Fatalf("after linking: state %s, nodes %v", sf.State, sf.nodeNames())
		}

		// Bob can now sign in at the provider.
		br2 := ssNewBrowser(t, s)
		if r := env.signIn(t, br2, oidcBob); r.Status != http.StatusSeeOther {
			t.Fatalf("sign-in after linking: %s", r)
		}
		if id, _ := oidcIdentityOf(t, oidcWhoami(t, br2)); id != bobID {
			t.Errorf("signed in as %s, want %s", id, bobID)
		}

		// Alice signs up at the provider; Bob cannot link her account.
		brA := ssNewBrowser(t, s)
		if r := env.signIn(t, brA, oidcAlice); r.Status != http.StatusSeeOther {
			t.Fatalf("alice: %s", r)
		}
		sf = br.initFlow("settings", "")
		// Unlink first, so that the link button is shown again.
		r = br.postForm(sf.UI.Action, url.Values{"csrf_token": {sf.csrf(t)}, "unlink": {oidcProvider}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("unlink: %s", r)
		}
		sf = br.fetch("settings", sf.ID)
		if sf.State != "success" || oidcNode(sf, "link", oidcProvider) == nil {
			t.Fatalf("after unlinking: state %s, nodes %v", sf.State, sf.nodeNames())
		}
		if i := lcIdentity(t, s, bobID); slices.Contains(credentialTypes(t, s, bobID), "oidc") {
			t.Errorf("oidc credentials left after unlinking: %+v", i)
		}
		r = br.postForm(sf.UI.Action, url.Values{"csrf_token": {sf.csrf(t)}, "link": {oidcProvider}})
		r = env.atProvider(t, br, r, oidcAlice, false)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("linking alice's account: %s", r)
		}
		sf = br.fetch("settings", ssLocation(t, r).Query().Get("flow"))
		if len(sf.UI.Messages) != 1 || sf.UI.Messages[0].ID != 4000001 || !strings.Contains(sf.UI.Messages[0].Text, "another identity") {
			t.Errorf("linking another identity's account: messages %+v", sf.UI.Messages)
		}

		// Alice's only way to sign in cannot be unlinked.
		af := brA.initFlow("settings", "")
		if oidcNode(af, "unlink", oidcProvider) != nil {
			t.Error("settings: unlink shown for the last first factor")
		}
		r = brA.postForm(af.UI.Action, url.Values{"csrf_token": {af.csrf(t)}, "unlink": {oidcProvider}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("unlinking the last first factor: %s", r)
		}
		af = brA.fetch("settings", af.ID)
		if len(af.UI.Messages) != 1 || af.UI.Messages[0].ID != 4000001 {
			t.Errorf("unlinking the last first factor: messages %+v", af.UI.Messages)
		}
	})
}

// credentialTypes lists the credential types of an identity (admin API).
func credentialTypes(t testing.TB, s *testutil.Server, id string) []string {
	t.Helper()
	r := do(t, http.MethodGet, adminURL(s, "identities/"+id), nil)
	var i struct {
		Credentials map[string]json.RawMessage `json:"credentials"`
	}
	if err := json.Unmarshal(r.Body, &i); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range i.Credentials {
		out = append(out, k)
	}
	return out
}

// TestOIDCErrors: every failure ends on the flow with a message or on the
// error UI, never with a 500.
func TestOIDCErrors(t *testing.T) {
	env := oidcStart(t, testutil.Backends()[0], "")
	s := env.s

	// onLoginFlow checks a 303 back to the login UI with a 4000001 message
	// containing want, and returns the message.
	onLoginFlow := func(t *testing.T, br *ssBrowser, r response, flowID, want string) {
		t.Helper()
		if r.Status != http.StatusSeeOther {
			t.Fatalf("want 303 to the login UI, got %s", r)
		}
		if got := ssLocation(t, r).Query().Get("flow"); got != flowID {
			t.Fatalf("want the login flow %s, got %s", flowID, ssLocation(t, r))
		}
		f := br.fetch("login", flowID)
		if len(f.UI.Messages) != 1 || f.UI.Messages[0].ID != 4000001 || !strings.Contains(f.UI.Messages[0].Text, want) {
			t.Fatalf("messages: %+v, want one 4000001 containing %q", f.UI.Messages, want)
		}
		if oidcNode(f, "provider", oidcProvider) == nil {
			t.Errorf("the form lost its provider button: %v", f.nodeNames())
		}
	}

	t.Run("consent denied", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		r := env.atProvider(t, br, env.submitProvider(t, br, f, nil), oidcAlice, true)
		onLoginFlow(t, br, r, f.ID, "access_denied")
	})

	t.Run("state mismatch", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		loc := env.toCallback(t, br, env.submitProvider(t, br, f, nil), oidcAlice, false)
		q := loc.Query()
		q.Set("state", "forged-state")
		loc.RawQuery = q.Encode()
		onLoginFlow(t, br, br.get(loc.String()), f.ID, "state")
	})

	for _, mode := range []string{testop.TamperBadSignature, testop.TamperWrongAudience, testop.TamperExpired, testop.TamperNonce} {
		t.Run("id token "+mode, func(t *testing.T) {
			env.op.SetTamper(mode)
			defer env.op.SetTamper(testop.TamperNone)
			br := ssNewBrowser(t, s)
			f := br.initFlow("login", "")
			r := env.atProvider(t, br, env.submitProvider(t, br, f, nil), oidcAlice, false)
			onLoginFlow(t, br, r, f.ID, "ID token is not valid")
			if c := br.cookie("ory_kratos_session"); c != nil {
				t.Error("a session was issued for a bad ID token")
			}
		})
	}

	t.Run("no continuity cookie", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		r := br.get(ssFlowURL(s, "/self-service/methods/oidc/callback/"+oidcProvider+"?code=x&state=y"))
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "id=") {
			t.Fatalf("want 303 to the error UI, got %s", r)
		}
		id := ssLocation(t, r).Query().Get("id")
		er := br.get(ssFlowURL(s, "/self-service/errors?id="+id), "Accept", "application/json")
		if er.Status != http.StatusOK || !strings.Contains(string(er.Body), `"code":400`) || !strings.Contains(string(er.Body), "no resumable session found") {
			t.Errorf("stored error: %s", er)
		}
	})

	t.Run("form_post callback moves to GET", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		r := br.postForm(ssFlowURL(s, "/self-service/methods/oidc/callback/"+oidcProvider), url.Values{"code": {"c"}, "state": {"s"}})
		loc := ssLocation(t, r)
		if r.Status != http.StatusFound || loc.Path != "/self-service/methods/oidc/callback/"+oidcProvider || loc.Query().Get("code") != "c" || loc.Query().Get("state") != "s" {
			t.Fatalf("want 302 to the GET callback with the form's fields, got %s", r)
		}
	})

	t.Run("JSON client on a browser flow", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		r := br.do(http.MethodPost, f.UI.Action, strings.NewReader(`{"method":"oidc","provider":"`+oidcProvider+`","csrf_token":"`+f.csrf(t)+`"}`),
			"Content-Type", "application/json", "Accept", "application/json")
		e := requireEnvelope(t, r, http.StatusUnprocessableEntity)
		var extra struct {
			RedirectBrowserTo string `json:"redirect_browser_to"`
		}
		_ = json.Unmarshal(r.Body, &extra)
		u, err := url.Parse(extra.RedirectBrowserTo)
		if e.ID != "browser_location_change_required" || err != nil || !env.atOP(u) {
			t.Errorf("422: %s", r.Body)
		}
		q := u.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
			!strings.Contains(q.Get("scope"), "openid") || q.Get("redirect_uri") != s.PublicURL+"self-service/methods/oidc/callback/"+oidcProvider {
			t.Errorf("authorization request: %s", u)
		}
	})

	t.Run("API flow", func(t *testing.T) {
		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/api"), nil)
		f := ssDecodeFlow(t, r.Body)
		if oidcNode(f, "provider", oidcProvider) != nil {
			t.Error("API login flows should not offer social sign-in")
		}
		r = doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "oidc", "provider": oidcProvider})
		if r.Status != http.StatusBadRequest {
			t.Fatalf("want 400, got %s", r)
		}
		f = ssDecodeFlow(t, r.Body)
		if len(f.UI.Messages) != 1 || !strings.Contains(f.UI.Messages[0].Text, "Browser endpoint") {
			t.Errorf("messages: %+v", f.UI.Messages)
		}
	})

	t.Run("API flow with the SDK", func(t *testing.T) {
		api := s.Public.V0alpha2Api
		ctx := context.Background()
		f, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		body := kratos.NewSubmitSelfServiceLoginFlowWithOidcMethodBody("oidc", oidcProvider)
		_, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
			SubmitSelfServiceLoginFlowBody(kratos.SubmitSelfServiceLoginFlowWithOidcMethodBodyAsSubmitSelfServiceLoginFlowBody(body)).Execute()
		if err == nil || sdkStatus(res) != http.StatusBadRequest {
			t.Fatalf("want 400, got %d %v", sdkStatus(res), err)
		}
		var failed kratos.SelfServiceLoginFlow
		if err := json.Unmarshal([]byte(sdkErrorBody(err)), &failed); err != nil || len(failed.Ui.Messages) != 1 || failed.Ui.Messages[0].Id != 4000001 {
			t.Errorf("the 400 should be the flow with one 4000001 message: %s", sdkErrorBody(err))
		}
	})

	t.Run("unknown provider", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		r := br.postForm(f.UI.Action, url.Values{"csrf_token": {f.csrf(t)}, "provider": {"nope"}})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "id=") {
			t.Fatalf("want 303 to the error UI, got %s", r)
		}
	})

	t.Run("provider down", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		loc := env.toCallback(t, br, env.submitProvider(t, br, f, nil), oidcAlice, false)
		// The provider goes away before the code is exchanged.
		env.op.Stop()
		onLoginFlow(t, br, br.get(loc.String()), f.ID, "could not be reached")
	})
}

// TestOIDCLinkNeedsRecentLogin: linking is a sensitive change. A stale
// session is sent to sign in again; the link submission is kept and
// replayed when the browser comes back, which then goes on to the provider.
func TestOIDCLinkNeedsRecentLogin(t *testing.T) {
	env := oidcStart(t, testutil.Backends()[0], "selfservice:\n  flows:\n    settings:\n      privileged_session_max_age: 1s\n")
	s := env.s
	cr := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
		"traits":      map[string]any{"email": oidcBob.Email},
		"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"password": ssPassword}}},
	})
	if cr.Status != http.StatusCreated {
		t.Fatal(cr)
	}
	br := ssNewBrowser(t, s)
	lf := br.initFlow("login", "")
	if r := br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", oidcBob.Email, "password", ssPassword)); r.Status != http.StatusSeeOther {
		t.Fatalf("password login: %s", r)
	}
	time.Sleep(1100 * time.Millisecond) // the session is no longer privileged

	sf := br.initFlow("settings", "")
	r := br.postForm(sf.UI.Action, url.Values{"csrf_token": {sf.csrf(t)}, "link": {oidcProvider}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcReauthURL(s, sf.ID) {
		t.Fatalf("stale link: want 303 to sign in again, got %s", r)
	}
	r = br.get(r.Header.Get("Location"))
	rf := br.fetch("login", ssLocation(t, r).Query().Get("flow"))
	r = br.postForm(rf.UI.Action, ssFormFor(t, rf, "method", "password", "identifier", oidcBob.Email, "password", ssPassword))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != s.PublicURL+"self-service/settings?flow="+sf.ID {
		t.Fatalf("re-login: want 303 back to the settings flow, got %s", r)
	}
	// Coming back replays the link submission: on to the provider.
	r = br.get(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || !env.atOP(ssLocation(t, r)) {
		t.Fatalf("resumed link: want 303 to the provider, got %s", r)
	}
	r = env.atProvider(t, br, r, oidcBob, false)
	if r.Status != http.StatusSeeOther || ssLocation(t, r).Query().Get("flow") != sf.ID {
		t.Fatalf("link callback: %s", r)
	}
	if sf = br.fetch("settings", sf.ID); sf.State != "success" || oidcNode(sf, "unlink", oidcProvider) == nil {
		t.Errorf("after the resumed link: state %s, nodes %v", sf.State, sf.nodeNames())
	}
}
