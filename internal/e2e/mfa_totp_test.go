package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestTOTPLifecycle sets an authenticator app up, signs in with a password
// (whoami then answers 403 session_aal2_required under highest_available),
// completes the second factor on the same session (whoami 200), refuses a
// replayed and a wrong code, and unlinks the app.
func TestTOTPLifecycle(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := mfaStart(t, b)
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		email := "totp@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		token := *reg.SessionToken

		t.Run("settings offer a new key", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, token)
			qr := f.node(t, "totp_qr")
			if qr.Type != "img" || qr.Group != "totp" || !strings.HasPrefix(qr.Attributes["src"].(string), "data:image/png;base64,") ||
				qr.Attributes["width"] != float64(256) || qr.Attributes["height"] != float64(256) || qr.Meta.Label == nil || qr.Meta.Label.ID != 1050005 {
				t.Errorf("totp_qr %+v", qr)
			}
			sk := f.node(t, "totp_secret_key")
			text := sk.Attributes["text"].(map[string]any)
			if sk.Type != "text" || text["id"] != float64(1050006) || text["context"].(map[string]any)["secret"] != text["text"] || sk.Meta.Label == nil || sk.Meta.Label.ID != 1050017 {
				t.Errorf("totp_secret_key %+v", sk)
			}
			code := f.node(t, "totp_code")
			if v, _ := code.value(); v != "" || code.Attributes["required"] != true || code.Meta.Label == nil || code.Meta.Label.ID != 1070006 {
				t.Errorf("totp_code %+v", code)
			}
			var order []string
			for _, n := range f.UI.Nodes {
				if n.Group == "totp" {
					order = append(order, n.name())
				}
			}
			ssEqualStrings(t, "totp nodes", order, []string{"totp_qr", "totp_secret_key", "totp_code", "method"})
		})

		t.Run("a wrong code does not set the app up", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, token)
			r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": "000000x"}, "X-Session-Token", token)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			n := got.node(t, "totp_code")
			ssRequireMessage(t, "totp_code", n.Messages, 4000008)
			if v, ok := n.value(); ok && v != "" {
				t.Errorf("the code was echoed back: %v", v)
			}
		})

		secret := mfaSetUpTOTP(t, s, token)

		t.Run("setting up upgrades the session", func(t *testing.T) {
			r := mfaWhoami(t, s, token)
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var sess struct {
				AAL     string                         `json:"authenticator_assurance_level"`
				Methods []struct{ Method, AAL string } `json:"authentication_methods"`
			}
			_ = json.Unmarshal(r.Body, &sess)
			if sess.AAL != "aal2" || len(sess.Methods) != 2 || sess.Methods[1].Method != "totp" || sess.Methods[1].AAL != "aal2" {
				t.Errorf("session %s", r.Body)
			}
			f := mfaSettingsFlow(t, s, token)
			unlink := f.node(t, "totp_unlink")
			if v, _ := unlink.value(); v != "true" || unlink.Attributes["type"] != "submit" || unlink.Meta.Label.ID != 1050004 {
				t.Errorf("totp_unlink %+v", unlink)
			}
			for _, name := range f.nodeNames() {
				if name == "totp_qr" || name == "totp_code" {
					t.Errorf("settings still offer %s once the app is set up", name)
				}
			}
		})

		login := ssLogin(t, s, email, ssPassword)
		token2 := *login.SessionToken

		t.Run("a password alone does not satisfy highest_available", func(t *testing.T) {
			if login.Session.Identity.Id != "" {
				t.Errorf("login answer carries the identity of an aal1 session that whoami refuses")
			}
			r := mfaWhoami(t, s, token2)
			e := requireEnvelope(t, r, http.StatusForbidden)
			var top map[string]any
			_ = json.Unmarshal(r.Body, &top)
			want := ssFlowURL(s, "/self-service/login/browser?aal=aal2")
			if e.ID != "session_aal2_required" || e.Details["redirect_browser_to"] != want || top["redirect_browser_to"] != want {
				t.Errorf("whoami: %s", r.Body)
			}
			_, res, _ := api.ToSession(ctx).XSessionToken(token2).Execute()
			if sdkStatus(res) != http.StatusForbidden {
				t.Errorf("SDK whoami: %d", sdkStatus(res))
			}
		})

		t.Run("aal2 login without a session", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/api?aal=aal2"), nil, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusUnauthorized); e.ID != "session_aal1_required" {
				t.Errorf("%+v", e)
			}
		})

		f := mfaAAL2Flow(t, s, token2)
		t.Run("the aal2 flow offers only the second factors", func(t *testing.T) {
			if string(f.keys["requested_aal"]) != `"aal2"` {
				t.Errorf("requested_aal %s", f.keys["requested_aal"])
			}
			ssRequireMessage(t, "ui", f.UI.Messages, 1010004)
			ssEqualStrings(t, "nodes", f.nodeNames(), []string{"csrf_token", "totp_code", "method"})
			c := f.node(t, "totp_code")
			if c.Meta.Label == nil || c.Meta.Label.ID != 1010006 || c.Group != "totp" {
				t.Errorf("totp_code %+v", c)
			}
			m := f.node(t, "method")
			if v, _ := m.value(); v != "totp" || m.Meta.Label.ID != 1010009 {
				t.Errorf("method %+v", m)
			}
		})

		t.Run("a password does not complete a second-factor flow", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "password", "identifier": email, "password": ssPassword}, "X-Session-Token", token2)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "ui", got.UI.Messages, 4010002)
		})

		t.Run("wrong and garbage codes", func(t *testing.T) {
			for _, code := range []string{"000000", "abcdef", "", "1234567890", mfaCode(t, secret, 0)} {
				r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": code}, "X-Session-Token", token2)
				if r.Status != http.StatusBadRequest {
					t.Fatalf("code %q: %s", code, r)
				}
				got := ssDecodeFlow(t, r.Body)
				ssRequireMessage(t, "totp_code", got.node(t, "totp_code").Messages, 4000008)
			}
		})

		code := mfaCode(t, secret, 1)
		t.Run("the second factor upgrades the same session", func(t *testing.T) {
			body := kratos.NewSubmitSelfServiceLoginFlowWithTotpMethodBody("totp", code)
			out, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.ID).XSessionToken(token2).
				SubmitSelfServiceLoginFlowBody(kratos.SubmitSelfServiceLoginFlowWithTotpMethodBodyAsSubmitSelfServiceLoginFlowBody(body)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.Session.Id != login.Session.Id || out.Session.GetAuthenticatorAssuranceLevel() != kratos.AUTHENTICATORASSURANCELEVEL_AAL2 || out.GetSessionToken() != token2 {
				t.Errorf("session %s aal %s", out.Session.Id, out.Session.GetAuthenticatorAssuranceLevel())
			}
			if r := mfaWhoami(t, s, token2); r.Status != http.StatusOK {
				t.Errorf("whoami after the second factor: %s", r)
			}
		})

		t.Run("a used code is refused", func(t *testing.T) {
			token3 := *ssLogin(t, s, email, ssPassword).SessionToken
			f3 := mfaAAL2Flow(t, s, token3)
			r := doJSON(t, http.MethodPost, f3.UI.Action, map[string]any{"method": "totp", "totp_code": code}, "X-Session-Token", token3)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "totp_code", got.node(t, "totp_code").Messages, 4000008)
		})

		t.Run("an aal2 session cannot start another aal2 login", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/api?aal=aal2"), nil, "X-Session-Token", token2, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "session_already_available" {
				t.Errorf("%+v", e)
			}
		})

		t.Run("unlink", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, token2)
			body := kratos.NewSubmitSelfServiceSettingsFlowWithTotpMethodBody("totp")
			body.SetTotpUnlink(true)
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.ID).XSessionToken(token2).
				SubmitSelfServiceSettingsFlowBody(kratos.SubmitSelfServiceSettingsFlowWithTotpMethodBodyAsSubmitSelfServiceSettingsFlowBody(body)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Errorf("state %q", out.State)
			}
			got := mfaSettingsFlow(t, s, token2)
			got.node(t, "totp_qr")
			// Without a second factor, a password session suffices again.
			token4 := *ssLogin(t, s, email, ssPassword).SessionToken
			if r := mfaWhoami(t, s, token4); r.Status != http.StatusOK {
				t.Errorf("whoami of an aal1 session after unlinking: %s", r)
			}
		})
	})
}
