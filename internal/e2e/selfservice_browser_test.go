package e2e_test

// Browser flows as a browser (or a server-side UI) drives them: redirects to
// the UI, cookies, anti-CSRF tokens, form posts with dotted names, the error
// UI, and browser logout.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

const ssUI = "http://127.0.0.1:4455/"

// ssFlowUIs names a UI under ssUI for the error, login, settings and
// registration flows. It ends inside selfservice.flows.registration, so
// more of that flow's keys (or more flows) can be appended.
const ssFlowUIs = `
selfservice:
  flows:
    error:
      ui_url: http://127.0.0.1:4455/error
    login:
      ui_url: http://127.0.0.1:4455/login
    settings:
      ui_url: http://127.0.0.1:4455/settings
    registration:
      ui_url: http://127.0.0.1:4455/registration
`

// ssBrowserConfig names a UI for every flow and issues sessions on
// registration.
const ssBrowserConfig = ssFlowUIs + `      after:
        password:
          hooks:
            - hook: session
`

// ssErrorFromUI follows a redirect to the error UI: it checks the Location
// and fetches the stored error.
func ssErrorFromUI(t testing.TB, s *testutil.Server, r response) errorBody {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the error UI; body %s", r.Status, r.Body)
	}
	loc := ssLocation(t, r)
	if ssWithoutQuery(loc) != ssUI+"error" {
		t.Fatalf("Location %s, want the error UI", loc)
	}
	id := loc.Query().Get("id")
	er := do(t, http.MethodGet, ssFlowURL(s, "/self-service/errors?id="+id), nil)
	if er.Status != http.StatusOK {
		t.Fatalf("GET /self-service/errors: %s", er)
	}
	var c struct {
		ID        string          `json:"id"`
		Error     json.RawMessage `json:"error"`
		CreatedAt string          `json:"created_at"`
		UpdatedAt string          `json:"updated_at"`
	}
	if err := json.Unmarshal(er.Body, &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.CreatedAt == "" || c.UpdatedAt == "" {
		t.Errorf("error container %s", er.Body)
	}
	var e errorBody
	if err := json.Unmarshal(c.Error, &e); err != nil {
		t.Fatal(err)
	}
	// The SDK reads the same container.
	se, res, err := s.Public.V0alpha2Api.GetSelfServiceError(context.Background()).Id(id).Execute()
	if err != nil || se.Id != id || se.Error["code"] != float64(e.Code) {
		t.Errorf("SDK GetSelfServiceError: %v (%d) %+v", err, sdkStatus(res), se)
	}
	return e
}

// ssFormFor builds the form a UI would post for flow f.
func ssFormFor(t testing.TB, f ssFlow, kv ...string) url.Values {
	v := url.Values{"csrf_token": {f.csrf(t)}}
	for k := 0; k+1 < len(kv); k += 2 {
		v.Set(kv[k], kv[k+1])
	}
	return v
}

