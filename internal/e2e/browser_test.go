package e2e_test

// The browser self-service flows in a real, headless Chromium, through a UI
// that uses Hoplite as Kratos' reference UI does: sign-up with a rejected
// and then an accepted password, e-mail verification by link, logout,
// login, where the UI's pages send a signed-in or signed-out visitor,
// profile and password settings, account recovery by link, and an
// anti-CSRF rejection ending on the error page. Every step checks what the
// user sees, the redirects the browser followed, and which cookies it
// keeps.

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBrowserSelfServiceFlows(t *testing.T) {
	chromium := btChromium(t)
	t.Parallel()
	started := time.Now()
	t.Cleanup(func() { t.Logf("browser walkthrough took %s", time.Since(started).Round(time.Millisecond)) })

	env := btStart(t)
	ui, s := env.ui, env.s
	br := btOpenBrowser(t, chromium)

	const (
		email         = "browser-user@example.org"
		shortPassword = "Sh0rt!"
		changedPwd    = "Changed-Password-4242"
		recoveredPwd  = "Recovered-Password-5353"
	)
	sessionCookie := func(t *testing.T) bool { return br.with(t).cookie(s.PublicURL, "ory_kratos_session") != nil }

	// expectWelcome checks that the browser shows the signed-in identity.
	expectWelcome := func(t *testing.T, p btPage) string {
		t.Helper()
		btExpectPage(t, ui, p, "welcome")
		if !strings.Contains(p.Text, "Signed in as "+email) {
			t.Fatalf("the welcome page does not show %s as signed in: %s", email, p)
		}
		if !sessionCookie(t) {
			t.Fatal("the welcome page shows a session, but the browser keeps no ory_kratos_session cookie")
		}
		return p.Data["session.identityId"]
	}

	// logout follows the logout link of the welcome page.
	logout := func(t *testing.T) {
		t.Helper()
		br := br.with(t)
		p := br.open(ui.URL + "welcome")
		if !strings.HasPrefix(p.Data["logout.href"], s.PublicURL+"self-service/logout?token=") {
			t.Fatalf("the welcome page has no logout link to Hoplite: %s (href %q)", p, p.Data["logout.href"])
		}
		p = br.click("#logout")
		btExpectPage(t, ui, p, "welcome")
		btExpectStatuses(t, env, p, true, 303)
		if !strings.Contains(p.Text, "no session") || strings.Contains(p.Text, "Signed in as") {
			t.Fatalf("after logging out the welcome page still shows a session: %s", p)
		}
		if sessionCookie(t) {
			t.Fatal("after logging out the browser still keeps the ory_kratos_session cookie")
		}
	}

	// login signs in through the login page and returns the page the
	// browser lands on.
	login := func(t *testing.T, password string) btPage {
		t.Helper()
		br := br.with(t)
		p := br.open(ui.URL + "login")
		btExpectPage(t, ui, p, "login")
		btExpectStatuses(t, env, p, false, 303, 303)
		if p.Flow == "" || !p.hasButton("form-password", "method", "password") {
			t.Fatalf("the login page shows no password form: %s", p)
		}
		if _, ok := p.input("form-password", "csrf_token"); !ok {
			t.Fatalf("the login form has no csrf_token field: %s", p)
		}
		br.fill("form-password", "identifier", email)
		br.fill("form-password", "password", password)
		p = br.submit("form-password", "method", "password")
		// Success and failure alike: 303 to the welcome page or back to
		// the login UI.
		btExpectStatuses(t, env, p, true, 303)
		return p
	}

	// setPassword submits the password form of the settings page the
	// browser shows and expects the success state with 1050001.
	setPassword := func(t *testing.T, password, when string) {
		t.Helper()
		br := br.with(t)
		br.fill("form-password", "password", password)
		p := br.submit("form-password", "method", "password")
		btExpectPage(t, ui, p, "settings")
		btExpectStatuses(t, env, p, true, 303)
		if p.State != "success" {
			t.Errorf("%s: state %q; page %s", when, p.State, p)
		}
		if _, ok := p.message("", 1050001); !ok {
			t.Errorf("%s: no message 1050001; messages %+v", when, p.Messages)
		}
	}

	var identityID string
	steps := []struct {
		name string
		// own: the step needs nothing of the steps before it.
		own bool
		run func(t *testing.T)
	}{
		{"registration", false, func(t *testing.T) {
			br := br.with(t)
			p := br.open(ui.URL + "registration")
			btExpectPage(t, ui, p, "registration")
			btExpectStatuses(t, env, p, false, 303, 303)
			flow := p.Flow
			if flow == "" || !p.hasButton("form-password", "method", "password") {
				t.Fatalf("the registration page shows no password form: %s", p)
			}
			if in, ok := p.input("form-password", "traits.email"); !ok || in.Type != "email" || !in.Required {
				t.Fatalf("traits.email field %+v (present %v); page %s", in, ok, p)
			}
			if c := br.csrfCookie(s.PublicURL); c == nil || !c.HTTPOnly || c.Secure {
				t.Errorf("anti-CSRF cookie after the registration init: %+v", c)
			}

			br.fill("form-password", "traits.email", email)
			br.fill("form-password", "password", shortPassword)
			p = br.submit("form-password", "method", "password")
			btExpectPage(t, ui, p, "registration")
			// Kratos answers a rejected browser registration with 302, unlike
			// the 303 of the other flows.
			btExpectStatuses(t, env, p, true, 302)
			if p.Flow != flow {
				t.Errorf("the rejected registration shows flow %q, want the same flow %s", p.Flow, flow)
			}
			m, ok := p.message("password", 4000005)
			if !ok || m.Type != "error" || !strings.Contains(m.Text, "8") {
				t.Fatalf("a %d-character password: no error 4000005 (minimum length 8) on the password field; messages %+v; page %s", len(shortPassword), p.Messages, p)
			}
			if in, _ := p.input("form-password", "traits.email"); in.Value != email {
				t.Errorf("the rejected form lost the e-mail: traits.email = %q", in.Value)
			}
			if in, _ := p.input("form-password", "password"); in.Value != "" {
				t.Errorf("the rejected form shows the password again: %q", in.Value)
			}
			if sessionCookie(t) {
				t.Fatal("a rejected registration left a session cookie")
			}

			br.fill("form-password", "password", ssPassword)
			p = br.submit("form-password", "method", "password")
			btExpectStatuses(t, env, p, true, 303)
			identityID = expectWelcome(t, p)
			c := br.cookie(s.PublicURL, "ory_kratos_session")
			// Dev mode (as `kratos serve --dev`): not Secure, so that the
			// cookie works over http; always HttpOnly.
			if !c.HTTPOnly || c.Secure || c.Path != "/" || string(c.SameSite) != "Lax" {
				t.Errorf("session cookie attributes: HttpOnly %v Secure %v Path %q SameSite %q", c.HTTPOnly, c.Secure, c.Path, c.SameSite)
			}
			if identityID == "" {
				t.Fatal("the welcome page names no identity")
			}
			i := lcIdentity(t, s, identityID)
			if i.Traits["email"] != email {
				t.Errorf("the registered identity has traits %v", i.Traits)
			}
		}},

		{"verification link", false, func(t *testing.T) {
			br := br.with(t)
			m := env.box.next(t, email)
			if m.Subject != "Please verify your email address" {
				t.Errorf("the mail after registration has subject %q", m.Subject)
			}
			link := m.link(t)
			if !strings.HasPrefix(link, s.PublicURL+"self-service/verification?") {
				t.Fatalf("verification link %s", link)
			}
			if a := lcVerifiable(t, s, identityID, email); a.Verified {
				t.Fatalf("the address is verified before the link was opened: %+v", a)
			}

			p := br.open(link)
			btExpectPage(t, ui, p, "verification")
			btExpectStatuses(t, env, p, true, 303)
			if want := lcQuery(t, link, "flow"); p.Flow != want {
				t.Errorf("the verification page shows flow %q, want the link's flow %s (a new flow means the UI could not fetch it)", p.Flow, want)
			}
			if p.State != "passed_challenge" {
				t.Errorf("verification state %q, want passed_challenge; page %s", p.State, p)
			}
			if _, ok := p.message("", 1080002); !ok {
				t.Errorf("the verification page does not show message 1080002; messages %+v", p.Messages)
			}
			a := lcVerifiable(t, s, identityID, email)
			if !a.Verified || a.Status != "completed" || a.VerifiedAt == nil {
				t.Errorf("after opening the link the address is %+v, want verified", a)
			}
		}},

		{"logout", false, func(t *testing.T) {
			logout(t)
		}},

		{"login", false, func(t *testing.T) {
			p := login(t, "Wrong-Password-999")
			btExpectPage(t, ui, p, "login")
			if _, ok := p.message("", 4000006); !ok {
				t.Fatalf("a wrong password does not show message 4000006; messages %+v; page %s", p.Messages, p)
			}
			if in, _ := p.input("form-password", "identifier"); in.Value != email {
				t.Errorf("after a wrong password the identifier field holds %q, want %s", in.Value, email)
			}
			if sessionCookie(t) {
				t.Fatal("a failed login left a session cookie")
			}
			expectWelcome(t, login(t, ssPassword))
		}},

		{"pages that depend on the session", false, func(t *testing.T) {
			br := br.with(t)
			// Signed in, the UI's sign-in, sign-up and recovery links end on
			// the default return URL; recovery answers with 302.
			for _, c := range []struct {
				kind     string
				redirect int64
			}{{"login", 303}, {"registration", 303}, {"recovery", 302}} {
				p := br.open(ui.URL + c.kind)
				btExpectPage(t, ui, p, "welcome")
				btExpectStatuses(t, env, p, false, 303, c.redirect)
				if !strings.Contains(p.Text, "Signed in as "+email) {
					t.Errorf("opening %s while signed in: %s", c.kind, p)
				}
			}
			// Signed out, settings sends the browser to sign in: to the
			// login UI (without a flow), whose init gives it one.
			logout(t)
			p := br.open(ui.URL + "settings")
			btExpectPage(t, ui, p, "login")
			btExpectStatuses(t, env, p, false, 303, 303, 303, 303)
			if len(p.Hops) == 4 && !strings.HasPrefix(p.Hops[1].URL, s.PublicURL+"self-service/settings/browser") {
				t.Errorf("the second redirect is not Hoplite's settings init: %v", p.Hops)
			}
			expectWelcome(t, login(t, ssPassword))
		}},

		{"settings", false, func(t *testing.T) {
			br := br.with(t)
			p := br.open(ui.URL + "settings")
			btExpectPage(t, ui, p, "settings")
			btExpectStatuses(t, env, p, false, 303, 303)
			flow := p.Flow
			if in, ok := p.input("form-profile", "traits.email"); !ok || in.Value != email {
				t.Fatalf("the profile form does not show the e-mail: %+v; page %s", in, p)
			}
			if !p.hasButton("form-profile", "method", "profile") || !p.hasButton("form-password", "method", "password") {
				t.Fatalf("the settings page lacks the profile or the password form: %+v", p.Buttons)
			}

			br.fill("form-profile", "traits.name.first", "Ada")
			p = br.submit("form-profile", "method", "profile")
			btExpectPage(t, ui, p, "settings")
			btExpectStatuses(t, env, p, true, 303)
			if p.Flow != flow || p.State != "success" {
				t.Errorf("after saving the profile: flow %q state %q, want flow %s in state success", p.Flow, p.State, flow)
			}
			if _, ok := p.message("", 1050001); !ok {
				t.Errorf("saving the profile does not show message 1050001; messages %+v", p.Messages)
			}
			if in, _ := p.input("form-profile", "traits.name.first"); in.Value != "Ada" {
				t.Errorf("the profile form shows first name %q after saving Ada", in.Value)
			}
			if name, _ := lcIdentity(t, s, identityID).Traits["name"].(map[string]any); name["first"] != "Ada" {
				t.Errorf("the stored identity's name is %v", name)
			}

			setPassword(t, changedPwd, "changing the password")

			logout(t)
			if p := login(t, ssPassword); p.Page != "login" || !slices.Contains(p.messagesOf(""), 4000006) {
				t.Errorf("the old password still works, or fails unlike a wrong one: %s", p)
			}
			expectWelcome(t, login(t, changedPwd))
		}},

		{"recovery link", false, func(t *testing.T) {
			br := br.with(t)
			logout(t)
			p := br.open(ui.URL + "recovery")
			btExpectPage(t, ui, p, "recovery")
			btExpectStatuses(t, env, p, false, 303, 303)
			flow := p.Flow
			if in, ok := p.input("form-link", "email"); !ok || in.Type != "email" {
				t.Fatalf("the recovery page has no e-mail field: %s", p)
			}
			br.fill("form-link", "email", email)
			p = br.submit("form-link", "method", "link")
			btExpectPage(t, ui, p, "recovery")
			btExpectStatuses(t, env, p, true, 303)
			if p.Flow != flow || p.State != "sent_email" {
				t.Errorf("after requesting recovery: flow %q state %q, want flow %s in state sent_email", p.Flow, p.State, flow)
			}
			if _, ok := p.message("", 1060002); !ok {
				t.Errorf("the recovery page does not confirm the mail (1060002); messages %+v", p.Messages)
			}

			m := env.box.next(t, email)
			if m.Subject != "Recover access to your account" {
				t.Errorf("recovery mail subject %q", m.Subject)
			}
			p = br.open(m.link(t))
			btExpectPage(t, ui, p, "settings")
			btExpectStatuses(t, env, p, true, 303)
			if _, ok := p.message("", 1060001); !ok {
				t.Fatalf("the recovery link does not land on settings with message 1060001; messages %+v; page %s", p.Messages, p)
			}
			if !sessionCookie(t) {
				t.Fatal("the recovery link issued no session cookie")
			}
			setPassword(t, recoveredPwd, "setting the password after recovery")

			logout(t)
			expectWelcome(t, login(t, recoveredPwd))
		}},

		{"tampered anti-CSRF token", true, func(t *testing.T) {
			br := br.with(t)
			// A separate browser context: no session and its own cookies.
			other := br.incognito()
			p := other.open(ui.URL + "login")
			btExpectPage(t, ui, p, "login")
			before, _ := p.input("form-password", "csrf_token")
			// A well-formed token (88 base64 characters, like a masked one)
			// that belongs to no cookie.
			tampered := other.eval(`(() => {
  const f = document.querySelector('form#form-password input[name="csrf_token"]');
  const raw = new Uint8Array(64);
  crypto.getRandomValues(raw);
  f.value = btoa(String.fromCharCode(...raw));
  return f.value;
})()`)
			if tampered == before.Value || len(tampered) != 88 {
				t.Fatalf("the token was not replaced: before %q, after %q", before.Value, tampered)
			}
			// The token is checked before the credentials: a wrong password
			// must not turn this into a 4000006 form error.
			other.fill("form-password", "identifier", email)
			other.fill("form-password", "password", "Wrong-Password-999")
			p = other.submit("form-password", "method", "password")
			btExpectPage(t, ui, p, "error")
			btExpectStatuses(t, env, p, true, 303)
			if id := p.query("id"); id == "" || p.Data["error-raw.containerId"] != id {
				t.Errorf("the error page shows error container %q for the URL %s", p.Data["error-raw.containerId"], p.URL)
			}
			if p.Data["error.errorId"] != "security_csrf_violation" || p.Data["error.errorCode"] != "403" {
				t.Errorf("the error page shows error %q code %q, want security_csrf_violation 403; page %s",
					p.Data["error.errorId"], p.Data["error.errorCode"], p)
			}
			if !strings.Contains(p.Text, "Forbidden") {
				t.Errorf("the error page does not show the status: %s", p)
			}
			if other.cookie(s.PublicURL, "ory_kratos_session") != nil {
				t.Error("a rejected login left a session cookie")
			}
		}},
	}
	// Each step continues the user's story of the one before it, so after
	// a failure only the steps that stand on their own still run.
	failed := ""
	for _, st := range steps {
		if failed != "" && !st.own {
			t.Run(st.name, func(t *testing.T) { t.Skipf("needs step %q, which failed", failed) })
			continue
		}
		if !t.Run(st.name, st.run) && failed == "" {
			failed = st.name
		}
	}
}
