package e2e_test

// Account recovery end to end: the request (API and browser), the mail at
// the SMTP server, the link opened in a browser, the privileged settings
// flow it leads to, a new password; invalid, used and expired links and
// flows; the admin recovery link.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

const lcNewPassword = "Fresh-Start-Password-77"

func TestLifecycleRecovery(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		s, box := env.s, env.box
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		const email = "recover@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		if m := box.next(t, email); m.Subject != "Please verify your email address" {
			t.Errorf("registration mail subject %q", m.Subject)
		}

		var apiFlowID, usedLink string
		t.Run("API request, link in a browser, new password", func(t *testing.T) {
			f, res, err := api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatalf("init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			apiFlowID = f.Id
			if f.State != kratos.SELFSERVICERECOVERYFLOWSTATE_CHOOSE_METHOD || f.GetType() != "api" {
				t.Errorf("state %q type %q", f.State, f.GetType())
			}
			raw := lcFetchAny(t, s, nil, "recovery", f.Id)
			ssEqualStrings(t, "nodes", raw.nodeNames(), []string{"csrf_token", "email", "method"})
			if l := raw.node(t, "email").Meta.Label; l == nil || l.ID != 1070007 {
				t.Errorf("email label %+v", l)
			}

			out, res, err := api.SubmitSelfServiceRecoveryFlow(ctx).Flow(f.Id).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute()
			if err != nil {
				t.Fatalf("submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICERECOVERYFLOWSTATE_SENT_EMAIL || out.GetActive() != "link" || out.Id != f.Id {
				t.Errorf("state %q active %q id %s", out.State, out.GetActive(), out.Id)
			}
			if ids := sdkMessageIDs(out.Ui.Messages); !containsID(ids, 1060002) {
				t.Errorf("ui.messages %v, want 1060002", ids)
			}
			after := lcFetchAny(t, s, nil, "recovery", f.Id)
			if v, _ := after.node(t, "email").value(); v != email {
				t.Errorf("email node value %v", v)
			}
			if after.node(t, "email").Meta.Label != nil {
				t.Error("the email node keeps its label after the submission")
			}

			m := box.next(t, email)
			if m.Subject != "Recover access to your account" {
				t.Errorf("subject %q", m.Subject)
			}
			link := m.link(t)
			usedLink = link
			if !strings.HasPrefix(link, s.PublicURL+"self-service/recovery?") || lcQuery(t, link, "flow") != f.Id || len(lcQuery(t, link, "token")) != 32 {
				t.Errorf("recovery link %s", link)
			}

			br := ssNewBrowser(t, s)
			r := br.get(link)
			sid := lcFlowIDFrom(t, r, "settings")
			if ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatalf("no session cookie after the recovery link: %v", r.Header.Values("Set-Cookie"))
			}
			sf := br.fetch("settings", sid)
			ssRequireMessage(t, "settings ui.messages", sf.UI.Messages, 1060001)
			if sf.Type != "browser" || sf.State != "show_form" {
				t.Errorf("settings flow type %q state %q", sf.Type, sf.State)
			}
			var withIdentity struct {
				Identity struct {
					ID string `json:"id"`
				} `json:"identity"`
			}
			_ = json.Unmarshal(br.get(ssFlowURL(s, "/self-service/settings/flows?id="+sid), "Accept", "application/json").Body, &withIdentity)
			if withIdentity.Identity.ID != reg.Identity.Id {
				t.Errorf("settings flow identity %q, want %s", withIdentity.Identity.ID, reg.Identity.Id)
			}
			who := br.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json")
			var sess struct {
				AuthenticationMethods []struct {
					Method string `json:"method"`
				} `json:"authentication_methods"`
			}
			if err := json.Unmarshal(who.Body, &sess); err != nil || len(sess.AuthenticationMethods) == 0 || sess.AuthenticationMethods[0].Method != "link_recovery" {
				t.Errorf("whoami after recovery: %s", who)
			}

			// The recovery flow passed its challenge; the address is verified.
			if rf := lcFetchAny(t, s, nil, "recovery", f.Id); rf.State != "passed_challenge" {
				t.Errorf("recovery flow state %q", rf.State)
			}
			a := lcVerifiable(t, s, reg.Identity.Id, email)
			if !a.Verified || a.Status != "completed" || a.VerifiedAt == nil {
				t.Errorf("address after recovery %+v", a)
			}

			// The privileged session may set a new password.
			r = br.postForm(sf.UI.Action, ssFormFor(t, sf, "method", "password", "password", lcNewPassword))
			if got := lcFlowIDFrom(t, r, "settings"); got != sid {
				t.Errorf("settings success redirect to flow %s, want %s", got, sid)
			}
			done := br.fetch("settings", sid)
			if done.State != "success" {
				t.Errorf("settings state %q", done.State)
			}
			ssRequireMessage(t, "settings ui.messages", done.UI.Messages, 1050001)
			lcLoginFails(t, s, email, ssPassword)
			ssLogin(t, s, email, lcNewPassword)
		})

		t.Run("browser request", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			f := br.initFlow("recovery", "")
			if f.Type != "browser" || len(f.csrf(t)) != 88 || f.State != "choose_method" {
				t.Errorf("type %q state %q csrf %q", f.Type, f.State, f.csrf(t))
			}
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "link", "email", email))
			if got := lcFlowIDFrom(t, r, "recovery"); got != f.ID {
				t.Errorf("redirect to flow %s, want %s", got, f.ID)
			}
			sent := br.fetch("recovery", f.ID)
			if sent.State != "sent_email" || sent.Active != "link" {
				t.Errorf("state %q active %q", sent.State, sent.Active)
			}
			ssRequireMessage(t, "ui.messages", sent.UI.Messages, 1060002)

			link := box.next(t, email).link(t)
			r = br.get(link)
			sid := lcFlowIDFrom(t, r, "settings")
			ssRequireMessage(t, "settings ui.messages", br.fetch("settings", sid).UI.Messages, 1060001)
			if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
				t.Error("no session after recovery")
			}
			// The anti-CSRF cookie was renewed; the recovery flow moved to it.
			if nc := ssSetCookie(r, br.csrfCookieName()); nc == nil {
				t.Error("the recovery did not renew the anti-CSRF cookie")
			}
			if rf := br.fetch("recovery", f.ID); rf.State != "passed_challenge" || len(rf.csrf(t)) != 88 {
				t.Errorf("recovery flow after the link: state %q", rf.State)
			}
		})

		t.Run("a used link opens a new flow with 4060004", func(t *testing.T) {
			if usedLink == "" {
				t.Fatal("no link from the first subtest")
			}
			br := ssNewBrowser(t, s)
			r := br.get(usedLink)
			id := lcFlowIDFrom(t, r, "recovery")
			if id == lcQuery(t, usedLink, "flow") {
				t.Error("the used link was answered with the old flow")
			}
			if ssSetCookie(r, "ory_kratos_session") != nil {
				t.Error("a used link signed the browser in")
			}
			nf := br.fetch("recovery", id)
			ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4060004)
			if nf.Type != "browser" || nf.State != "choose_method" {
				t.Errorf("new flow type %q state %q", nf.Type, nf.State)
			}
			// The new flow works: it takes an email.
			r = br.postForm(nf.UI.Action, ssFormFor(t, nf, "method", "link", "email", email))
			if got := lcFlowIDFrom(t, r, "recovery"); got != id {
				t.Errorf("submit of the new flow: flow %s", got)
			}
			box.next(t, email)
		})

		t.Run("an invalid token opens a new flow with 4060004", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			f := br.initFlow("recovery", "")
			r := br.get(ssFlowURL(s, "/self-service/recovery?flow="+f.ID+"&token=not-a-real-token-at-all"))
			id := lcFlowIDFrom(t, r, "recovery")
			if id == f.ID {
				t.Error("the invalid token was answered with the old flow")
			}
			ssRequireMessage(t, "ui.messages", br.fetch("recovery", id).UI.Messages, 4060004)
			// The link of an API flow is opened in a browser too.
			r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery?flow="+apiFlowID+"&token=not-a-real-token-at-all"), nil, "Accept", browserAccept)
			lcFlowIDFrom(t, r, "recovery")
		})

		t.Run("a passed challenge cannot be submitted again", func(t *testing.T) {
			f, _, err := api.GetSelfServiceRecoveryFlow(ctx).Id(apiFlowID).Execute()
			if err != nil || f.State != kratos.SELFSERVICERECOVERYFLOWSTATE_PASSED_CHALLENGE {
				t.Fatalf("flow %v %+v", err, f)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/recovery?flow="+apiFlowID), map[string]any{"method": "link", "email": email})
			if r.Status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body %s", r.Status, r.Body)
			}
			loc := ssLocation(t, r)
			if ssWithoutQuery(loc) != s.PublicURL+"self-service/recovery/flows" || loc.Query().Get("id") == apiFlowID {
				t.Fatalf("Location %s", loc)
			}
			nf := lcFetchAny(t, s, nil, "recovery", loc.Query().Get("id"))
			ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4060001)
			if nf.Type != "api" {
				t.Errorf("new flow type %q", nf.Type)
			}
			// The SDK follows the redirect and reads the new flow.
			out, res, err := api.SubmitSelfServiceRecoveryFlow(ctx).Flow(apiFlowID).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(email, "")).Execute()
			if err != nil || out.Id == apiFlowID || !containsID(sdkMessageIDs(out.Ui.Messages), 4060001) {
				t.Errorf("SDK: %v (%d) %+v", err, sdkStatus(res), out)
			}
			box.none(t, email, 300*time.Millisecond)
		})

		t.Run("an unknown address gets the invalid template", func(t *testing.T) {
			const nobody = "nobody-here@example.org"
			f, _, err := api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := api.SubmitSelfServiceRecoveryFlow(ctx).Flow(f.Id).
				SubmitSelfServiceRecoveryFlowBody(lcRecoveryLinkBody(nobody, "")).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICERECOVERYFLOWSTATE_SENT_EMAIL || !containsID(sdkMessageIDs(out.Ui.Messages), 1060002) {
				t.Errorf("state %q messages %v", out.State, sdkMessageIDs(out.Ui.Messages))
			}
			m := box.next(t, nobody)
			if m.Subject == "Recover access to your account" || m.Subject == "" {
				t.Errorf("subject %q, want the invalid-address template's", m.Subject)
			}
			if !strings.Contains(m.Text, nobody) || lcLinkRE.MatchString(m.Text) || lcLinkRE.MatchString(m.HTML) {
				t.Errorf("invalid-address mail body:\n%s", m.Text)
			}
		})

		t.Run("a malformed address is a form error", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/recovery?flow="+f.Id), map[string]any{"method": "link", "email": "not-an-address"})
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "email", got.node(t, "email").Messages, 4000001)
			if got.State != "choose_method" {
				t.Errorf("state %q", got.State)
			}
		})

		t.Run("not while signed in", func(t *testing.T) {
			token := *ssLogin(t, s, email, lcNewPassword).SessionToken
			_, res, err := ssTokenSDK(s, token).V0alpha2Api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Errorf("API init with a session: status %d (%v)", sdkStatus(res), err)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery/api"), nil, "X-Session-Token", token)
			if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "" || !strings.Contains(e.Reason, "session") {
				t.Errorf("error %+v", e)
			}
			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, email, lcNewPassword)
			r = br.get(ssFlowURL(s, "/self-service/recovery/browser"))
			if r.Status != http.StatusFound || r.Header.Get("Location") != ssUI {
				t.Errorf("browser init with a session: status %d Location %q, want 302 to %s", r.Status, r.Header.Get("Location"), ssUI)
			}
			r = br.get(ssFlowURL(s, "/self-service/recovery/browser"), "Accept", "application/json")
			requireEnvelope(t, r, http.StatusBadRequest)
		})
	})
}