func TestSelfServiceBrowserRegistrationLoginLogout(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssBrowserConfig})
		ctx := context.Background()
		br := ssNewBrowser(t, s)
		csrfName := ""

		t.Run("init redirects to the UI and sets the anti-CSRF cookie", func(t *testing.T) {
			r := br.get(ssFlowURL(s, "/self-service/registration/browser"))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("status %s", r)
			}
			loc := ssLocation(t, r)
			if ssWithoutQuery(loc) != ssUI+"registration" || loc.Query().Get("flow") == "" {
				t.Errorf("Location %s", loc)
			}
			for _, line := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(line, "csrf_token_") {
					csrfName = line[:strings.Index(line, "=")]
				}
			}
			if len(csrfName) != len("csrf_token_")+64 {
				t.Fatalf("no csrf_token_<sha256> cookie: %v", r.Header.Values("Set-Cookie"))
			}
			c := ssSetCookie(r, csrfName)
			if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 31536000 {
				t.Errorf("csrf cookie %s", ssRawSetCookie(r, csrfName))
			}
			if r.Header.Get("Cache-Control") != "private, no-cache, no-store, must-revalidate" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})

		t.Run("fetch needs the browser's cookies", func(t *testing.T) {
			f := br.initFlow("registration", "")
			if f.Type != "browser" {
				t.Errorf("type %q", f.Type)
			}
			if tok := f.csrf(t); len(tok) != 88 {
				t.Errorf("csrf_token %q, want a masked 88-character token", tok)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/flows?id="+f.ID), nil, "Accept", "application/json")
			e := requireEnvelope(t, r, http.StatusForbidden)
			if e.ID != "security_csrf_violation" || e.Details["reject_reason"] == nil || e.Details["docs"] == nil {
				t.Errorf("error %+v", e)
			}
			// A server-side UI forwards the browser's Cookie header.
			got, res, err := s.Public.V0alpha2Api.GetSelfServiceRegistrationFlow(ctx).Id(f.ID).Cookie(br.cookieHeader()).Execute()
			if err != nil || got.Id != f.ID {
				t.Fatalf("SDK fetch with cookies: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
		})

		t.Run("registration validation error redirects with 302", func(t *testing.T) {
			f := br.initFlow("registration", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "not-an-email", "traits.name.first", "Ada"))
			if r.Status != http.StatusFound {
				t.Fatalf("status %d, want 302 (Kratos' registration quirk); body %s", r.Status, r.Body)
			}
			if loc := ssLocation(t, r); ssWithoutQuery(loc) != ssUI+"registration" || loc.Query().Get("flow") != f.ID {
				t.Errorf("Location %s", loc)
			}
			again := br.fetch("registration", f.ID)
			ssRequireMessage(t, "traits.email", again.node(t, "traits.email").Messages, 4000001)
			if v, _ := again.node(t, "traits.name.first").value(); v != "Ada" {
				t.Errorf("traits.name.first value %v", v)
			}
			if _, ok := again.node(t, "password").value(); ok {
				t.Error("password value re-rendered")
			}
			if again.csrf(t) == f.csrf(t) || len(again.csrf(t)) != 88 {
				t.Error("the re-rendered form did not get a fresh masked token")
			}
		})

		t.Run("wrong anti-CSRF token goes to the error UI", func(t *testing.T) {
			f := br.initFlow("registration", "")
			form := ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "csrf@example.org")
			form.Set("csrf_token", strings.Repeat("A", 88))
			e := ssErrorFromUI(t, s, br.postForm(f.UI.Action, form))
			if e.Code != http.StatusForbidden || e.ID != "security_csrf_violation" {
				t.Errorf("stored error %+v", e)
			}
			// Without any cookie at all.
			r := do(t, http.MethodPost, f.UI.Action, ssFormFor(t, f, "method", "password").Encode(),
				"Content-Type", "application/x-www-form-urlencoded", "Accept", browserAccept)
			if e := ssErrorFromUI(t, s, r); e.ID != "security_csrf_violation" {
				t.Errorf("no cookies: %+v", e)
			}
		})

		var sessionCookie string
		var pendingRegistration, pendingLogin ssFlow
		t.Run("registration success", func(t *testing.T) {
			// Flows opened before signing in, submitted afterwards below.
			pendingRegistration = br.initFlow("registration", "")
			pendingLogin = br.initFlow("login", "")
			f := br.initFlow("registration", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "browser@example.org"))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI {
				t.Fatalf("status %d Location %q, want 303 to %s; body %s", r.Status, r.Header.Get("Location"), ssUI, r.Body)
			}
			c := ssSetCookie(r, "ory_kratos_session")
			if c == nil {
				t.Fatalf("no session cookie: %v", r.Header.Values("Set-Cookie"))
			}
			if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("session cookie %s", ssRawSetCookie(r, "ory_kratos_session"))
			}
			if c.MaxAge != 86400 {
				t.Errorf("session cookie Max-Age %d, want the session lifespan 86400", c.MaxAge)
			}
			sessionCookie = c.Value
			who := br.get(ssFlowURL(s, "/sessions/whoami"), "Accept", "application/json")
			if who.Status != http.StatusOK {
				t.Fatalf("whoami with the cookie: %s", who)
			}
		})

		t.Run("submitting while signed in", func(t *testing.T) {
			// Forms opened before signing in, as in a second tab. Signing in
			// renewed the anti-CSRF cookie, so these flows can no longer be
			// fetched, and their tokens are stale...
			r := br.get(ssFlowURL(s, "/self-service/login/flows?id="+pendingLogin.ID), "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusForbidden); e.ID != "security_csrf_violation" {
				t.Errorf("fetch of a flow of the old anti-CSRF cookie: %+v", e)
			}
			// ...yet submitting them sends the signed-in browser on, as
			// Kratos looks at the session first.
			r = br.postForm(pendingRegistration.UI.Action, ssFormFor(t, pendingRegistration, "method", "password", "password", ssPassword, "traits.email", "second@example.org"))
			if r.Status != http.StatusFound || r.Header.Get("Location") != ssUI {
				t.Errorf("registration: status %d Location %q, want 302 to %s; body %s", r.Status, r.Header.Get("Location"), ssUI, r.Body)
			}
			r = br.postForm(pendingLogin.UI.Action, ssFormFor(t, pendingLogin, "method", "password", "identifier", "browser@example.org", "password", ssPassword))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI {
				t.Errorf("login: status %d Location %q, want 303 to %s; body %s", r.Status, r.Header.Get("Location"), ssUI, r.Body)
			}
			r = br.postForm(pendingLogin.UI.Action, ssFormFor(t, pendingLogin, "method", "password", "identifier", "browser@example.org", "password", ssPassword), "Accept", "application/json")
			if r.Status != http.StatusBadRequest {
				t.Fatalf("login as JSON: %s", r)
			}
			ssRequireMessage(t, "ui.messages", ssDecodeFlow(t, r.Body).UI.Messages, 4000001)
			r = br.postForm(pendingRegistration.UI.Action, ssFormFor(t, pendingRegistration, "method", "password"), "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "session_already_available" {
				t.Errorf("registration as JSON: %+v", e)
			}
			list, _, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute()
			if err != nil || len(list) != 1 {
				t.Errorf("identities %d (%v), want only the first", len(list), err)
			}
		})

		t.Run("X-Session-Cookie carries the cookie value", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Cookie", sessionCookie)
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			sess, _, err := s.Public.V0alpha2Api.ToSession(ctx).Cookie("ory_kratos_session=" + sessionCookie).Execute()
			if err != nil || sess.Identity.Traits.(map[string]any)["email"] != "browser@example.org" {
				t.Errorf("SDK whoami with Cookie: %v", err)
			}
		})

		t.Run("init with a session goes to the return URL", func(t *testing.T) {
			for _, kind := range []string{"login", "registration"} {
				r := br.get(ssFlowURL(s, "/self-service/"+kind+"/browser"))
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI {
					t.Errorf("%s: status %d Location %q", kind, r.Status, r.Header.Get("Location"))
				}
				r = br.get(ssFlowURL(s, "/self-service/"+kind+"/browser"), "Accept", "application/json")
				if e := requireEnvelope(t, r, http.StatusBadRequest); e.ID != "session_already_available" {
					t.Errorf("%s JSON: %+v", kind, e)
				}
			}
		})

		t.Run("logout", func(t *testing.T) {
			r := br.get(ssFlowURL(s, "/self-service/logout/browser"), "Accept", "application/json")
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var lo struct {
				LogoutURL   string `json:"logout_url"`
				LogoutToken string `json:"logout_token"`
			}
			if err := json.Unmarshal(r.Body, &lo); err != nil {
				t.Fatal(err)
			}
			if lo.LogoutURL != s.PublicURL+"self-service/logout?token="+lo.LogoutToken || len(lo.LogoutToken) != 32 {
				t.Fatalf("logout URL object %s", r.Body)
			}
			sdkLo, _, err := s.Public.V0alpha2Api.CreateSelfServiceLogoutFlowUrlForBrowsers(ctx).Cookie(br.cookieHeader()).Execute()
			if err != nil || sdkLo.LogoutToken != lo.LogoutToken {
				t.Errorf("SDK logout URL: %v %+v", err, sdkLo)
			}

			// A wrong token is refused and shown on the error UI.
			e := ssErrorFromUI(t, s, br.get(ssFlowURL(s, "/self-service/logout?token=wrong-token")))
			if e.Code != http.StatusForbidden {
				t.Errorf("wrong logout token: %+v", e)
			}
			if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
				t.Fatal("a wrong logout token ended the session")
			}

			r = br.get(lo.LogoutURL)
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI {
				t.Fatalf("logout: status %d Location %q", r.Status, r.Header.Get("Location"))
			}
			c := ssSetCookie(r, "ory_kratos_session")
			if c == nil || c.MaxAge >= 0 || c.Value != "" {
				t.Errorf("session cookie not cleared: %s", ssRawSetCookie(r, "ory_kratos_session"))
			}
			who := br.get(ssFlowURL(s, "/sessions/whoami"))
			requireEnvelope(t, who, http.StatusUnauthorized)
			r = do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Cookie", sessionCookie)
			requireEnvelope(t, r, http.StatusUnauthorized)

			r = br.get(ssFlowURL(s, "/self-service/logout/browser"), "Accept", "application/json")
			if e := requireEnvelope(t, r, http.StatusUnauthorized); e.ID != "session_inactive" {
				t.Errorf("logout URL without a session: %+v", e)
			}
			// Completing a logout without a session, or without a token.
			if e := ssErrorFromUI(t, s, br.get(lo.LogoutURL)); e.Code != http.StatusUnauthorized {
				t.Errorf("logout without a session: %+v", e)
			}
			if e := ssErrorFromUI(t, s, br.get(ssFlowURL(s, "/self-service/logout"))); e.Code != http.StatusBadRequest {
				t.Errorf("logout without a token: %+v", e)
			}
		})

		t.Run("login", func(t *testing.T) {
			f := br.initFlow("login", "")
			if f.Type != "browser" || len(f.csrf(t)) != 88 {
				t.Errorf("type %q csrf %q", f.Type, f.csrf(t))
			}
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "browser@example.org", "password", "wrong-password-123"))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("login error: status %d, want 303; body %s", r.Status, r.Body)
			}
			if loc := ssLocation(t, r); ssWithoutQuery(loc) != ssUI+"login" || loc.Query().Get("flow") != f.ID {
				t.Errorf("Location %s", loc)
			}
			again := br.fetch("login", f.ID)
			ssRequireMessage(t, "ui.messages", again.UI.Messages, 4000006)
			if v, _ := again.node(t, "identifier").value(); v != "browser@example.org" {
				t.Errorf("identifier value %v", v)
			}

			r = br.postForm(f.UI.Action, ssFormFor(t, again, "method", "password", "identifier", "browser@example.org", "password", ssPassword))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != ssUI {
				t.Fatalf("login: status %d Location %q; body %s", r.Status, r.Header.Get("Location"), r.Body)
			}
			if ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatal("no session cookie")
			}
			if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
				t.Fatal("whoami after login")
			}
		})

		t.Run("logout with Accept: application/json", func(t *testing.T) {
			b2 := ssNewBrowser(t, s)
			f := b2.initFlow("login", "")
			if r := b2.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "browser@example.org", "password", ssPassword)); r.Status != http.StatusSeeOther {
				t.Fatalf("login: %s", r)
			}
			lo, _, err := s.Public.V0alpha2Api.CreateSelfServiceLogoutFlowUrlForBrowsers(ctx).Cookie(b2.cookieHeader()).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := b2.get(lo.LogoutUrl, "Accept", "application/json")
			if r.Status != http.StatusNoContent {
				t.Fatalf("status %s, want 204", r)
			}
			if c := ssSetCookie(r, "ory_kratos_session"); c == nil || c.MaxAge >= 0 {
				t.Errorf("session cookie not cleared: %v", r.Header.Values("Set-Cookie"))
			}
			if b2.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusUnauthorized {
				t.Error("still signed in")
			}
		})

		t.Run("login with Accept: application/json", func(t *testing.T) {
			b2 := ssNewBrowser(t, s)
			f := b2.initFlow("login", "")
			r := b2.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "browser@example.org", "password", ssPassword),
				"Accept", "application/json")
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &out); err != nil {
				t.Fatal(err)
			}
			if _, ok := out["session"]; !ok {
				t.Errorf("no session: %s", r.Body)
			}
			if _, ok := out["session_token"]; ok {
				t.Errorf("browser flow answered with a session_token: %s", r.Body)
			}
			if ssSetCookie(r, "ory_kratos_session") == nil {
				t.Error("no session cookie")
			}
		})

		t.Run("registration with Accept: application/json", func(t *testing.T) {
			b2 := ssNewBrowser(t, s)
			f := b2.initFlow("registration", "")
			r := b2.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "json.browser@example.org"),
				"Accept", "application/json")
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var out map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &out); err != nil {
				t.Fatal(err)
			}
			if _, ok := out["identity"]; !ok {
				t.Errorf("no identity: %s", r.Body)
			}
			if _, ok := out["session"]; !ok {
				t.Errorf("no session: %s", r.Body)
			}
			if _, ok := out["session_token"]; ok {
				t.Errorf("browser flow answered with a session_token: %s", r.Body)
			}
		})
	})
}

