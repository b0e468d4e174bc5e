package e2e_test

// Address verification end to end: the mails sent after registration, the
// verification flow (API and browser), the link and where it lands, bad and
// used links, unknown addresses; and the login hooks that depend on it
// (require_verified_address) or end other sessions (revoke_active_sessions).

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// lcTwoAddressSchema has a second verifiable address, backup, that is not
// an identifier.
const lcTwoAddressSchema = `{
  "$id": "https://hoplite.example/schemas/two-addresses.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "ory.sh/kratos": {
            "credentials": {"password": {"identifier": true}},
            "verification": {"via": "email"},
            "recovery": {"via": "email"}
          }
        },
        "backup": {
          "type": "string",
          "format": "email",
          "title": "Backup e-mail",
          "ory.sh/kratos": {"verification": {"via": "email"}}
        }
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}`

func lcTwoAddressConfig() string {
	return `
identity:
  default_schema_id: two
  schemas:
    - id: two
      url: ` + lcBase64(lcTwoAddressSchema) + `
selfservice:
  allowed_return_urls:
    - http://127.0.0.1:4455/
`
}

// lcRegisterTraits signs up with the given traits through an API flow.
func lcRegisterTraits(t testing.TB, s *testutil.Server, traits map[string]any) *kratos.SuccessfulSelfServiceRegistrationWithoutBrowser {
	t.Helper()
	ctx := context.Background()
	f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatal(err)
	}
	out, res, err := s.Public.V0alpha2Api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
		SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(ssPassword, traits)).Execute()
	if err != nil {
		t.Fatalf("registration: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	return out
}

func TestLifecycleVerification(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, lcTwoAddressConfig())
		s, box := env.s, env.box
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		const email, backup = "verify-me@example.org", "verify-backup@example.org"
		reg := lcRegisterTraits(t, s, map[string]any{"email": email, "backup": backup})
		var backupLink string

		t.Run("registration mails every address", func(t *testing.T) {
			for _, addr := range []string{email, backup} {
				a := lcVerifiable(t, s, reg.Identity.Id, addr)
				if a.Status != "sent" || a.Verified || a.VerifiedAt != nil {
					t.Errorf("%s: %+v, want status sent", addr, a)
				}
			}
			// The registration answer was written before the mails went out.
			for _, a := range reg.Identity.VerifiableAddresses {
				if a.Verified {
					t.Errorf("registration answer: %+v", a)
				}
			}
			primary := box.next(t, email)
			backupMail := box.next(t, backup)
			backupLink = backupMail.link(t)
			for _, m := range []lcMail{primary, backupMail} {
				if m.Subject != "Please verify your email address" {
					t.Errorf("subject %q", m.Subject)
				}
				if m.Parsed.ContentType != "multipart/alternative" || m.Text == "" || m.HTML == "" {
					t.Errorf("mail is %s with text %d bytes and HTML %d bytes, want multipart plain+HTML", m.Parsed.ContentType, len(m.Text), len(m.HTML))
				}
			}
			link := primary.link(t)
			if !strings.HasPrefix(link, s.PublicURL+"self-service/verification?") || len(lcQuery(t, link, "token")) != 32 {
				t.Fatalf("verification link %s", link)
			}
			flowID := lcQuery(t, link, "flow")

			// The mail is opened in some browser.
			br := ssNewBrowser(t, s)
			r := br.get(link)
			if got := lcFlowIDFrom(t, r, "verification"); got != flowID {
				t.Errorf("landed on flow %s, want the link's %s", got, flowID)
			}
			f := br.fetch("verification", flowID)
			if f.State != "passed_challenge" {
				t.Errorf("state %q", f.State)
			}
			ssRequireMessage(t, "ui.messages", f.UI.Messages, 1080002)
			a := lcVerifiable(t, s, reg.Identity.Id, email)
			if !a.Verified || a.Status != "completed" || a.VerifiedAt == nil || time.Since(*a.VerifiedAt) > time.Minute {
				t.Errorf("verified address %+v", a)
			}
			if a := lcVerifiable(t, s, reg.Identity.Id, backup); a.Verified || a.Status != "sent" {
				t.Errorf("the backup address changed too: %+v", a)
			}
			// The SDK sees the same.
			got, _, err := s.Admin.V0alpha2Api.AdminGetIdentity(ctx, reg.Identity.Id).Execute()
			if err != nil {
				t.Fatal(err)
			}
			for _, va := range got.VerifiableAddresses {
				if va.Value == email && (!va.Verified || va.Status != "completed" || va.VerifiedAt == nil) {
					t.Errorf("SDK address %+v", va)
				}
			}

			// The link works once.
			r = br.get(link)
			id := lcFlowIDFrom(t, r, "verification")
			if id == flowID {
				t.Error("a used link was answered with its flow")
			}
			ssRequireMessage(t, "ui.messages", br.fetch("verification", id).UI.Messages, 4070001)
		})

		t.Run("API flow", func(t *testing.T) {
			f, res, err := api.InitializeSelfServiceVerificationFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if f.State != kratos.SELFSERVICEVERIFICATIONFLOWSTATE_CHOOSE_METHOD || f.Type != "api" {
				t.Errorf("state %q type %q", f.State, f.Type)
			}
			out, res, err := api.SubmitSelfServiceVerificationFlow(ctx).Flow(f.Id).
				SubmitSelfServiceVerificationFlowBody(lcVerificationLinkBody(backup, "")).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICEVERIFICATIONFLOWSTATE_SENT_EMAIL || out.GetActive() != "link" || !containsID(sdkMessageIDs(out.Ui.Messages), 1080001) {
				t.Errorf("state %q active %q messages %v", out.State, out.GetActive(), sdkMessageIDs(out.Ui.Messages))
			}
			link := box.next(t, backup).link(t)
			if lcQuery(t, link, "flow") != f.Id {
				t.Errorf("link %s is not for flow %s", link, f.Id)
			}
			r := ssNewBrowser(t, s).get(link)
			if got := lcFlowIDFrom(t, r, "verification"); got != f.Id {
				t.Errorf("landed on flow %s", got)
			}
			done, _, err := api.GetSelfServiceVerificationFlow(ctx).Id(f.Id).Execute()
			if err != nil || done.State != kratos.SELFSERVICEVERIFICATIONFLOWSTATE_PASSED_CHALLENGE || !containsID(sdkMessageIDs(done.Ui.Messages), 1080002) {
				t.Errorf("flow after the link: %v %+v", err, done)
			}
			if a := lcVerifiable(t, s, reg.Identity.Id, backup); !a.Verified || a.Status != "completed" {
				t.Errorf("backup address %+v", a)
			}
			// The older link of the registration mail is still a valid token
			// of another flow; the address stays verified.
			r = ssNewBrowser(t, s).get(backupLink)
			if r.Status != http.StatusSeeOther {
				t.Errorf("older link: %s", r)
			}

			// Submitting the passed flow again opens a new one.
			rr := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/verification?flow="+f.Id), map[string]any{"method": "link", "email": backup})
			if rr.Status != http.StatusSeeOther {
				t.Fatalf("resubmit: %s", rr)
			}
			loc := ssLocation(t, rr)
			if ssWithoutQuery(loc) != s.PublicURL+"self-service/verification/flows" {
				t.Fatalf("Location %s", loc)
			}
			nf := lcFetchAny(t, s, nil, "verification", loc.Query().Get("id"))
			ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4070002)
		})

		t.Run("browser flow lands on return_to", func(t *testing.T) {
			const other = "verify-browser@example.org"
			lcRegisterTraits(t, s, map[string]any{"email": other})
			box.next(t, other)
			br := ssNewBrowser(t, s)
			f := br.initFlow("verification", "return_to="+url.QueryEscape(lcUI+"verified-here"))
			if f.ReturnTo != lcUI+"verified-here" {
				t.Errorf("return_to %q", f.ReturnTo)
			}
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "link", "email", other))
			if got := lcFlowIDFrom(t, r, "verification"); got != f.ID {
				t.Errorf("flow %s", got)
			}
			sent := br.fetch("verification", f.ID)
			if sent.State != "sent_email" {
				t.Errorf("state %q", sent.State)
			}
			ssRequireMessage(t, "ui.messages", sent.UI.Messages, 1080001)
			r = br.get(box.next(t, other).link(t))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"verified-here" {
				t.Errorf("link: status %d Location %q, want 303 to return_to", r.Status, r.Header.Get("Location"))
			}
			if f := br.fetch("verification", f.ID); f.State != "passed_challenge" {
				t.Errorf("state %q", f.State)
			}
		})

		t.Run("the link opened in another browser", func(t *testing.T) {
			const other = "verify-elsewhere@example.org"
			br := ssNewBrowser(t, s)
			rf := br.initFlow("registration", "")
			r := br.postForm(rf.UI.Action, ssFormFor(t, rf, "method", "password", "password", ssPassword, "traits.email", other))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("registration: %s", r)
			}
			link := box.next(t, other).link(t)
			phone := ssNewBrowser(t, s)
			r = phone.get(link)
			id := lcFlowIDFrom(t, r, "verification")
			if id != lcQuery(t, link, "flow") {
				t.Errorf("flow %s", id)
			}
			f := phone.fetch("verification", id)
			if f.Type != "browser" || f.State != "passed_challenge" {
				t.Errorf("type %q state %q", f.Type, f.State)
			}
			ssRequireMessage(t, "ui.messages", f.UI.Messages, 1080002)
		})

		t.Run("after_verification_return_to of the registration", func(t *testing.T) {
			const other = "verify-after-reg@example.org"
			br := ssNewBrowser(t, s)
			f := br.initFlow("registration", "after_verification_return_to="+url.QueryEscape(lcUI+"welcome"))
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", other))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("registration: %s", r)
			}
			r = br.get(box.next(t, other).link(t))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"welcome" {
				t.Errorf("link: status %d Location %q, want 303 to %swelcome", r.Status, r.Header.Get("Location"), lcUI)
			}
		})

		t.Run("an invalid token opens a new flow with 4070001", func(t *testing.T) {
			br := ssNewBrowser(t, s)
			f := br.initFlow("verification", "")
			r := br.get(ssFlowURL(s, "/self-service/verification?flow="+f.ID+"&token=garbage-token"))
			id := lcFlowIDFrom(t, r, "verification")
			if id == f.ID {
				t.Error("answered with the old flow")
			}
			nf := br.fetch("verification", id)
			ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4070001)
			if nf.Type != "browser" || nf.State != "choose_method" {
				t.Errorf("type %q state %q", nf.Type, nf.State)
			}
		})

		t.Run("an unknown address gets the invalid template", func(t *testing.T) {
			const nobody = "verify-nobody@example.org"
			f, _, err := api.InitializeSelfServiceVerificationFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := api.SubmitSelfServiceVerificationFlow(ctx).Flow(f.Id).
				SubmitSelfServiceVerificationFlowBody(lcVerificationLinkBody(nobody, "")).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.State != kratos.SELFSERVICEVERIFICATIONFLOWSTATE_SENT_EMAIL || !containsID(sdkMessageIDs(out.Ui.Messages), 1080001) {
				t.Errorf("state %q messages %v", out.State, sdkMessageIDs(out.Ui.Messages))
			}
			m := box.next(t, nobody)
			if m.Subject == "Please verify your email address" || m.Subject == "" {
				t.Errorf("subject %q, want the invalid-address template's", m.Subject)
			}
			if !strings.Contains(m.Text, nobody) || lcLinkRE.MatchString(m.Text) {
				t.Errorf("body:\n%s", m.Text)
			}
		})
	})
}

