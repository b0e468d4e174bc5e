package e2e_test

// security.credential_changes (a Hoplite addition) end to end: with the
// keys on, a new password in settings and a completed recovery end the
// identity's other sessions (the one that made the change, or the
// recovery's new one, stays), mail the owner, and make older recovery links
// stop working; with the keys off (the default) nothing of that happens.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

const ccOn = `
security:
  credential_changes:
    revoke_other_sessions: true
    notify: true
    invalidate_recovery_links: true
`

// ccWhoami is the status of whoami for a session token.
func ccWhoami(t testing.TB, s *testutil.Server, token string) int {
	t.Helper()
	_, res, err := s.Public.V0alpha2Api.ToSession(context.Background()).XSessionToken(token).Execute()
	if err == nil {
		return http.StatusOK
	}
	return sdkStatus(res)
}

// ccChangePassword sets password through an API settings flow of token.
func ccChangePassword(t testing.TB, s *testutil.Server, token, password string) {
	t.Helper()
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	f, res, err := api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
	if err != nil {
		t.Fatalf("settings init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	out, res, err := api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
		SubmitSelfServiceSettingsFlowBody(ssSettingsPassword(password)).Execute()
	if err != nil {
		t.Fatalf("settings submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	if out.State != "success" {
		t.Fatalf("settings state %q", out.State)
	}
}

// ccLinkIsDead opens a recovery link in a new browser and requires the
// answer of a used link: a new flow with 4060004 and no session.
func ccLinkIsDead(t testing.TB, s *testutil.Server, link string) {
	t.Helper()
	br := ssNewBrowser(t, s)
	r := br.get(link)
	if ssSetCookie(r, "ory_kratos_session") != nil {
		t.Fatalf("the revoked link signed the browser in: %s", r)
	}
	id := lcFlowIDFrom(t, r, "recovery")
	if id == lcQuery(t, link, "flow") {
		t.Error("the revoked link was answered with its own flow")
	}
	ssRequireMessage(t, "ui.messages", br.fetch("recovery", id).UI.Messages, 4060004)
}

// ccLinkWorks opens a recovery link in a new browser and requires it to
// sign in; it returns the browser.
func ccLinkWorks(t testing.TB, s *testutil.Server, link string) (*ssBrowser, string) {
	t.Helper()
	br := ssNewBrowser(t, s)
	r := br.get(link)
	sid := lcFlowIDFrom(t, r, "settings")
	if ssSetCookie(r, "ory_kratos_session") == nil {
		t.Fatalf("no session cookie after the recovery link: %s", r)
	}
	return br, sid
}

// ccNoLink requires a notice to carry no self-service link.
func ccNoLink(t testing.TB, m lcMail) {
	t.Helper()
	if lcLinkRE.MatchString(m.Text) || strings.Contains(m.HTML, "href") {
		t.Errorf("notice %q carries a link:\n%s", m.Subject, m.Text)
	}
}

func TestCredentialChanges(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b, ccOn)
		s, box := env.s, env.box

		t.Run("a new password in settings", func(t *testing.T) {
			const email = "cc-settings@example.org"
			reg := ssRegister(t, s, email, ssPassword)
			box.next(t, email) // verification mail
			current := *ssLogin(t, s, email, ssPassword).SessionToken
			other := *ssLogin(t, s, email, ssPassword).SessionToken
			lcRequestRecovery(t, s, email)
			openLink := box.next(t, email).link(t)

			ccChangePassword(t, s, current, lcNewPassword)

			if got := ccWhoami(t, s, current); got != http.StatusOK {
				t.Errorf("whoami of the session that changed the password: %d, want 200", got)
			}
			if got := ccWhoami(t, s, other); got != http.StatusUnauthorized {
				t.Errorf("whoami of the other session: %d, want 401", got)
			}
			m := box.next(t, email)
			if m.Subject != "Your password was changed" || !strings.Contains(m.Text, "password") {
				t.Errorf("notice subject %q:\n%s", m.Subject, m.Text)
			}
			ccNoLink(t, m)
			if strings.Contains(m.Text, lcNewPassword) || strings.Contains(m.HTML, lcNewPassword) {
				t.Error("the notice contains the new password")
			}
			ccLinkIsDead(t, s, openLink)
			ssLogin(t, s, email, lcNewPassword)

			// The security log has both consequences.
			events, _ := auList(t, s, url.Values{"identity_id": {reg.Identity.Id}})
			var revoked, links bool
			for _, e := range events {
				revoked = revoked || (e.Type == audit.SessionRevoked && e.Details["reason"] == "others")
				links = links || (e.Type == audit.RecoveryLinksRevoked && e.Details["count"] == float64(1))
			}
			if !revoked || !links {
				t.Errorf("audit events %v: want session.revoked (others) and recovery.links_revoked (1)", auTypes(events))
			}
		})

		t.Run("a completed recovery", func(t *testing.T) {
			const email = "cc-recovery@example.org"
			ssRegister(t, s, email, ssPassword)
			box.next(t, email) // verification mail
			other := *ssLogin(t, s, email, ssPassword).SessionToken
			lcRequestRecovery(t, s, email)
			older := box.next(t, email).link(t)
			lcRequestRecovery(t, s, email)
			newer := box.next(t, email).link(t)

			br, sid := ccLinkWorks(t, s, newer)
			if got := br.get(ssFlowURL(s, "/sessions/whoami")).Status; got != http.StatusOK {
				t.Errorf("whoami of the recovery's session: %d, want 200", got)
			}
			if got := ccWhoami(t, s, other); got != http.StatusUnauthorized {
				t.Errorf("whoami of the session from before the recovery: %d, want 401", got)
			}
			m := box.next(t, email)
			if m.Subject != "Your account was recovered" {
				t.Errorf("notice subject %q", m.Subject)
			}
			ccNoLink(t, m)
			ccLinkIsDead(t, s, older)

			// The recovered browser sets a new password: its session stays,
			// and the owner hears of the password too.
			sf := br.fetch("settings", sid)
			br.postForm(sf.UI.Action, ssFormFor(t, sf, "method", "password", "password", lcNewPassword))
			if done := br.fetch("settings", sid); done.State != "success" {
				t.Fatalf("settings state %q", done.State)
			}
			if got := br.get(ssFlowURL(s, "/sessions/whoami")).Status; got != http.StatusOK {
				t.Errorf("whoami of the session that set the password: %d, want 200", got)
			}
			if m := box.next(t, email); m.Subject != "Your password was changed" {
				t.Errorf("notice subject %q", m.Subject)
			}
		})
	})
}