func TestSelfServiceBrowserInitAsJSON(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: ssBrowserConfig})
	for _, kind := range []string{"login", "registration"} {
		t.Run(kind, func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/browser"), nil, "Accept", "application/json")
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			f := ssDecodeFlow(t, r.Body)
			if f.Type != "browser" || len(f.csrf(t)) != 88 {
				t.Errorf("type %q csrf_token %q", f.Type, f.csrf(t))
			}
			var csrf *http.Cookie
			for _, line := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(line, "csrf_token_") {
					csrf = ssSetCookie(r, line[:strings.Index(line, "=")])
				}
			}
			if csrf == nil || csrf.Value == "" {
				t.Fatalf("no anti-CSRF cookie: %v", r.Header.Values("Set-Cookie"))
			}
			// The cookie and the form's token belong together.
			fr := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/flows?id="+f.ID), nil, "Cookie", csrf.Name+"="+csrf.Value)
			if fr.Status != http.StatusOK {
				t.Errorf("fetch with the issued cookie: %s", fr)
			}
		})
	}

	t.Run("error container", func(t *testing.T) {
		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/errors?id=5b9a5f0e-3c1a-4c6b-9f0e-1a2b3c4d5e6f"), nil)
		requireEnvelope(t, r, http.StatusNotFound)
		r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/errors?id=stub:500"), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("stub: %s", r)
		}
		var c struct {
			Error errorBody `json:"error"`
		}
		if err := json.Unmarshal(r.Body, &c); err != nil || c.Error.Code != http.StatusInternalServerError {
			t.Errorf("stub error %s (%v)", r.Body, err)
		}
	})

	t.Run("validation error as JSON", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("registration", "")
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "bad"), "Accept", "application/json")
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s", r)
		}
		got := ssDecodeFlow(t, r.Body)
		ssRequireMessage(t, "traits.email", got.node(t, "traits.email").Messages, 4000001)
		if len(got.csrf(t)) != 88 {
			t.Errorf("csrf_token %q", got.csrf(t))
		}
	})
}

