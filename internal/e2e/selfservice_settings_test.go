package e2e_test

// Settings flows: the session they need, what they show, and smoke tests of
// changing the password and the profile (with and without a recent login).

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

func ssSettingsPassword(password string) kratos.SubmitSelfServiceSettingsFlowBody {
	return kratos.SubmitSelfServiceSettingsFlowWithPasswordMethodBodyAsSubmitSelfServiceSettingsFlowBody(
		kratos.NewSubmitSelfServiceSettingsFlowWithPasswordMethodBody("password", password))
}

func TestSelfServiceSettings(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssBrowserConfig})
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		t.Run("without a session", func(t *testing.T) {
			_, res, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).Execute()
			if sdkStatus(res) != http.StatusUnauthorized {
				t.Fatalf("API init: status %d (%v), want 401", sdkStatus(res), err)
			}
			var env struct{ Error errorBody }
			if err := json.Unmarshal([]byte(sdkErrorBody(err)), &env); err != nil {
				t.Fatal(err)
			}
			if env.Error.ID != "session_inactive" {
				t.Errorf("API init error %+v", env.Error)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/browser"), nil, "Accept", browserAccept)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI+"login" {
				t.Errorf("browser init: status %d Location %q, want 303 to the login UI", r.Status, r.Header.Get("Location"))
			}
			r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/browser"), nil, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusUnauthorized); e.ID != "session_inactive" {
				t.Errorf("browser init as JSON: %+v", e)
			}
		})

		reg := ssRegister(t, s, "settings@example.org", ssPassword)
		token := *ssLogin(t, s, "settings@example.org", ssPassword).SessionToken

		t.Run("API flow with a session", func(t *testing.T) {
			f, res, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if f.Identity.Id != reg.Identity.Id || f.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SHOW_FORM || f.GetType() != "api" {
				t.Errorf("identity %s state %q type %q", f.Identity.Id, f.State, f.GetType())
			}
			got, res, err := api.GetSelfServiceSettingsFlow(ctx).Id(f.Id).XSessionToken(token).Execute()
			if err != nil || got.Id != f.Id {
				t.Fatalf("fetch: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.Id), nil, "X-Session-Token", token)
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			raw := ssDecodeFlow(t, r.Body)
			for _, k := range []string{"identity", "state"} {
				if !raw.has(k) {
					t.Errorf("settings flow lacks %q", k)
				}
			}
			for _, k := range []string{"refresh", "requested_aal", "created_at", "updated_at"} {
				if raw.has(k) {
					t.Errorf("settings flow has %q", k)
				}
			}
			if v, _ := raw.node(t, "traits.email").value(); v != "settings@example.org" {
				t.Errorf("profile traits.email value %v", v)
			}
			// Fetching without the session is refused.
			r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.Id), nil, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusUnauthorized); e.ID != "" {
				t.Errorf("settings fetch without a session: id %q, Kratos sends none here", e.ID)
			}
		})

		t.Run("browser flow with a session", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			lf := br.initFlow("login", "")
			r := br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", "settings@example.org", "password", ssPassword))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("login: %s", r)
			}
			f := br.initFlow("settings", "")
			if f.State != "show_form" || f.Type != "browser" || len(f.csrf(t)) != 88 {
				t.Errorf("state %q type %q", f.State, f.Type)
			}
		})

		t.Run("profile change", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			body := kratos.SubmitSelfServiceSettingsFlowWithProfileMethodBodyAsSubmitSelfServiceSettingsFlowBody(
				kratos.NewSubmitSelfServiceSettingsFlowWithProfileMethodBody("profile", map[string]any{
					"email": "settings@example.org", "name": map[string]any{"first": "Grace"},
				}))
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).SubmitSelfServiceSettingsFlowBody(body).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Errorf("state %q", out.State)
			}
			name := out.Identity.Traits.(map[string]any)["name"].(map[string]any)
			if name["first"] != "Grace" {
				t.Errorf("traits %v", out.Identity.Traits)
			}
			if ids := sdkMessageIDs(out.Ui.Messages); !containsID(ids, 1050001) {
				t.Errorf("ui.messages %v, want 1050001", ids)
			}
		})

		t.Run("password change", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			const newPassword = "Another-Long-Secret-42"
			out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(ssSettingsPassword(newPassword)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICESETTINGSFLOWSTATE_SUCCESS {
				t.Errorf("state %q", out.State)
			}
			lf, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			_, res, err = api.SubmitSelfServiceLoginFlow(ctx).Flow(lf.Id).
				SubmitSelfServiceLoginFlowBody(ssPasswordLogin("settings@example.org", ssPassword)).Execute()
			if ids := sdkMessageIDs(ssLoginFlowModel(t, res, err).Ui.Messages); !containsID(ids, 4000006) {
				t.Errorf("old password: ui.messages %v, want 4000006", ids)
			}
			ssLogin(t, s, "settings@example.org", newPassword)
		})

		t.Run("password policy applies", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			_, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(ssSettingsPassword("short")).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Fatalf("status %d (%v)", sdkStatus(res), err)
			}
			raw := do(t, http.MethodGet, ssFlowURL(s, "/self-service/settings/flows?id="+f.Id), nil, "X-Session-Token", token)
			got := ssDecodeFlow(t, raw.Body)
			ssRequireMessage(t, "password", got.node(t, "password").Messages, 4000005)
		})
	})
}

