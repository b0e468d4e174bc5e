package e2e_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// waSchema flags the e-mail address as the password and the WebAuthn
// identifier.
var waSchema = "base64://" + base64.StdEncoding.EncodeToString([]byte(`{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {"traits": {"type": "object", "properties": {"email": {"type": "string", "format": "email",
    "ory.sh/kratos": {"credentials": {"password": {"identifier": true}, "webauthn": {"identifier": true}, "totp": {"account_name": true}}}}},
    "required": ["email"], "additionalProperties": false}}
}`))

// waRP is the relying party of the WebAuthn suites: the self-service UI's
// origin, whose host is the RP id.
var waRP = virtualwebauthn.RelyingParty{ID: "localhost", Name: "Hoplite Test", Origin: "http://localhost:4455"}

func waConfig(extra string) string {
	return `
identity:
  schemas:
    - id: default
      url: ` + waSchema + `
selfservice:
  methods:
    webauthn:
      enabled: true
      config:
        rp:
          id: localhost
          display_name: Hoplite Test
          origin: http://localhost:4455
` + extra
}

// waOptions returns the JSON options of a trigger node's onclick call.
func waOptions(t testing.TB, f ssFlow, trigger, fn string) string {
	t.Helper()
	onclick, _ := f.node(t, trigger).Attributes["onclick"].(string)
	if !strings.HasPrefix(onclick, fn+"(") || !strings.HasSuffix(onclick, ")") {
		t.Fatalf("%s onclick %q", trigger, onclick)
	}
	return strings.TrimSuffix(strings.TrimPrefix(onclick, fn+"("), ")")
}

// waRegister adds cred to the identity signed in on br through a settings
// flow and returns the flow shown afterwards.
func waRegister(t testing.TB, br *ssBrowser, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential, name string) ssFlow {
	t.Helper()
	f := br.initFlow("settings", "")
	opts, err := virtualwebauthn.ParseAttestationOptions(waOptions(t, f, "webauthn_register_trigger", "window.__oryWebAuthnRegistration"))
	if err != nil {
		t.Fatal(err)
	}
	resp := virtualwebauthn.CreateAttestationResponse(waRP, auth, cred, *opts)
	// The script submits the form: no method field.
	r := br.postForm(f.UI.Action, ssFormFor(t, f, "webauthn_register", resp, "webauthn_register_displayname", name))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("registration: %s", r)
	}
	got := br.fetch("settings", f.ID)
	if got.State != "success" {
		t.Fatalf("registration: state %q, messages %+v", got.State, got.UI.Messages)
	}
	return got
}

// waAssert answers the login trigger of f with cred and submits it as a
// form, returning the answer.
func waAssert(t testing.TB, br *ssBrowser, f ssFlow, rp virtualwebauthn.RelyingParty, auth virtualwebauthn.Authenticator, cred virtualwebauthn.Credential, mutate func(*virtualwebauthn.AssertionOptions)) response {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(waOptions(t, f, "webauthn_login_trigger", "window.__oryWebAuthnLogin"))
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(opts)
	}
	resp := virtualwebauthn.CreateAssertionResponse(rp, auth, cred, *opts)
	return br.postForm(f.UI.Action, ssFormFor(t, f, "method", "webauthn", "webauthn_login", resp))
}

func waSessionAAL(t testing.TB, br *ssBrowser) (int, string) {
	t.Helper()
	r := br.get(ssFlowURL(br.s, "/sessions/whoami"), "Accept", "application/json")
	var out struct {
		AAL string `json:"authenticator_assurance_level"`
	}
	_ = jsonUnmarshal(r.Body, &out)
	return r.Status, out.AAL
}

