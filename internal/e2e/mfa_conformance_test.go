package e2e_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestOpenAPIConformanceSecondFactors validates the answers of the
// second-factor steps against the SDK's OpenAPI models: settings flows with
// the totp (img and text nodes), lookup_secret (codes text node with
// nested messages) and webauthn (script node) groups, aal2 login flows,
// whoami's session_aal2_required, and the passwordless step that asks JSON
// clients to move the browser.
func TestOpenAPIConformanceSecondFactors(t *testing.T) {
	oaLoad(t)
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		rec := newOARecorder(t)
		s := mfaStart(t, b, waConfig("        passwordless: true\n"), "selfservice:\n  flows:\n    settings:\n      required_aal: aal1\n")
		pub := ssFlowURL(s, "")
		email := "oa-mfa@example.org"
		reg := rec.call(t, nil, "initializeSelfServiceRegistrationFlowWithoutBrowser", 200, "GET", pub+"/self-service/registration/api", nil)
		out := rec.call(t, nil, "submitSelfServiceRegistrationFlow", 200, "POST", reg.str("ui.action"),
			map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": email}}, "Accept", "application/json")
		token := out.str("session_token")
		tok := []string{"X-Session-Token", token, "Accept", "application/json"}

		f := rec.call(t, nil, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, tok...)
		var secret string
		for _, n := range f.get("ui.nodes").([]any) {
			attrs := n.(map[string]any)["attributes"].(map[string]any)
			if attrs["id"] == "totp_secret_key" {
				secret, _ = attrs["text"].(map[string]any)["text"].(string)
			}
		}
		rec.call(t, nil, "submitSelfServiceSettingsFlow", 400, "POST", f.str("ui.action"), map[string]any{"method": "totp", "totp_code": "nope"}, tok...)
		rec.call(t, nil, "submitSelfServiceSettingsFlow", 200, "POST", f.str("ui.action"), map[string]any{"method": "totp", "totp_code": mfaCode(t, secret, 0)}, tok...)
		f = rec.call(t, nil, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, tok...)
		rec.call(t, nil, "submitSelfServiceSettingsFlow", 200, "POST", f.str("ui.action"), map[string]any{"method": "lookup_secret", "lookup_secret_regenerate": true}, tok...)
		rec.call(t, nil, "getSelfServiceSettingsFlow", 200, "GET", pub+"/self-service/settings/flows?id="+url.QueryEscape(f.str("id")), nil, tok...)
		rec.call(t, nil, "submitSelfServiceSettingsFlow", 200, "POST", f.str("ui.action"), map[string]any{"method": "lookup_secret", "lookup_secret_confirm": true}, tok...)
		f = rec.call(t, nil, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, tok...)
		rec.call(t, nil, "submitSelfServiceSettingsFlow", 200, "POST", f.str("ui.action"), map[string]any{"method": "lookup_secret", "lookup_secret_reveal": true}, tok...)

		login := rec.call(t, nil, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api", nil)
		// Not validated: as in Kratos, the session of a login that still
		// owes a second factor is answered with "identity": null, which the
		// document's session model does not allow.
		lo := doJSON(t, http.MethodPost, login.str("ui.action"), map[string]any{"method": "password", "identifier": email, "password": ssPassword})
		var loBody struct {
			Token string `json:"session_token"`
		}
		if lo.Status != http.StatusOK || jsonUnmarshal(lo.Body, &loBody) != nil || loBody.Token == "" {
			t.Fatalf("password login: %s", lo)
		}
		tok2 := []string{"X-Session-Token", loBody.Token, "Accept", "application/json"}
		rec.call(t, nil, "toSession", 403, "GET", pub+"/sessions/whoami", nil, tok2...)
		a2 := rec.call(t, nil, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api?aal=aal2", nil, tok2...)
		rec.call(t, nil, "submitSelfServiceLoginFlow", 400, "POST", a2.str("ui.action"), map[string]any{"method": "lookup_secret", "lookup_secret": "invalid0"}, tok2...)
		rec.call(t, nil, "submitSelfServiceLoginFlow", 200, "POST", a2.str("ui.action"), map[string]any{"method": "totp", "totp_code": mfaCode(t, secret, 1)}, tok2...)
		rec.call(t, nil, "toSession", 200, "GET", pub+"/sessions/whoami", nil, tok2...)

		// Browser flows with security keys, read as JSON.
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, email, ssPassword)
		ba2 := br.initFlow("login", "aal=aal2")
		rec.call(t, br.c, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+ba2.ID, nil, "Accept", "application/json")
		auth := virtualwebauthn.NewAuthenticator()
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		sf := br.initFlow("settings", "")
		rec.call(t, br.c, "getSelfServiceSettingsFlow", 200, "GET", pub+"/self-service/settings/flows?id="+sf.ID, nil, "Accept", "application/json")
		waRegister(t, br, auth, cred, "Key")

		anon := ssNewBrowser(t, s)
		lf := anon.initFlow("login", "")
		rec.call(t, anon.c, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+lf.ID, nil, "Accept", "application/json")
		rec.call(t, anon.c, "submitSelfServiceLoginFlow", 422, "POST", lf.UI.Action,
			url.Values{"csrf_token": {lf.csrf(t)}, "method": {"webauthn"}, "identifier": {email}}, "Accept", "application/json")
		rec.call(t, anon.c, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+lf.ID, nil, "Accept", "application/json")
		rf := anon.initFlow("registration", "")
		rec.call(t, anon.c, "getSelfServiceRegistrationFlow", 200, "GET", pub+"/self-service/registration/flows?id="+rf.ID, nil, "Accept", "application/json")
	})
}