func TestLifecycleRecoveryExpiredFlow(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, "selfservice:\n  flows:\n    recovery:\n      lifespan: 1s\n")
		s := env.s
		ctx := context.Background()
		ssRegister(t, s, "late-recovery@example.org", ssPassword)
		env.box.next(t, "late-recovery@example.org") // the verification mail

		br := ssNewBrowser(t, s)
		bf := br.initFlow("recovery", "")
		af, _, err := s.Public.V0alpha2Api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)

		t.Run("browser", func(t *testing.T) {
			r := br.postForm(bf.UI.Action, ssFormFor(t, bf, "method", "link", "email", "late-recovery@example.org"))
			id := lcFlowIDFrom(t, r, "recovery")
			if id == bf.ID {
				t.Fatal("answered with the expired flow")
			}
			nf := br.fetch("recovery", id)
			m := ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4060005)
			if m.Type != "error" || m.Context["expired_at"] == nil {
				t.Errorf("message %+v", m)
			}
			if nf.State != "choose_method" {
				t.Errorf("state %q", nf.State)
			}
		})

		t.Run("API", func(t *testing.T) {
			b2 := ssNewBrowser(t, s) // keeps the anti-CSRF cookie the new flow is bound to
			r := b2.do(http.MethodPost, ssFlowURL(s, "/self-service/recovery?flow="+af.Id),
				strings.NewReader(`{"method":"link","email":"late-recovery@example.org"}`),
				"Content-Type", "application/json", "Accept", "application/json")
			if r.Status != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body %s", r.Status, r.Body)
			}
			loc := ssLocation(t, r)
			id := loc.Query().Get("id")
			if ssWithoutQuery(loc) != s.PublicURL+"self-service/recovery/flows" || id == "" || id == af.Id {
				t.Fatalf("Location %s", loc)
			}
			nf := b2.fetch("recovery", id)
			ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4060005)
			if nf.Type != "browser" {
				t.Errorf("the replacement of an expired API recovery flow has type %q, want browser", nf.Type)
			}
		})

		t.Run("fetch", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery/flows?id="+af.Id), nil, "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusGone); e.ID != "" {
				t.Errorf("expired recovery fetch: id %q, Kratos sends none", e.ID)
			}
		})
		env.box.none(t, "late-recovery@example.org", 0)
	})
}