// TestWebAuthnSecondFactor registers a security key as a second factor in
// settings and signs in with it after a password, through a software
// authenticator making real attestations and assertions; wrong origins,
// wrong challenges, cloned keys (a counter that did not grow), malformed
// answers and API flows are refused.
func TestWebAuthnSecondFactor(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, ssBrowserConfig, waConfig(""))})
		email := "key-2fa@example.org"
		ssRegister(t, s, email, ssPassword)
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, email, ssPassword)

		auth := virtualwebauthn.NewAuthenticator()
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		t.Run("settings nodes", func(t *testing.T) {
			f := br.initFlow("settings", "")
			script := f.node(t, "webauthn_script")
			if script.Type != "script" || script.Attributes["src"] != ssFlowURL(s, "/.well-known/ory/webauthn.js") || !strings.HasPrefix(script.Attributes["integrity"].(string), "sha512-") {
				t.Errorf("script %+v", script)
			}
			if n := f.node(t, "webauthn_register_displayname"); n.Meta.Label.ID != 1050013 {
				t.Errorf("displayname %+v", n)
			}
			if n := f.node(t, "webauthn_register_trigger"); n.Attributes["type"] != "button" || n.Meta.Label.ID != 1050012 {
				t.Errorf("trigger %+v", n)
			}
			if n := f.node(t, "webauthn_register"); n.Attributes["type"] != "hidden" {
				t.Errorf("register %+v", n)
			}
			// API flows show no security keys.
			token := *ssLogin(t, s, email, ssPassword).SessionToken
			apiFlow := mfaSettingsFlow(t, s, token)
			for _, name := range apiFlow.nodeNames() {
				if strings.HasPrefix(name, "webauthn") {
					t.Errorf("API settings flow shows %s", name)
				}
			}
		})

		t.Run("a wrong origin does not register", func(t *testing.T) {
			f := br.initFlow("settings", "")
			opts, _ := virtualwebauthn.ParseAttestationOptions(waOptions(t, f, "webauthn_register_trigger", "window.__oryWebAuthnRegistration"))
			evil := waRP
			evil.Origin = "http://evil.localhost:4455"
			resp := virtualwebauthn.CreateAttestationResponse(evil, auth, virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2), *opts)
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "webauthn_register", resp), "Accept", "application/json")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "ui", got.UI.Messages, 4000001)
		})

		shown := waRegister(t, br, auth, cred, "Yubi")
		auth.AddCredential(cred)
		rm := shown.node(t, "webauthn_remove")
		if rm.Meta.Label == nil || rm.Meta.Label.ID != 1050018 || rm.Meta.Label.Context["display_name"] != "Yubi" {
			t.Errorf("webauthn_remove %+v", rm)
		}
		if status, aal := waSessionAAL(t, br); status != http.StatusOK || aal != "aal2" {
			t.Errorf("after adding a 2FA key: whoami %d %s", status, aal)
		}

		br2 := ssNewBrowser(t, s)
		lcBrowserLogin(t, br2, email, ssPassword)
		if status, _ := waSessionAAL(t, br2); status != http.StatusForbidden {
			t.Fatalf("password session of an identity with a key: whoami %d", status)
		}
		f := br2.initFlow("login", "aal=aal2")
		ssEqualStrings(t, "aal2 nodes", f.nodeNames(), []string{"csrf_token", "identifier", "webauthn_script", "webauthn_login_trigger", "webauthn_login"})
		if n := f.node(t, "webauthn_login_trigger"); n.Meta.Label.ID != 1010008 {
			t.Errorf("trigger %+v", n)
		}

		refused := func(t *testing.T, r response, id int64) {
			t.Helper()
			if r.Status != http.StatusSeeOther {
				t.Fatalf("%s", r)
			}
			got := br2.fetch("login", f.ID)
			ssRequireMessage(t, "ui", got.UI.Messages, id)
		}
		t.Run("wrong origin", func(t *testing.T) {
			evil := waRP
			evil.Origin = "http://evil.localhost:4455"
			cred.Counter++
			refused(t, waAssert(t, br2, f, evil, auth, cred, nil), 4000008)
		})
		t.Run("wrong challenge", func(t *testing.T) {
			cred.Counter++
			refused(t, waAssert(t, br2, f, waRP, auth, cred, func(o *virtualwebauthn.AssertionOptions) { o.Challenge[0] ^= 0xff }), 4000008)
		})
		t.Run("malformed answers", func(t *testing.T) {
			for _, bad := range []string{"{not json", `{"id":"x","type":"public-key","response":{}}`, strings.Repeat("A", 5000)} {
				r := br2.postForm(f.UI.Action, ssFormFor(t, f, "method", "webauthn", "webauthn_login", bad), "Accept", "application/json")
				if r.Status != http.StatusBadRequest {
					t.Fatalf("%q: %s", bad, r)
				}
				got := ssDecodeFlow(t, r.Body)
				if len(got.UI.Messages) == 0 {
					t.Errorf("%q: no message", bad)
				}
			}
		})
		t.Run("API flows take no keys", func(t *testing.T) {
			token := *ssLogin(t, s, email, ssPassword).SessionToken
			af := mfaAAL2Flow(t, s, token)
			r := doJSON(t, http.MethodPost, af.UI.Action, map[string]any{"method": "webauthn", "webauthn_login": "{}"}, "X-Session-Token", token)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "ui", got.UI.Messages, 4010002)
		})

		cred.Counter++
		r := waAssert(t, br2, f, waRP, auth, cred, nil)
		if r.Status != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "flow=") {
			t.Fatalf("assertion: %d %s", r.Status, r.Header.Get("Location"))
		}
		if status, aal := waSessionAAL(t, br2); status != http.StatusOK || aal != "aal2" {
			t.Errorf("after the key: whoami %d %s", status, aal)
		}

		t.Run("cloned key", func(t *testing.T) {
			br3 := ssNewBrowser(t, s)
			lcBrowserLogin(t, br3, email, ssPassword)
			f3 := br3.initFlow("login", "aal=aal2")
			// A copy of the key still at the counter already seen.
			r := waAssert(t, br3, f3, waRP, auth, cred, nil)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("%s", r)
			}
			got := br3.fetch("login", f3.ID)
			ssRequireMessage(t, "ui", got.UI.Messages, 4000008)
		})

		t.Run("remove", func(t *testing.T) {
			f := br2.initFlow("settings", "")
			id := f.node(t, "webauthn_remove")
			v, _ := id.value()
			r := br2.postForm(f.UI.Action, ssFormFor(t, f, "webauthn_remove", v.(string)))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("%s", r)
			}
			got := br2.fetch("settings", f.ID)
			for _, n := range got.nodeNames() {
				if n == "webauthn_remove" {
					t.Errorf("the key is still listed")
				}
			}
		})
	})
}