func TestCredentialChangesOffByDefault(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		s, box := env.s, env.box

		const email = "cc-off@example.org"
		ssRegister(t, s, email, ssPassword)
		box.next(t, email) // verification mail
		current := *ssLogin(t, s, email, ssPassword).SessionToken
		other := *ssLogin(t, s, email, ssPassword).SessionToken
		lcRequestRecovery(t, s, email)
		older := box.next(t, email).link(t)
		lcRequestRecovery(t, s, email)
		newer := box.next(t, email).link(t)

		ccChangePassword(t, s, current, lcNewPassword)
		if got := ccWhoami(t, s, other); got != http.StatusOK {
			t.Errorf("whoami of the other session after a password change: %d, want 200", got)
		}
		box.none(t, email, 300*time.Millisecond)

		// Both links still work; the first recovery ends no session.
		ccLinkWorks(t, s, newer)
		ccLinkWorks(t, s, older)
		for _, token := range []string{current, other} {
			if got := ccWhoami(t, s, token); got != http.StatusOK {
				t.Errorf("whoami after the recoveries: %d, want 200", got)
			}
		}
		box.none(t, email, 300*time.Millisecond)
	})
}

// The sessions a password change ends are refused by every instance, also
// where they were cached.
func TestCredentialChangesReachOtherInstances(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		cfg := ssSessionHook + "security:\n  credential_changes:\n    revoke_other_sessions: true\n"
		a := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg})
		c := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg})
		waitCachesReady(t, a, c)

		const email = "cc-instances@example.org"
		current := ssRegister(t, a, email, ssPassword).GetSessionToken()
		other := *ssLogin(t, c, email, ssPassword).SessionToken
		// Twice each: the second answer comes from C's cache.
		waitWhoami(t, []*testutil.Server{c, c}, other, http.StatusOK, 0)
		waitWhoami(t, []*testutil.Server{c, c}, current, http.StatusOK, 0)

		ccChangePassword(t, a, current, lcNewPassword)
		took := waitWhoami(t, []*testutil.Server{a, c}, other, http.StatusUnauthorized, revocationBound(dsn))
		t.Logf("%s: the other session was refused everywhere after %v", b.Name, took)
		waitWhoami(t, []*testutil.Server{a, c}, current, http.StatusOK, 0)
	})
}