func TestLifecycleRecoveryDisabled(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssBrowserConfig})
		_, res, err := s.Public.V0alpha2Api.InitializeSelfServiceRecoveryFlowWithoutBrowser(context.Background()).Execute()
		if sdkStatus(res) != http.StatusBadRequest || !strings.Contains(sdkErrorBody(err), "disabled") {
			t.Errorf("API init: status %d %s", sdkStatus(res), sdkErrorBody(err))
		}
		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery/browser"), nil, "Accept", "application/json")
		requireEnvelope(t, r, http.StatusBadRequest)
		r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery/browser"), nil, "Accept", browserAccept)
		if e := ssErrorFromUI(t, s, r); e.Code != http.StatusBadRequest {
			t.Errorf("browser init: %+v", e)
		}
		r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/recovery?flow=00000000-0000-4000-8000-000000000000"), map[string]any{"method": "link", "email": "x@example.org"})
		requireEnvelope(t, r, http.StatusBadRequest)
		// The admin recovery link is the link method's, which is still on.
		i := createIdentity(t, s, "disabled-recovery@example.org")
		link, res, err := s.Admin.V0alpha2Api.AdminCreateSelfServiceRecoveryLink(context.Background()).
			AdminCreateSelfServiceRecoveryLinkBody(*kratos.NewAdminCreateSelfServiceRecoveryLinkBody(i.ID)).Execute()
		if err != nil || link.RecoveryLink == "" {
			t.Errorf("admin link with recovery disabled: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
	})
}

