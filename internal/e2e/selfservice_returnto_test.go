package e2e_test

// return_to end to end: forbidden targets stop a flow at its start, allowed
// ones are where the browser lands after signing in.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestSelfServiceReturnTo(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: ssBrowserConfig + `
  allowed_return_urls:
    - https://app.example.com/dashboard
    - https://*.tenants.example.org
`})
	ssRegister(t, s, "return.to@example.org", ssPassword)
	loginInit := func(returnTo string) string {
		return ssFlowURL(s, "/self-service/login/browser?return_to="+url.QueryEscape(returnTo))
	}

	t.Run("forbidden, JSON", func(t *testing.T) {
		r := do(t, http.MethodGet, loginInit("https://evil.example.com/"), nil, "Accept", "application/json")
		e := requireEnvelope(t, r, http.StatusBadRequest)
		if e.ID != "self_service_flow_return_to_forbidden" || !strings.Contains(e.Reason, "https://evil.example.com/") {
			t.Errorf("error %+v", e)
		}
		r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/browser?return_to="+url.QueryEscape("https://evil.example.com/")), nil, "Accept", "application/json")
		if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "self_service_flow_return_to_forbidden" {
			t.Errorf("registration: %+v", e)
		}
	})

	t.Run("forbidden, browser", func(t *testing.T) {
		r := do(t, http.MethodGet, loginInit("https://app.example.com.evil.com/dashboard"), nil, "Accept", browserAccept)
		if e := ssErrorFromUI(t, s, r); e.ID != "self_service_flow_return_to_forbidden" || e.Code != http.StatusBadRequest {
			t.Errorf("stored error %+v", e)
		}
	})

	for _, target := range []string{"https://app.example.com/dashboard/projects?id=7", "https://acme.tenants.example.org/"} {
		t.Run("allowed "+target, func(t *testing.T) {
			br := ssNewBrowser(t, s)
			f := br.initFlow("login", "return_to="+url.QueryEscape(target))
			if f.ReturnTo != target {
				t.Errorf("flow return_to %q, want %q", f.ReturnTo, target)
			}
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "return.to@example.org", "password", ssPassword))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != target {
				t.Fatalf("status %d Location %q, want 303 to %s; body %s", r.Status, r.Header.Get("Location"), target, r.Body)
			}
		})
	}

	t.Run("registration lands on return_to", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		const target = "https://app.example.com/dashboard/welcome"
		f := br.initFlow("registration", "return_to="+url.QueryEscape(target))
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "return.to.reg@example.org"))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != target {
			t.Fatalf("status %d Location %q; body %s", r.Status, r.Header.Get("Location"), r.Body)
		}
		// Signed in now: starting login again follows an allowed return_to,
		// starting registration goes to the default URL (as Kratos v0.9).
		const back = "https://app.example.com/dashboard/again"
		for kind, want := range map[string]string{"login": back, "registration": ssUI} {
			r := br.get(ssFlowURL(s, "/self-service/"+kind+"/browser?return_to="+url.QueryEscape(back)))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("%s init while signed in: status %d Location %q, want %q", kind, r.Status, r.Header.Get("Location"), want)
			}
		}
	})

	t.Run("logout return_to", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		if r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "return.to@example.org", "password", ssPassword)); r.Status != http.StatusSeeOther {
			t.Fatalf("login: %s", r)
		}
		r := br.get(ssFlowURL(s, "/self-service/logout/browser?return_to="+url.QueryEscape("https://evil.example.com/")), "Accept", "application/json")
		if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "self_service_flow_return_to_forbidden" {
			t.Errorf("forbidden logout return_to: %+v", e)
		}
		const target = "https://app.example.com/dashboard/bye"
		r = br.get(ssFlowURL(s, "/self-service/logout/browser?return_to="+url.QueryEscape(target)), "Accept", "application/json")
		if r.Status != http.StatusOK {
			t.Fatalf("%s", r)
		}
		lo := decode[struct {
			LogoutURL string `json:"logout_url"`
		}](t, r)
		r = br.get(lo.LogoutURL)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != target {
			t.Fatalf("logout: status %d Location %q", r.Status, r.Header.Get("Location"))
		}
	})
}
