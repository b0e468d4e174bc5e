package e2e_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestSecondFactorBadInput: malformed and odd second-factor submissions get
// a 400 with the flow and a message (or the Kratos answer for the case),
// never a 500.
func TestSecondFactorBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := mfaStart(t, b, "selfservice:\n  flows:\n    login:\n      lifespan: 1s\n")
		email := "mfa-bad@example.org"
		aal2Token := *ssRegister(t, s, email, ssPassword).SessionToken
		secret := mfaSetUpTOTP(t, s, aal2Token)
		token := *ssLogin(t, s, email, ssPassword).SessionToken

		t.Run("odd bodies", func(t *testing.T) {
			f := mfaAAL2Flow(t, s, token)
			for _, body := range []string{
				`{"method":"totp"}`,
				`{"method":"totp","totp_code":123456}`,
				`{"method":"totp","totp_code":["1","2"]}`,
				`{"method":"totp","totp_code":{"a":1}}`,
				`{"method":"totp","totp_code":"` + strings.Repeat("9", 10000) + `"}`,
				`{"method":"lookup_secret","lookup_secret":null}`,
				`{"method":"lookup_secret"}`,
				`{"method":"webauthn","webauthn_login":"{"}`,
				`{"method":"nonsense"}`,
			} {
				r := doJSON(t, http.MethodPost, f.UI.Action, body, "X-Session-Token", token)
				if r.Status != http.StatusBadRequest {
					t.Errorf("%.60s: %s", body, r)
					continue
				}
				got := ssDecodeFlow(t, r.Body)
				n := len(got.UI.Messages)
				for _, node := range got.UI.Nodes {
					n += len(node.Messages)
				}
				if n == 0 {
					t.Errorf("%.60s: no message on the flow", body)
				}
			}
		})

		t.Run("settings submissions with garbage", func(t *testing.T) {
			f := mfaSettingsFlow(t, s, aal2Token)
			for _, body := range []string{
				`{"method":"totp","totp_code":"garbage"}`,
				`{"method":"lookup_secret","lookup_secret_confirm":true}`,
				`{"method":"lookup_secret","lookup_secret_reveal":"maybe"}`,
			} {
				r := doJSON(t, http.MethodPost, f.UI.Action, body, "X-Session-Token", aal2Token)
				if r.Status != http.StatusBadRequest {
					t.Errorf("%s: %s", body, r)
					continue
				}
				ssDecodeFlow(t, r.Body)
			}
		})

		t.Run("expired flow", func(t *testing.T) {
			f := mfaAAL2Flow(t, s, token)
			time.Sleep(1100 * time.Millisecond)
			r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": mfaCode(t, secret, 1)}, "X-Session-Token", token)
			e := requireEnvelope(t, r, http.StatusGone)
			var top struct {
				UseFlowID string `json:"use_flow_id"`
			}
			_ = json.Unmarshal(r.Body, &top)
			if e.ID != "self_service_flow_expired" || top.UseFlowID == "" {
				t.Fatalf("%s", r)
			}
			nr := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/flows?id="+top.UseFlowID), nil, "X-Session-Token", token, "Accept", "application/json")
			nf := ssDecodeFlow(t, nr.Body)
			ssRequireMessage(t, "ui", nf.UI.Messages, 4010001)
			nf.node(t, "totp_code")
			if string(nf.keys["requested_aal"]) != `"aal2"` {
				t.Errorf("replacement flow requested_aal %s", nf.keys["requested_aal"])
			}
		})
	})
}

// TestSecondFactorThrottled: wrong codes count under security.brute_force;
// once the account must wait, even a right code is refused (4000100 with
// Retry-After) without being looked at.
func TestSecondFactorThrottled(t *testing.T) {
	s := mfaStart(t, testutil.Backends()[0], `
security:
  brute_force:
    free_failures: 2
    base_delay: 1m
`)
	email := "mfa-throttled@example.org"
	secret := mfaSetUpTOTP(t, s, *ssRegister(t, s, email, ssPassword).SessionToken)
	token := *ssLogin(t, s, email, ssPassword).SessionToken
	f := mfaAAL2Flow(t, s, token)
	for range 3 {
		r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": "000000"}, "X-Session-Token", token)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s", r)
		}
	}
	r := doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "totp", "totp_code": mfaCode(t, secret, 1)}, "X-Session-Token", token)
	if r.Status != http.StatusBadRequest || r.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled right code: %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	got := ssDecodeFlow(t, r.Body)
	ssRequireMessage(t, "ui", got.UI.Messages, 4000100)
	if w := mfaWhoami(t, s, token); w.Status != http.StatusForbidden {
		t.Errorf("a throttled code upgraded the session: %s", w)
	}
}