func TestLifecycleAdminRecoveryLink(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		s := env.s
		ctx := context.Background()
		admin := s.Admin.V0alpha2Api
		const email = "admin-link@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		env.box.next(t, email) // the verification mail

		t.Run("the link recovers the account", func(t *testing.T) {
			body := kratos.NewAdminCreateSelfServiceRecoveryLinkBody(reg.Identity.Id)
			body.SetExpiresIn("30m")
			before := time.Now()
			link, res, err := admin.AdminCreateSelfServiceRecoveryLink(ctx).AdminCreateSelfServiceRecoveryLinkBody(*body).Execute()
			if err != nil || sdkStatus(res) != http.StatusOK {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if !strings.HasPrefix(link.RecoveryLink, s.PublicURL+"self-service/recovery?") || lcQuery(t, link.RecoveryLink, "token") == "" {
				t.Errorf("recovery_link %q", link.RecoveryLink)
			}
			exp := link.GetExpiresAt()
			if exp.Before(before.Add(29*time.Minute)) || exp.After(time.Now().Add(31*time.Minute)) {
				t.Errorf("expires_at %v, want about 30 minutes from now", exp)
			}
			br := ssNewBrowser(t, s)
			r := br.get(link.RecoveryLink)
			sid := lcFlowIDFrom(t, r, "settings")
			if ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatal("no session cookie")
			}
			sf := br.fetch("settings", sid)
			ssRequireMessage(t, "settings ui.messages", sf.UI.Messages, 1060001)
			r = br.postForm(sf.UI.Action, ssFormFor(t, sf, "method", "password", "password", lcNewPassword))
			lcFlowIDFrom(t, r, "settings")
			ssLogin(t, s, email, lcNewPassword)
			// Used once.
			r = ssNewBrowser(t, s).get(link.RecoveryLink)
			lcFlowIDFrom(t, r, "recovery")
			env.box.none(t, email, 0)
		})

		t.Run("default expiry is the link lifespan", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, adminURL(s, "recovery/link"), map[string]any{"identity_id": reg.Identity.Id})
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var out map[string]any
			if err := json.Unmarshal(r.Body, &out); err != nil {
				t.Fatal(err)
			}
			exp, err := time.Parse(time.RFC3339Nano, out["expires_at"].(string))
			if err != nil || exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
				t.Errorf("expires_at %v, want an hour from now", out["expires_at"])
			}
			if len(out) != 2 || out["recovery_link"] == nil {
				t.Errorf("body %s", r.Body)
			}
		})

		t.Run("errors", func(t *testing.T) {
			_, res, err := admin.AdminCreateSelfServiceRecoveryLink(ctx).
				AdminCreateSelfServiceRecoveryLinkBody(*kratos.NewAdminCreateSelfServiceRecoveryLinkBody("9f0e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b")).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Errorf("unknown identity: status %d (%v), want 400", sdkStatus(res), err)
			}
			for _, bad := range []string{"soon", "-5m", "10"} {
				r := doJSON(t, http.MethodPost, adminURL(s, "recovery/link"), map[string]any{"identity_id": reg.Identity.Id, "expires_in": bad})
				requireEnvelope(t, r, http.StatusBadRequest)
			}
			r := doJSON(t, http.MethodPost, adminURL(s, "recovery/link"), map[string]any{"identity_id": "not-a-uuid"})
			requireEnvelope(t, r, http.StatusBadRequest)
		})

		t.Run("the public port redirects to the admin port", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/recovery/link"), map[string]any{"identity_id": reg.Identity.Id})
			if r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") != s.AdminURL+"admin/recovery/link" {
				t.Errorf("status %d Location %q", r.Status, r.Header.Get("Location"))
			}
		})
	})
}