func TestSelfServiceBrowserCookiesOutsideDevMode(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{NotDev: true, Config: ssBrowserConfig})
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/browser"), nil, "Accept", browserAccept)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("%s", r)
	}
	var csrf *http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "csrf_token_") {
			csrf = ssSetCookie(r, line[:strings.Index(line, "=")])
		}
	}
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode {
		t.Fatalf("anti-CSRF cookie outside dev mode: %v", r.Header.Values("Set-Cookie"))
	}
	// The test client speaks plain HTTP, so it sends the Secure cookie by
	// hand.
	cookie := csrf.Name + "=" + csrf.Value
	id := ssLocation(t, r).Query().Get("flow")
	fr := do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/flows?id="+id), nil, "Cookie", cookie)
	if fr.Status != http.StatusOK {
		t.Fatalf("fetch: %s", fr)
	}
	f := ssDecodeFlow(t, fr.Body)
	sub := do(t, http.MethodPost, f.UI.Action,
		ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "secure@example.org").Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", browserAccept, "Cookie", cookie)
	if sub.Status != http.StatusSeeOther {
		t.Fatalf("registration: %s", sub)
	}
	sc := ssSetCookie(sub, "ory_kratos_session")
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie outside dev mode: %s", ssRawSetCookie(sub, "ory_kratos_session"))
	}
}