// TestWebAuthnPasswordless registers a passwordless key and signs in with
// an identifier and the key (two steps), and refuses to remove the key
// when it is the last way to sign in.
func TestWebAuthnPasswordless(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, ssBrowserConfig, waConfig("        passwordless: true\n"))})
		email := "key-passwordless@example.org"
		ssRegister(t, s, email, ssPassword)
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, email, ssPassword)
		auth := virtualwebauthn.NewAuthenticator()
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		waRegister(t, br, auth, cred, "")
		if status, aal := waSessionAAL(t, br); status != http.StatusOK || aal != "aal1" {
			t.Errorf("after adding a passwordless key: whoami %d %s", status, aal)
		}

		br2 := ssNewBrowser(t, s)
		f := br2.initFlow("login", "")
		if n := f.node(t, "method"); n.Group != "webauthn" || n.Meta.Label.ID != 1010001 {
			// The password method's submit comes first; find webauthn's.
			found := false
			for _, n := range f.UI.Nodes {
				if n.name() == "method" && n.Group == "webauthn" && n.Meta.Label.ID == 1010001 {
					found = true
				}
			}
			if !found {
				t.Errorf("no passwordless submit: %v", f.nodeNames())
			}
		}
		t.Run("unknown identifier", func(t *testing.T) {
			r := br2.postForm(f.UI.Action, ssFormFor(t, f, "method", "webauthn", "identifier", "nobody@example.org"), "Accept", "application/json")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "ui", got.UI.Messages, 4000015)
		})
		t.Run("JSON clients are sent to the browser", func(t *testing.T) {
			f := br2.initFlow("login", "")
			r := br2.postForm(f.UI.Action, ssFormFor(t, f, "method", "webauthn", "identifier", email), "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusUnprocessableEntity); e.ID != "browser_location_change_required" {
				t.Errorf("%+v", e)
			}
		})
		r := br2.postForm(f.UI.Action, ssFormFor(t, f, "method", "webauthn", "identifier", email))
		if loc := ssLocation(t, r); r.Status != http.StatusSeeOther || loc.Query().Get("flow") != f.ID {
			t.Fatalf("identifier step: %d %s", r.Status, loc)
		}
		step2 := br2.fetch("login", f.ID)
		ssEqualStrings(t, "step 2 nodes", step2.nodeNames(), []string{"csrf_token", "identifier", "webauthn_script", "webauthn_login_trigger", "webauthn_login"})
		ssRequireMessage(t, "ui", step2.UI.Messages, 1010012)
		if n := step2.node(t, "webauthn_login_trigger"); n.Meta.Label.ID != 1010013 {
			t.Errorf("trigger %+v", n)
		}
		cred.Counter++
		r = waAssert(t, br2, step2, waRP, auth, cred, nil)
		if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
			t.Fatalf("assertion: %d %s", r.Status, r.Header.Get("Location"))
		}
		if status, aal := waSessionAAL(t, br2); status != http.StatusOK || aal != "aal1" {
			t.Errorf("passwordless session: whoami %d %s", status, aal)
		}

		t.Run("sign up with a key", func(t *testing.T) {
			br3 := ssNewBrowser(t, s)
			f := br3.initFlow("registration", "")
			if n := f.node(t, "traits.email"); n.Group != "default" {
				t.Errorf("traits.email group %q", n.Group)
			}
			if n := f.node(t, "webauthn_register_trigger"); n.Meta.Label.ID != 1040004 {
				t.Errorf("trigger %+v", n)
			}
			opts, err := virtualwebauthn.ParseAttestationOptions(waOptions(t, f, "webauthn_register_trigger", "window.__oryWebAuthnRegistration"))
			if err != nil {
				t.Fatal(err)
			}
			auth := virtualwebauthn.NewAuthenticator()
			cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
			resp := virtualwebauthn.CreateAttestationResponse(waRP, auth, cred, *opts)
			r := br3.postForm(f.UI.Action, ssFormFor(t, f, "traits.email", "signed-up-with-key@example.org", "webauthn_register", resp))
			if r.Status != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "flow=") {
				t.Fatalf("sign-up: %d %s", r.Status, r.Header.Get("Location"))
			}
			auth.AddCredential(cred)
			br4 := ssNewBrowser(t, s)
			lf := br4.initFlow("login", "")
			r = br4.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "webauthn", "identifier", "signed-up-with-key@example.org"))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("identifier step: %s", r)
			}
			cred.Counter++
			r = waAssert(t, br4, br4.fetch("login", lf.ID), waRP, auth, cred, nil)
			if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatalf("sign-in with the new key: %d %s", r.Status, r.Header.Get("Location"))
			}
		})

		t.Run("the last first factor stays", func(t *testing.T) {
			ctx := t.Context()
			id := uuid.MustParse(lcIdentityID(t, s, email))
			i, err := s.App.Identities.Get(ctx, id, true)
			if err != nil {
				t.Fatal(err)
			}
			pw := i.Credentials[identity.CredentialsPassword]
			pw.Config = []byte(`{}`)
			i.Credentials[identity.CredentialsPassword] = pw
			if err := s.App.Identities.Update(ctx, i); err != nil {
				t.Fatal(err)
			}
			f := br2.initFlow("settings", "")
			for _, n := range f.nodeNames() {
				if n == "webauthn_remove" {
					t.Errorf("the last first factor is offered for removal")
				}
			}
			r := br2.postForm(f.UI.Action, ssFormFor(t, f, "webauthn_remove", "00"+strings.Repeat("ab", 31)), "Accept", "application/json")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
		})
	})
}

