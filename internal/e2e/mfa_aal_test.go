package e2e_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestAAL2BrowserLogin signs a browser in with a password while its
// identity has an authenticator app: the login answers with a redirect to
// the second-factor flow, which the browser completes with a code on the
// same session.
func TestAAL2BrowserLogin(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := mfaStart(t, b)
		email := "browser-aal2@example.org"
		secret := mfaSetUpTOTP(t, s, *ssRegister(t, s, email, ssPassword).SessionToken)

		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", email, "password", ssPassword))
		if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
			t.Fatalf("password login: %d %s", r.Status, r.Header.Get("Location"))
		}
		if loc := r.Header.Get("Location"); loc != ssFlowURL(s, "/self-service/login/browser?aal=aal2") {
			t.Fatalf("after the first factor: Location %q, want the aal2 login", loc)
		}
		whoami := br.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json")
		if e := requireEnvelope(t, whoami, http.StatusForbidden); e.ID != "session_aal2_required" {
			t.Fatalf("%+v", e)
		}

		// Settings demand the second factor too (required_aal
		// highest_available): browsers are sent to it, JSON clients get 403.
		r = br.get(ssFlowURL(s, "/self-service/settings/browser"))
		if loc := ssLocation(t, r); r.Status != http.StatusSeeOther || loc.Query().Get("aal") != "aal2" || loc.Path != "/self-service/login/browser" {
			t.Errorf("settings init of an aal1 browser: %d %s", r.Status, loc)
		}
		r = br.get(ssFlowURL(s, "/self-service/settings/browser"), "Accept", "application/json")
		if e := requireEnvelope(t, r, http.StatusForbidden); e.ID != "session_aal2_required" {
			t.Errorf("settings init as JSON: %+v", e)
		}

		f2 := br.initFlow("login", "aal=aal2")
		ssRequireMessage(t, "ui", f2.UI.Messages, 1010004)
		r = br.postForm(f2.UI.Action, ssFormFor(t, f2, "method", "totp", "totp_code", "123"))
		if loc := ssLocation(t, r); r.Status != http.StatusSeeOther || loc.Query().Get("flow") != f2.ID {
			t.Fatalf("wrong code: %d %s", r.Status, loc)
		}
		shown := br.fetch("login", f2.ID)
		ssRequireMessage(t, "totp_code", shown.node(t, "totp_code").Messages, 4000008)

		r = br.postForm(f2.UI.Action, ssFormFor(t, shown, "method", "totp", "totp_code", mfaCode(t, secret, 1)))
		if r.Status != http.StatusSeeOther {
			t.Fatalf("second factor: %s", r)
		}
		if loc := r.Header.Get("Location"); loc == "" || mustParse(t, loc).Query().Get("aal") != "" {
			t.Errorf("after the second factor: Location %q", loc)
		}
		if r := br.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json"); r.Status != http.StatusOK {
			t.Errorf("whoami after the second factor: %s", r)
		}
		r = br.get(ssFlowURL(s, "/self-service/settings/browser"))
		if loc := ssLocation(t, r); r.Status != http.StatusSeeOther || loc.Query().Get("flow") == "" {
			t.Errorf("settings init at aal2: %d %s", r.Status, loc)
		}
	})
}

// TestSettingsRequiredAAL1 lets an aal1 session change settings when
// selfservice.flows.settings.required_aal is aal1, while whoami still asks
// for the second factor.
func TestSettingsRequiredAAL1(t *testing.T) {
	s := mfaStart(t, testutil.Backends()[0], `
selfservice:
  flows:
    settings:
      required_aal: aal1
`)
	email := "settings-aal1@example.org"
	mfaSetUpTOTP(t, s, *ssRegister(t, s, email, ssPassword).SessionToken)
	token := *ssLogin(t, s, email, ssPassword).SessionToken
	if r := mfaWhoami(t, s, token); r.Status != http.StatusForbidden {
		t.Errorf("whoami: %s", r)
	}
	mfaSettingsFlow(t, s, token)
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSecondFactorsDisabled: with the methods off (Kratos' defaults), their
// nodes are not shown and their submissions are not taken.
func TestSecondFactorsDisabled(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: ssBrowserConfig})
	token := *ssRegister(t, s, "no-mfa@example.org", ssPassword).SessionToken
	f := mfaSettingsFlow(t, s, token)
	for _, n := range f.UI.Nodes {
		if n.Group == "totp" || n.Group == "lookup_secret" || n.Group == "webauthn" {
			t.Errorf("disabled method shows %s (%s)", n.name(), n.Group)
		}
	}
	for _, body := range []string{`{"method":"totp","totp_code":"123456"}`, `{"method":"lookup_secret","lookup_secret_regenerate":true}`, `{"totp_unlink":true}`} {
		r := doJSON(t, http.MethodPost, f.UI.Action, body, "X-Session-Token", token)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %s", body, r)
		}
		got := ssDecodeFlow(t, r.Body)
		ssRequireMessage(t, "ui", got.UI.Messages, 4010004)
	}
	br := ssNewBrowser(t, s)
	lf := br.initFlow("login", "")
	for _, name := range lf.nodeNames() {
		if strings.HasPrefix(name, "webauthn") {
			t.Errorf("disabled security keys show %s", name)
		}
	}
}