func TestLifecycleVerificationDefaultReturnURL(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, `
selfservice:
  flows:
    verification:
      after:
        default_browser_return_url: http://127.0.0.1:4455/verified
`)
		ssRegister(t, env.s, "verified-default@example.org", ssPassword)
		r := ssNewBrowser(t, env.s).get(env.box.next(t, "verified-default@example.org").link(t))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != lcUI+"verified" {
			t.Errorf("status %d Location %q, want 303 to verification.after.default_browser_return_url", r.Status, r.Header.Get("Location"))
		}
	})
}

func TestLifecycleVerificationDisabled(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		_, res, err := s.Public.V0alpha2Api.InitializeSelfServiceVerificationFlowWithoutBrowser(context.Background()).Execute()
		if sdkStatus(res) != http.StatusBadRequest || !strings.Contains(sdkErrorBody(err), "disabled") {
			t.Errorf("status %d %s", sdkStatus(res), sdkErrorBody(err))
		}
		// No verification mail is queued after registration.
		reg := ssRegister(t, s, "no-verification@example.org", ssPassword)
		if a := lcVerifiable(t, s, reg.Identity.Id, "no-verification@example.org"); a.Status != "pending" {
			t.Errorf("address %+v, want pending", a)
		}
		msgs, err := s.App.Store.ListMessages(context.Background(), 0, 0)
		if err != nil || len(msgs) != 0 {
			t.Errorf("%d queued messages (%v), want none", len(msgs), err)
		}
	})
}