func TestLifecycleAdminRecoveryLinkMethodDisabled(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: `
selfservice:
  methods:
    link:
      enabled: false
`})
		i := createIdentity(t, s, "no-link@example.org")
		r := doJSON(t, http.MethodPost, adminURL(s, "recovery/link"), map[string]any{"identity_id": i.ID})
		requireEnvelope(t, r, http.StatusNotFound)
		_, res, _ := s.Admin.V0alpha2Api.AdminCreateSelfServiceRecoveryLink(context.Background()).
			AdminCreateSelfServiceRecoveryLinkBody(*kratos.NewAdminCreateSelfServiceRecoveryLinkBody(i.ID)).Execute()
		if sdkStatus(res) != http.StatusNotFound {
			t.Errorf("SDK: status %d", sdkStatus(res))
		}
	})
}

func TestLifecycleExpiredLinks(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, "selfservice:\n  methods:\n    link:\n      config:\n        lifespan: 1s\n")
		s, box := env.s, env.box
		const email = "slow-reader@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		verifyLink := box.next(t, email).link(t)

		br := ssNewBrowser(t, s)
		f := br.initFlow("recovery", "")
		lcFlowIDFrom(t, br.postForm(f.UI.Action, ssFormFor(t, f, "method", "link", "email", email)), "recovery")
		recoverLink := box.next(t, email).link(t)
		time.Sleep(1100 * time.Millisecond)

		t.Run("recovery", func(t *testing.T) {
			r := br.get(recoverLink)
			id := lcFlowIDFrom(t, r, "recovery")
			if id == f.ID {
				t.Fatal("answered with the old flow")
			}
			if ssSetCookie(r, "ory_kratos_session") != nil {
				t.Error("an expired link signed the browser in")
			}
			nf := br.fetch("recovery", id)
			m := ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4060005)
			if m.Context["expired_at"] == nil {
				t.Errorf("message %+v", m)
			}
			// The link is used up.
			id2 := lcFlowIDFrom(t, br.get(recoverLink), "recovery")
			ssRequireMessage(t, "ui.messages", br.fetch("recovery", id2).UI.Messages, 4060004)
		})

		t.Run("verification", func(t *testing.T) {
			// The registration was an API flow, so is its verification flow:
			// the answer points at the new flow's JSON document.
			b2 := ssNewBrowser(t, s)
			r := b2.get(verifyLink)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("%s", r)
			}
			loc := ssLocation(t, r)
			if ssWithoutQuery(loc) != s.PublicURL+"self-service/verification/flows" || loc.Query().Get("id") == lcQuery(t, verifyLink, "flow") {
				t.Fatalf("Location %s", loc)
			}
			fr := b2.get(loc.String(), "Accept", "application/json")
			if fr.Status != http.StatusOK {
				t.Fatalf("%s", fr)
			}
			ssRequireMessage(t, "ui.messages", ssDecodeFlow(t, fr.Body).UI.Messages, 4070005)
			if a := lcVerifiable(t, s, reg.Identity.Id, email); a.Verified {
				t.Errorf("an expired link verified the address: %+v", a)
			}
		})
	})
}
