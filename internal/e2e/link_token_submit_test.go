package e2e_test

// A recovery or verification submission that carries a link's token is the
// link being used, whatever the HTTP method, body or Accept header: Kratos
// checks the token (not the anti-CSRF cookie) and always answers 303. These
// are the exact requests a third-party client sent when it found Hoplite
// answering 200 and 403 instead.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// noRedirectSDK is a public SDK client that shows redirects instead of
// following them, and sends no cookies.
func noRedirectSDK(s *testutil.Server) *kratos.APIClient {
	c := kratos.NewConfiguration()
	c.Servers = kratos.ServerConfigurations{{URL: strings.TrimSuffix(s.PublicURL, "/")}}
	c.HTTPClient = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return kratos.NewAPIClient(c)
}

func TestLinkTokenSubmittedByPost(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		s, box := env.s, env.box
		ctx := context.Background()
		api := noRedirectSDK(s).V0alpha2Api

		const email = "post-link@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		box.next(t, email) // the verification mail sent at registration

		t.Run("verification token with a JSON body answers 303 and verifies", func(t *testing.T) {
			flowID := lcRequestVerification(t, s, email)
			token := lcQuery(t, box.next(t, email).link(t), "token")
			_, res, _ := api.SubmitSelfServiceVerificationFlow(ctx).Flow(flowID).Token(token).
				SubmitSelfServiceVerificationFlowBody(lcVerificationLinkBody(email, "")).Execute()
			if sdkStatus(res) != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", sdkStatus(res))
			}
			if loc := res.Header.Get("Location"); loc == "" {
				t.Error("no Location")
			}
			if a := lcVerifiable(t, s, reg.Identity.Id, email); !a.Verified || a.Status != "completed" {
				t.Errorf("address after the link: %+v", a)
			}
		})

		t.Run("recovery token with a JSON body answers 303 to settings with a session", func(t *testing.T) {
			flowID := lcRequestRecovery(t, s, email)
			token := lcQuery(t, box.next(t, email).link(t), "token")
			_, res, _ := api.SubmitSelfServiceRecoveryFlow(ctx).Flow(flowID).Token(token).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute()
			if sdkStatus(res) != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", sdkStatus(res))
			}
			if loc := res.Header.Get("Location"); !strings.Contains(loc, "settings") {
				t.Errorf("Location %q, want the settings UI", loc)
			}
			if !hasSetCookie(res, "ory_kratos_session") {
				t.Errorf("no session cookie: %v", res.Header.Values("Set-Cookie"))
			}
		})

		t.Run("admin recovery link posted without cookies answers 303", func(t *testing.T) {
			body := kratos.NewAdminCreateSelfServiceRecoveryLinkBody(reg.Identity.Id)
			link, res, err := s.Admin.V0alpha2Api.AdminCreateSelfServiceRecoveryLink(ctx).AdminCreateSelfServiceRecoveryLinkBody(*body).Execute()
			if err != nil {
				t.Fatalf("%v (%d)", err, sdkStatus(res))
			}
			flowID, token := lcQuery(t, link.RecoveryLink, "flow"), lcQuery(t, link.RecoveryLink, "token")
			_, res, _ = api.SubmitSelfServiceRecoveryFlow(ctx).Flow(flowID).Token(token).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute()
			if sdkStatus(res) != http.StatusSeeOther {
				t.Fatalf("status %d, want 303", sdkStatus(res))
			}
			if !hasSetCookie(res, "ory_kratos_session") {
				t.Errorf("no session cookie: %v", res.Header.Values("Set-Cookie"))
			}
			// The token is single use: the same request again is sent to a
			// new flow carrying the invalid-token message.
			_, res, _ = api.SubmitSelfServiceRecoveryFlow(ctx).Flow(flowID).Token(token).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute()
			if sdkStatus(res) != http.StatusSeeOther || hasSetCookie(res, "ory_kratos_session") {
				t.Errorf("replayed link: status %d cookies %v", sdkStatus(res), res.Header.Values("Set-Cookie"))
			}
		})
	})
}

func hasSetCookie(res *http.Response, name string) bool {
	if res == nil {
		return false
	}
	for _, c := range res.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}
