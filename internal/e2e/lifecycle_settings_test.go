package e2e_test

// Settings end to end, with the SDK (API flows) and as a browser: profile
// and password changes, the email address (an identifier that is verified),
// invalid traits, another identity's flow, the post-settings redirect, and
// the re-authentication a stale session needs — answered with 403 to API
// clients, and for browsers paused, sent to sign in again, and resumed.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// lcTraits reads the traits of an identity over the admin API.
func lcTraits(t testing.TB, s *testutil.Server, id string) map[string]any {
	t.Helper()
	return lcIdentity(t, s, id).Traits
}

func lcFirstName(traits map[string]any) any {
	name, _ := traits["name"].(map[string]any)
	return name["first"]
}

// lcReauthURL is where a stale session is sent to sign in again before the
// settings flow id continues.
func lcReauthURL(s *testutil.Server, flowID string) string {
	return s.PublicURL + "self-service/login/browser?" + url.Values{
		"refresh":   {"true"},
		"return_to": {s.PublicURL + "self-service/settings?flow=" + flowID},
	}.Encode()
}

const lcSettingsReturnConfig = `
selfservice:
  allowed_return_urls:
    - http://127.0.0.1:4455/
  flows:
    settings:
      after:
        default_browser_return_url: http://127.0.0.1:4455/settings-done
        password:
          default_browser_return_url: http://127.0.0.1:4455/password-done
`

