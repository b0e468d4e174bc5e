package e2e_test

// Helpers of the second-factor suites (mfa_*_test.go).

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"
	"github.com/pquerna/otp/totp"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// mfaConfig turns TOTP and backup codes on, with UIs for every flow and a
// session on registration.
const mfaConfig = ssBrowserConfig + `  methods:
    totp:
      enabled: true
      config:
        issuer: Hoplite Test
    lookup_secret:
      enabled: true
`

func mfaStart(t *testing.T, b testutil.Backend, extra ...string) *testutil.Server {
	t.Helper()
	return testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcMergeYAML(t, append([]string{mfaConfig}, extra...)...)})
}

// mfaCode is the TOTP code of secret for the time step offset steps from
// now. Hoplite accepts the steps next to the current one and refuses a step
// at or before the last one used, so tests use step +1 after a setup made
// with step 0, without waiting for the clock.
func mfaCode(t testing.TB, secret string, offset int) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(offset)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mfaSettingsFlow opens an API settings flow for token and returns it raw.
func mfaSettingsFlow(t testing.TB, s *testutil.Server, token string) ssFlow {
	t.Helper()
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/api"), nil, "X-Session-Token", token, "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("settings init: %s", r)
	}
	return ssDecodeFlow(t, r.Body)
}

// mfaSetUpTOTP sets an authenticator app up through the API settings flow
// of token and returns its secret.
func mfaSetUpTOTP(t testing.TB, s *testutil.Server, token string) string {
	t.Helper()
	f := mfaSettingsFlow(t, s, token)
	n := f.node(t, "totp_secret_key")
	secret, _ := n.Attributes["text"].(map[string]any)["text"].(string)
	if secret == "" {
		t.Fatalf("totp_secret_key node %+v", n)
	}
	body := kratos.NewSubmitSelfServiceSettingsFlowWithTotpMethodBody("totp")
	body.SetTotpCode(mfaCode(t, secret, 0))
	out, res, err := s.Public.V0alpha2Api.SubmitSelfServiceSettingsFlow(context.Background()).Flow(f.ID).XSessionToken(token).
		SubmitSelfServiceSettingsFlowBody(kratos.SubmitSelfServiceSettingsFlowWithTotpMethodBodyAsSubmitSelfServiceSettingsFlowBody(body)).Execute()
	if err != nil {
		t.Fatalf("totp setup: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
		t.Fatalf("totp setup: state %q", out.State)
	}
	return secret
}

// mfaAAL2Flow opens an API login flow asking token's session for a second
// factor.
func mfaAAL2Flow(t testing.TB, s *testutil.Server, token string) ssFlow {
	t.Helper()
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/api?aal=aal2"), nil, "X-Session-Token", token, "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("aal2 login init: %s", r)
	}
	return ssDecodeFlow(t, r.Body)
}

// mfaWhoami returns the status of whoami for token.
func mfaWhoami(t testing.TB, s *testutil.Server, token string) response {
	t.Helper()
	return do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", token, "Accept", "application/json")
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