func TestLifecycleRequireVerifiedAddress(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, `
selfservice:
  flows:
    login:
      after:
        password:
          hooks:
            - hook: require_verified_address
`)
		s := env.s
		ctx := context.Background()
		const email = "must-verify@example.org"
		reg := ssRegister(t, s, email, ssPassword)

		f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
			SubmitSelfServiceLoginFlowBody(ssPasswordLogin(email, ssPassword)).Execute()
		if sdkStatus(res) != http.StatusBadRequest {
			t.Fatalf("login before verification: status %d", sdkStatus(res))
		}
		if ids := sdkMessageIDs(ssLoginFlowModel(t, res, err).Ui.Messages); !containsID(ids, 4000010) {
			t.Errorf("ui.messages %v, want 4000010", ids)
		}
		list, _, err := s.Admin.V0alpha2Api.AdminListIdentitySessions(ctx, reg.Identity.Id).Execute()
		if err != nil || len(list) != 0 {
			t.Errorf("%d sessions (%v) after a refused login", len(list), err)
		}

		br := ssNewBrowser(t, s)
		lf := br.initFlow("login", "")
		r := br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", email, "password", ssPassword))
		if got := lcFlowIDFrom(t, r, "login"); got != lf.ID {
			t.Errorf("flow %s", got)
		}
		if ssSetCookie(r, "ory_kratos_session") != nil {
			t.Error("session cookie for an unverified address")
		}
		ssRequireMessage(t, "ui.messages", br.fetch("login", lf.ID).UI.Messages, 4000010)

		if r := ssNewBrowser(t, s).get(env.box.next(t, email).link(t)); r.Status != http.StatusSeeOther {
			t.Fatalf("verification link: %s", r)
		}
		ssLogin(t, s, email, ssPassword)
		lcBrowserLogin(t, br, email, ssPassword)
	})
}