// TestWebAuthnPasskeys (beyond Kratos v0.9, behind
// selfservice.methods.webauthn.config.passkeys) registers a discoverable
// key and signs in with it without typing an identifier.
func TestWebAuthnPasskeys(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, ssBrowserConfig, waConfig("        passkeys: true\n"))})
		email := "passkey@example.org"
		ssRegister(t, s, email, ssPassword)
		id := uuid.MustParse(lcIdentityID(t, s, email))
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, email, ssPassword)

		f := br.initFlow("settings", "")
		if !strings.Contains(waOptions(t, f, "webauthn_register_trigger", "window.__oryWebAuthnRegistration"), `"residentKey":"required"`) {
			t.Errorf("registration options do not ask for a discoverable credential")
		}
		// The authenticator returns the user handle it stored, as passkeys do.
		auth := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: id[:]})
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		waRegister(t, br, auth, cred, "Phone")

		br2 := ssNewBrowser(t, s)
		lf := br2.initFlow("login", "")
		opts := waOptions(t, lf, "webauthn_login_trigger", "window.__oryWebAuthnLogin")
		if strings.Contains(opts, "allowCredentials") {
			t.Errorf("passkey options name credentials: %s", opts)
		}
		t.Run("a key of nobody", func(t *testing.T) {
			other := virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: uuid.New().NodeID()})
			r := waAssert(t, br2, lf, waRP, other, virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2), nil)
			if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") != nil {
				t.Fatalf("%d %s", r.Status, r.Header.Get("Location"))
			}
			got := br2.fetch("login", lf.ID)
			ssRequireMessage(t, "ui", got.UI.Messages, 4000008)
			lf = got
		})
		cred.Counter++
		r := waAssert(t, br2, lf, waRP, auth, cred, nil)
		if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
			t.Fatalf("passkey sign-in: %d %s", r.Status, r.Header.Get("Location"))
		}
		who := br2.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json")
		if who.Status != http.StatusOK || !strings.Contains(string(who.Body), id.String()) {
			t.Errorf("whoami after the passkey: %s", who)
		}
	})
}