func TestLifecycleSettings(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, lcSettingsReturnConfig)
		s, box := env.s, env.box
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		const email = "lifecycle-settings@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		box.next(t, email) // verification mail
		token := *ssLogin(t, s, email, ssPassword).SessionToken

		t.Run("API: a profile trait", func(t *testing.T) {
			f, res, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(lcProfileBody(map[string]any{"email": email, "name": map[string]any{"first": "Ada"}})).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS || out.Id != f.Id || out.GetActive() != "profile" {
				t.Errorf("state %q id %s active %q", out.State, out.Id, out.GetActive())
			}
			if !containsID(sdkMessageIDs(out.Ui.Messages), 1050001) {
				t.Errorf("ui.messages %v", sdkMessageIDs(out.Ui.Messages))
			}
			if got := lcFirstName(out.Identity.Traits.(map[string]any)); got != "Ada" {
				t.Errorf("flow identity first name %v", got)
			}
			if got := lcFirstName(lcTraits(t, s, reg.Identity.Id)); got != "Ada" {
				t.Errorf("stored first name %v", got)
			}
			// The fresh form shows the saved value.
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.Id), nil, "X-Session-Token", token)
			shown := ssDecodeFlow(t, r.Body)
			if v, _ := shown.node(t, "traits.name.first").value(); v != "Ada" {
				t.Errorf("traits.name.first node value %v", v)
			}
			// The address did not change, so no verification mail is sent.
			box.none(t, email, 200*time.Millisecond)
		})

		t.Run("API: the password", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(ssSettingsPassword(lcNewPassword)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS || out.GetActive() != "password" {
				t.Errorf("state %q active %q", out.State, out.GetActive())
			}
			lcLoginFails(t, s, email, ssPassword)
			ssLogin(t, s, email, lcNewPassword)
			// The session that changed it is still valid.
			if _, res, err := api.ToSession(ctx).XSessionToken(token).Execute(); err != nil {
				t.Errorf("whoami after the change: %v (%d)", err, sdkStatus(res))
			}
		})

		t.Run("API: an invalid trait", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "profile", "traits": map[string]any{"email": "not-an-email"}}, "X-Session-Token", token)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "traits.email", got.node(t, "traits.email").Messages, 4000001)
			if v, _ := got.node(t, "traits.email").value(); v != "not-an-email" {
				t.Errorf("traits.email value %v, want the submitted one", v)
			}
			if got.State != "show_form" {
				t.Errorf("state %q", got.State)
			}
			if lcTraits(t, s, reg.Identity.Id)["email"] != email {
				t.Error("the invalid email was stored")
			}
		})

		t.Run("API: the email address", func(t *testing.T) {
			const moved = "lifecycle-moved@example.org"
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(lcProfileBody(map[string]any{"email": moved, "name": map[string]any{"first": "Ada"}})).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Errorf("state %q", out.State)
			}
			a := lcVerifiable(t, s, reg.Identity.Id, moved)
			if a.Verified || a.Status != "sent" || a.VerifiedAt != nil {
				t.Errorf("new address %+v, want unverified with status sent", a)
			}
			if n := len(lcIdentity(t, s, reg.Identity.Id).VerifiableAddresses); n != 1 {
				t.Errorf("%d verifiable addresses, want only the new one", n)
			}
			m := box.next(t, moved)
			if m.Subject != "Please verify your email address" {
				t.Errorf("subject %q", m.Subject)
			}
			// The new address is the identifier now.
			lcLoginFails(t, s, email, lcNewPassword)
			ssLogin(t, s, moved, lcNewPassword)
			// The link verifies it.
			r := ssNewBrowser(t, s).get(m.link(t))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("verification link: %s", r)
			}
			a = lcVerifiable(t, s, reg.Identity.Id, moved)
			if !a.Verified || a.Status != "completed" || a.VerifiedAt == nil {
				t.Errorf("address after the link %+v", a)
			}
			box.none(t, email, 0)
		})

		t.Run("another identity's flow", func(t *testing.T) {
			ssRegister(t, s, "intruder@example.org", ssPassword)
			box.next(t, "intruder@example.org")
			other := *ssLogin(t, s, "intruder@example.org", ssPassword).SessionToken
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.Id), nil, "X-Session-Token", other, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusForbidden); e.ID != "security_identity_mismatch" {
				t.Errorf("fetch: %+v", e)
			}
			_, res, err := api.GetSelfServiceSettingsFlow(ctx).Id(f.Id).XSessionToken(other).Execute()
			if sdkStatus(res) != http.StatusForbidden {
				t.Errorf("SDK fetch: status %d (%v)", sdkStatus(res), err)
			}
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "profile", "traits": map[string]any{"email": "stolen@example.org"}}, "X-Session-Token", other)
			// 400 security_identity_mismatch as an error document: unlike
			// Kratos, Hoplite does not answer with the flow, which carries its
			// owner's traits.
			if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "security_identity_mismatch" {
				t.Fatalf("submit: %s", r)
			}
			if strings.Contains(string(r.Body), "lifecycle-moved@example.org") {
				t.Fatalf("the answer to another identity leaks the owner's traits: %s", r.Body)
			}
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "password", "password": "Stolen-Password-123"}, "X-Session-Token", other)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("submit: %s", r)
			}
			if lcTraits(t, s, reg.Identity.Id)["email"] != "lifecycle-moved@example.org" {
				t.Error("the other identity changed the email")
			}
			lcLoginFails(t, s, "lifecycle-moved@example.org", "Stolen-Password-123")
		})

		t.Run("browser: profile, password, return URLs", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, "lifecycle-moved@example.org", lcNewPassword)
			if r := br.get(ssFlowURL(s, "/self-service/settings/browser")); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), lcUI+"settings?") {
				t.Fatalf("init: %d %q %v", r.Status, r.Header.Get("Location"), ssErrorFromUI(t, s, r))
			}
			f := br.initFlow("settings", "")
			if v, _ := f.node(t, "traits.email").value(); v != "lifecycle-moved@example.org" {
				t.Errorf("traits.email value %v", v)
			}
			// Fetching a browser settings flow is guarded by its owner's
			// session, not by the anti-CSRF cookie (UIs branch on these).
			fetchURL := ssFlowURL(s, "/self-service/settings/flows?id="+f.ID)
			if r := do(t, http.MethodGet, fetchURL, nil, "Accept", "application/json"); r.Status != http.StatusUnauthorized {
				t.Errorf("fetch without a session: %s", r)
			}
			if r := do(t, http.MethodGet, fetchURL, nil, "Accept", "text/html"); r.Status != http.StatusFound || r.Header.Get("Location") != lcUI+"login" {
				t.Errorf("HTML fetch without a session: %d %q", r.Status, r.Header.Get("Location"))
			}
			intruder := ssNewBrowser(t, s)
			lcBrowserLogin(t, intruder, "intruder@example.org", ssPassword)
			if e := requireEnvelope(t, intruder.get(fetchURL, "Accept", "application/json"), http.StatusForbidden); e.ID != "security_identity_mismatch" {
				t.Errorf("fetch by another identity: %+v", e)
			}
			sessionOnly := "ory_kratos_session=" + br.cookie("ory_kratos_session").Value
			if r := do(t, http.MethodGet, fetchURL, nil, "Accept", "application/json", "Cookie", sessionOnly); r.Status != http.StatusOK {
				t.Errorf("fetch with the session cookie alone: %s", r)
			}
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", "lifecycle-moved@example.org", "traits.name.first", "Grace"))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"settings-done" {
				t.Fatalf("profile: status %d Location %q, want 303 to settings.after.default_browser_return_url", r.Status, r.Header.Get("Location"))
			}
			done := br.fetch("settings", f.ID)
			if done.State != "success" {
				t.Errorf("state %q", done.State)
			}
			ssRequireMessage(t, "ui.messages", done.UI.Messages, 1050001)
			if got := lcFirstName(lcTraits(t, s, reg.Identity.Id)); got != "Grace" {
				t.Errorf("first name %v", got)
			}

			// A validation error goes back to the form.
			f = br.initFlow("settings", "")
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", "broken"))
			if got := lcFlowIDFrom(t, r, "settings"); got != f.ID {
				t.Errorf("validation error: flow %s", got)
			}
			bad := br.fetch("settings", f.ID)
			ssRequireMessage(t, "traits.email", bad.node(t, "traits.email").Messages, 4000001)

			// The password method has its own return URL.
			f = br.initFlow("settings", "")
			const third = "Third-Password-Of-Ada-5"
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", third))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"password-done" {
				t.Fatalf("password: status %d Location %q", r.Status, r.Header.Get("Location"))
			}
			ssLogin(t, s, "lifecycle-moved@example.org", third)

			// return_to of the flow wins over the configured URLs.
			f = br.initFlow("settings", "return_to="+url.QueryEscape(lcUI+"back-here"))
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", "lifecycle-moved@example.org", "traits.name.first", "Joan"))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"back-here" {
				t.Errorf("return_to: status %d Location %q", r.Status, r.Header.Get("Location"))
			}

			// As JSON the browser gets the flow.
			f = br.initFlow("settings", "")
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", "lifecycle-moved@example.org", "traits.name.first", "Rosalind"), "Accept", "application/json")
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"state":"success"`) {
				t.Errorf("JSON: %s", r)
			}
			// A settings flow may say where the verification of a new
			// address returns to.
			f = br.initFlow("settings", "after_verification_return_to="+url.QueryEscape(lcUI+"after-verify"))
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", "lifecycle-third@example.org"))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"settings-done" {
				t.Fatalf("email change: status %d Location %q", r.Status, r.Header.Get("Location"))
			}
			r = br.get(box.next(t, "lifecycle-third@example.org").link(t))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"after-verify" {
				t.Errorf("verification link: status %d Location %q, want 303 to after_verification_return_to", r.Status, r.Header.Get("Location"))
			}
			if a := lcVerifiable(t, s, reg.Identity.Id, "lifecycle-third@example.org"); !a.Verified {
				t.Errorf("address %+v", a)
			}

			// The anti-CSRF token is checked.
			f = br.initFlow("settings", "")
			form := ssFormFor(t, f, "method", "profile", "traits.email", "csrf@example.org")
			form.Set("csrf_token", strings.Repeat("B", 88))
			r = br.postForm(f.UI.Action, form)
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), lcUI+"error") {
				t.Errorf("wrong anti-CSRF token: status %d Location %q", r.Status, r.Header.Get("Location"))
			}
			if lcTraits(t, s, reg.Identity.Id)["email"] != "lifecycle-third@example.org" {
				t.Error("a request with a wrong anti-CSRF token changed the email")
			}
		})
	})
}

func TestLifecycleSettingsReauthentication(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, "selfservice:\n  flows:\n    settings:\n      privileged_session_max_age: 1s\n")
		s, box := env.s, env.box
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		const email = "reauth@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		box.next(t, email)

		t.Run("API", func(t *testing.T) {
			token := *ssLogin(t, s, email, ssPassword).SessionToken
			time.Sleep(1100 * time.Millisecond)
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			for name, body := range map[string]map[string]any{
				"password": {"method": "password", "password": lcNewPassword},
				"email":    {"method": "profile", "traits": map[string]any{"email": "reauth-new@example.org"}},
			} {
				r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id), body, "X-Session-Token", token)
				e := requireEnvelope(t, r, http.StatusForbidden)
				if e.ID != "session_refresh_required" {
					t.Errorf("%s: %+v", name, e)
				}
				var extra struct {
					RedirectBrowserTo string `json:"redirect_browser_to"`
				}
				if err := json.Unmarshal(r.Body, &extra); err != nil {
					t.Fatal(err)
				}
				if extra.RedirectBrowserTo != lcReauthURL(s, f.Id) {
					t.Errorf("%s: redirect_browser_to %q, want %q", name, extra.RedirectBrowserTo, lcReauthURL(s, f.Id))
				}
			}
			// Nothing changed.
			ssLogin(t, s, email, ssPassword)
			if lcTraits(t, s, reg.Identity.Id)["email"] != email {
				t.Error("the email changed")
			}
			box.none(t, "reauth-new@example.org", 0)
			// A trait that is neither an identifier nor an address may change.
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(lcProfileBody(map[string]any{"email": email, "name": map[string]any{"first": "Stale"}})).Execute()
			if err != nil || out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Fatalf("non-identifier trait: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if got := lcFirstName(lcTraits(t, s, reg.Identity.Id)); got != "Stale" {
				t.Errorf("first name %v", got)
			}
		})

		// lcResume signs the browser in again where the settings submission
		// sent it and follows the redirects back to the settings flow.
		lcResume := func(t *testing.T, br *ssBrowser, r response, flowID, password string) {
			t.Helper()
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcReauthURL(s, flowID) {
				t.Fatalf("status %d Location %q, want 303 to %s; body %s", r.Status, r.Header.Get("Location"), lcReauthURL(s, flowID), r.Body)
			}
			r = br.get(r.Header.Get("Location"))
			lid := lcFlowIDFrom(t, r, "login")
			lf := br.fetch("login", lid)
			if !lf.has("refresh") || string(lf.keys["refresh"]) != "true" {
				t.Errorf("login flow refresh %s", lf.keys["refresh"])
			}
			if lf.ReturnTo != s.PublicURL+"self-service/settings?flow="+flowID {
				t.Errorf("login flow return_to %q", lf.ReturnTo)
			}
			ssRequireMessage(t, "login ui.messages", lf.UI.Messages, 1010003)
			id := lf.node(t, "identifier")
			if id.Attributes["type"] != "hidden" {
				t.Errorf("identifier type %v, want hidden", id.Attributes["type"])
			}
			if v, _ := id.value(); v != email {
				t.Errorf("identifier value %v, want %s", v, email)
			}
			r = br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", email, "password", password))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != s.PublicURL+"self-service/settings?flow="+flowID {
				t.Fatalf("re-login: status %d Location %q; body %s", r.Status, r.Header.Get("Location"), r.Body)
			}
			r = br.get(r.Header.Get("Location"))
			if got := lcFlowIDFrom(t, r, "settings"); got != flowID {
				t.Errorf("resumed settings: flow %s, want %s", got, flowID)
			}
			done := br.fetch("settings", flowID)
			if done.State != "success" {
				t.Errorf("resumed settings flow state %q, want success", done.State)
			}
			ssRequireMessage(t, "settings ui.messages", done.UI.Messages, 1050001)
		}

		t.Run("browser: the password change resumes after signing in again", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, email, ssPassword)
			sessionBefore := br.cookie("ory_kratos_session")
			time.Sleep(1100 * time.Millisecond)
			f := br.initFlow("settings", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", lcNewPassword))
			// Not applied yet.
			ssLogin(t, s, email, ssPassword)
			lcResume(t, br, r, f.ID, ssPassword)
			lcLoginFails(t, s, email, ssPassword)
			ssLogin(t, s, email, lcNewPassword)
			if c := br.cookie("ory_kratos_session"); c == nil || sessionBefore == nil {
				t.Error("the browser lost its session")
			}
		})

		t.Run("browser: the email change resumes after signing in again", func(t *testing.T) {
			const moved = "reauth-moved@example.org"
			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, email, lcNewPassword)
			time.Sleep(1100 * time.Millisecond)
			f := br.initFlow("settings", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "profile", "traits.email", moved, "traits.name.first", "Moved"))
			if lcTraits(t, s, reg.Identity.Id)["email"] != email {
				t.Fatal("the email changed before the re-authentication")
			}
			lcResume(t, br, r, f.ID, lcNewPassword)
			traits := lcTraits(t, s, reg.Identity.Id)
			if traits["email"] != moved || lcFirstName(traits) != "Moved" {
				t.Errorf("traits after the resumed change %v", traits)
			}
			if a := lcVerifiable(t, s, reg.Identity.Id, moved); a.Status != "sent" || a.Verified {
				t.Errorf("new address %+v", a)
			}
			box.next(t, moved)
		})

		t.Run("browser: a fresh session needs no re-authentication", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, "reauth-moved@example.org", lcNewPassword)
			f := br.initFlow("settings", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", "Yet-Another-Password-8"))
			if got := lcFlowIDFrom(t, r, "settings"); got != f.ID {
				t.Errorf("flow %s", got)
			}
		})
	})
}