func TestLifecycleRevokeActiveSessions(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: `
selfservice:
  flows:
    login:
      after:
        password:
          hooks:
            - hook: revoke_active_sessions
`})
		ctx := context.Background()
		const email = "only-one@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		other := ssRegister(t, s, "bystander@example.org", ssPassword)
		bystander := *ssLogin(t, s, "bystander@example.org", ssPassword).SessionToken

		first := *ssLogin(t, s, email, ssPassword).SessionToken
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, email, ssPassword)
		if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
			t.Fatal("browser session inactive")
		}
		ssRequireNoSession(t, s, first)
		last := *ssLogin(t, s, email, ssPassword).SessionToken
		if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusUnauthorized {
			t.Error("the browser session survived a later login")
		}
		if _, _, err := s.Public.V0alpha2Api.ToSession(ctx).XSessionToken(last).Execute(); err != nil {
			t.Errorf("the newest session: %v", err)
		}
		if _, _, err := s.Public.V0alpha2Api.ToSession(ctx).XSessionToken(bystander).Execute(); err != nil {
			t.Errorf("another identity's session was revoked: %v", err)
		}
		all, _, err := s.Admin.V0alpha2Api.AdminListIdentitySessions(ctx, reg.Identity.Id).Execute()
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, se := range all {
			if se.GetActive() {
				active++
			}
		}
		if len(all) != 3 || active != 1 {
			t.Errorf("%d sessions, %d active; want 3 kept, 1 active", len(all), active)
		}
		if list, _, _ := s.Admin.V0alpha2Api.AdminListIdentitySessions(ctx, other.Identity.Id).Execute(); len(list) != 1 || !list[0].GetActive() {
			t.Errorf("bystander sessions %+v", list)
		}
	})
}

func TestLifecycleRecoveryRevokesActiveSessions(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, `
selfservice:
  flows:
    recovery:
      after:
        hooks:
          - hook: revoke_active_sessions
`)
		s := env.s
		const email = "stolen-account@example.org"
		ssRegister(t, s, email, ssPassword)
		env.box.next(t, email)
		attacker := *ssLogin(t, s, email, ssPassword).SessionToken

		br := ssNewBrowser(t, s)
		f := br.initFlow("recovery", "")
		lcFlowIDFrom(t, br.postForm(f.UI.Action, ssFormFor(t, f, "method", "link", "email", email)), "recovery")
		lcFlowIDFrom(t, br.get(env.box.next(t, email).link(t)), "settings")
		if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
			t.Fatal("the recovery session is not active")
		}
		ssRequireNoSession(t, s, attacker)
	})
}