func TestSelfServiceSettingsNeedsRecentLogin(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: `
selfservice:
  flows:
    settings:
      privileged_session_max_age: 1s
`})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	ssRegister(t, s, "stale@example.org", ssPassword)
	token := *ssLogin(t, s, "stale@example.org", ssPassword).SessionToken
	time.Sleep(1100 * time.Millisecond)

	f, _, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
	if err != nil {
		t.Fatal(err)
	}
	r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
		map[string]any{"method": "password", "password": "Another-Long-Secret-42"}, "X-Session-Token", token)
	e := requireEnvelope(t, r, http.StatusForbidden)
	if e.ID != "session_refresh_required" {
		t.Fatalf("error %+v", e)
	}
	var extra struct {
		RedirectBrowserTo string `json:"redirect_browser_to"`
	}
	if err := json.Unmarshal(r.Body, &extra); err != nil {
		t.Fatal(err)
	}
	to, err := url.Parse(extra.RedirectBrowserTo)
	if err != nil || ssWithoutQuery(to) != s.PublicURL+"self-service/login/browser" || to.Query().Get("refresh") != "true" {
		t.Fatalf("redirect_browser_to %q", extra.RedirectBrowserTo)
	}
	if rt := to.Query().Get("return_to"); !strings.HasPrefix(rt, s.PublicURL+"self-service/settings") {
		t.Errorf("return_to %q", rt)
	}
	// The password did not change.
	ssLogin(t, s, "stale@example.org", ssPassword)

	// A non-identifier trait may still change.
	body := kratos.SubmitSelfServiceSettingsFlowWithProfileMethodBodyAsSubmitSelfServiceSettingsFlowBody(
		kratos.NewSubmitSelfServiceSettingsFlowWithProfileMethodBody("profile", map[string]any{
			"email": "stale@example.org", "name": map[string]any{"last": "Hopper"},
		}))
	if _, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).SubmitSelfServiceSettingsFlowBody(body).Execute(); err != nil {
		t.Errorf("profile change of a non-identifier trait: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	// Changing the identifier needs a recent login.
	body = kratos.SubmitSelfServiceSettingsFlowWithProfileMethodBodyAsSubmitSelfServiceSettingsFlowBody(
		kratos.NewSubmitSelfServiceSettingsFlowWithProfileMethodBody("profile", map[string]any{"email": "moved@example.org"}))
	_, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).SubmitSelfServiceSettingsFlowBody(body).Execute()
	if sdkStatus(res) != http.StatusForbidden || !strings.Contains(sdkErrorBody(err), "session_refresh_required") {
		t.Errorf("identifier change: status %d %s", sdkStatus(res), sdkErrorBody(err))
	}
}