func TestSelfServiceBrowserExpiredFlow(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: strings.Replace(ssBrowserConfig,
		"ui_url: http://127.0.0.1:4455/login\n", "ui_url: http://127.0.0.1:4455/login\n      lifespan: 1s\n", 1)})
	if s.App.Config.Selfservice.Flows.Login.Lifespan != time.Second {
		t.Fatalf("login lifespan %v", s.App.Config.Selfservice.Flows.Login.Lifespan)
	}
	ssRegister(t, s, "late@example.org", ssPassword)
	br := ssNewBrowser(t, s)
	f := br.initFlow("login", "")
	time.Sleep(1100 * time.Millisecond)

	r := br.get(ssFlowURL(s, "/self-service/login/flows?id="+f.ID), "Accept", "application/json")
	e := requireEnvelope(t, r, http.StatusGone)
	if e.ID != "self_service_flow_expired" || e.Details["redirect_to"] != s.PublicURL+"self-service/login/browser" {
		t.Errorf("fetch of an expired browser flow: %+v", e)
	}

	r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "late@example.org", "password", ssPassword))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("submit: status %d, want 303 to a new flow; body %s", r.Status, r.Body)
	}
	loc := ssLocation(t, r)
	id := loc.Query().Get("flow")
	if ssWithoutQuery(loc) != ssUI+"login" || id == "" || id == f.ID {
		t.Fatalf("Location %s, want the login UI with a new flow", loc)
	}
	nf := br.fetch("login", id)
	ssRequireMessage(t, "ui.messages", nf.UI.Messages, 4010001)
	if nf.Type != "browser" {
		t.Errorf("new flow type %q", nf.Type)
	}
	if ssSetCookie(r, "ory_kratos_session") != nil {
		t.Error("an expired flow signed the browser in")
	}
}