// TestWebAuthnKratosLayout signs in with a key stored in the layout Kratos
// writes (no Hoplite flags), as moved over by a migration from Kratos.
func TestWebAuthnKratosLayout(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: lcMergeYAML(t, ssBrowserConfig, waConfig(""))})
	email := "kratos-key@example.org"
	ssRegister(t, s, email, ssPassword)
	br := ssNewBrowser(t, s)
	lcBrowserLogin(t, br, email, ssPassword)
	auth := virtualwebauthn.NewAuthenticator()
	cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
	waRegister(t, br, auth, cred, "Old key")
	auth.AddCredential(cred)

	ctx := t.Context()
	id := uuid.MustParse(lcIdentityID(t, s, email))
	i, err := s.App.Identities.Get(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	c := i.Credentials[identity.CredentialsWebAuthn]
	var cfg map[string]any
	if err := jsonUnmarshal(c.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range cfg["credentials"].([]any) {
		key := k.(map[string]any)
		delete(key, "flags")
		delete(key, "discoverable")
		if _, ok := key["public_key"].(string); !ok {
			t.Fatalf("public_key is not base64 as Kratos writes it: %v", key)
		}
	}
	c.Config, _ = json.Marshal(cfg)
	i.Credentials[identity.CredentialsWebAuthn] = c
	if err := s.App.Identities.Update(ctx, i); err != nil {
		t.Fatal(err)
	}

	br2 := ssNewBrowser(t, s)
	lcBrowserLogin(t, br2, email, ssPassword)
	f := br2.initFlow("login", "aal=aal2")
	cred.Counter++
	r := waAssert(t, br2, f, waRP, auth, cred, nil)
	if r.Status != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "flow=") {
		t.Fatalf("assertion with a Kratos-layout key: %d %s", r.Status, r.Header.Get("Location"))
	}
	if status, aal := waSessionAAL(t, br2); status != http.StatusOK || aal != "aal2" {
		t.Errorf("whoami %d %s", status, aal)
	}
}
