package e2e_test

// Web hooks at every point a flow runs them: before login and registration,
// after login, registration, settings, recovery and verification. The hook
// receives a Jsonnet-rendered body built from the flow, the identity and
// the request, with the configured credentials; a failing hook stops the
// flow, unless its response is ignored; hooks to private addresses are
// refused when the outbound client is told to.

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// lcAllHooks configures a web hook at every point, each on its own path of
// h: before hooks with an API key, after hooks with basic auth.
func lcAllHooks(t testing.TB, h *lcHookServer, ignore bool) string {
	before := func(p string) []map[string]any { return []map[string]any{lcWebHook(h.URL+p, ignore, "api_key")} }
	after := func(p string) []map[string]any { return []map[string]any{lcWebHook(h.URL+p, ignore, "basic_auth")} }
	return lcHooksYAML(t, map[string][]map[string]any{
		"login.before":                before("/login-before"),
		"registration.before":         before("/registration-before"),
		"login.after.password":        after("/login-after"),
		"registration.after.password": after("/registration-after"),
		"settings.after":              after("/settings-after"),
		"recovery.after":              after("/recovery-after"),
		"verification.after":          after("/verification-after"),
		"login.after":                 after("/login-after-fallback"),
		"registration.after":          after("/registration-after-fallback"),
		"settings.after.password":     after("/settings-after-password"),
	})
}

// lcCheckCall checks one hook call: credentials, and the body fields the
// template forwards.
func lcCheckCall(t testing.TB, where string, c lcHookCall, auth string, want map[string]any) {
	t.Helper()
	if c.Method != http.MethodPost || !strings.HasPrefix(c.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%s: %s with Content-Type %q", where, c.Method, c.Header.Get("Content-Type"))
	}
	switch auth {
	case "api_key":
		if c.Header.Get("X-Hook-Key") != "hook-secret" {
			t.Errorf("%s: X-Hook-Key %q", where, c.Header.Get("X-Hook-Key"))
		}
	case "basic_auth":
		req := http.Request{Header: c.Header}
		if u, p, ok := req.BasicAuth(); !ok || u != "hook-user" || p != "hook-pass" {
			t.Errorf("%s: basic auth %q %q %v", where, u, p, ok)
		}
	}
	for k, v := range want {
		if got := c.Body[k]; got != v {
			t.Errorf("%s: body %s = %#v, want %#v; body %s", where, k, got, v, c.Raw)
		}
	}
}

func TestLifecycleWebHooks(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		h := lcNewHookServer(t)
		env := lcStart(t, b, lcAllHooks(t, h, false))
		s, box := env.s, env.box
		ctx := context.Background()
		const email = "hooked@example.org"
		var identityID, token string

		t.Run("registration", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/api"), nil, "X-Lifecycle-Test", "reg-init")
			if r.Status != http.StatusOK {
				t.Fatalf("init: %s", r)
			}
			f := ssDecodeFlow(t, r.Body)
			c := h.waitCalls(t, "/registration-before", 1)
			lcCheckCall(t, "registration before", c[0], "api_key", map[string]any{
				"flow_id": f.ID, "flow_type": "api", "flow_ui_action": f.UI.Action, "identity_id": nil,
				"method": "GET", "url": "/self-service/registration/api", "test_header": "reg-init",
			})
			r = doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": email}},
				"X-Lifecycle-Test", "reg-submit")
			if r.Status != http.StatusOK {
				t.Fatalf("submit: %s", r)
			}
			var out struct {
				Identity struct {
					ID string `json:"id"`
				} `json:"identity"`
			}
			if err := json.Unmarshal(r.Body, &out); err != nil {
				t.Fatal(err)
			}
			identityID = out.Identity.ID
			c = h.waitCalls(t, "/registration-after", 1)
			lcCheckCall(t, "registration after", c[0], "basic_auth", map[string]any{
				"flow_id": f.ID, "identity_id": identityID, "email": email,
				"method": "POST", "url": "/self-service/registration?flow=" + f.ID, "test_header": "reg-submit",
			})
			if n := len(h.callsTo("/registration-after-fallback")); n != 0 {
				t.Errorf("the flow-level registration hooks ran %d times though the method has its own", n)
			}
		})

		t.Run("login", func(t *testing.T) {
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/api"), nil, "X-Lifecycle-Test", "login-init")
			if r.Status != http.StatusOK {
				t.Fatalf("init: %s", r)
			}
			f := ssDecodeFlow(t, r.Body)
			lcCheckCall(t, "login before", h.waitCalls(t, "/login-before", 1)[0], "api_key", map[string]any{
				"flow_id": f.ID, "identity_id": nil, "method": "GET", "url": "/self-service/login/api", "test_header": "login-init",
			})
			r = doJSON(t, http.MethodPost, f.UI.Action, map[string]any{"method": "password", "identifier": email, "password": ssPassword},
				"X-Lifecycle-Test", "login-submit")
			if r.Status != http.StatusOK {
				t.Fatalf("submit: %s", r)
			}
			var out struct {
				SessionToken string `json:"session_token"`
			}
			_ = json.Unmarshal(r.Body, &out)
			token = out.SessionToken
			lcCheckCall(t, "login after", h.waitCalls(t, "/login-after", 1)[0], "basic_auth", map[string]any{
				"flow_id": f.ID, "identity_id": identityID, "email": email, "method": "POST", "test_header": "login-submit",
			})
			if n := len(h.callsTo("/login-after-fallback")); n != 0 {
				t.Errorf("the flow-level login hooks ran %d times though password has its own", n)
			}
		})

		t.Run("settings", func(t *testing.T) {
			f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "profile", "traits": map[string]any{"email": email, "name": map[string]any{"first": "Hook"}}},
				"X-Session-Token", token, "X-Lifecycle-Test", "settings-submit")
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			c := h.waitCalls(t, "/settings-after", 1)
			lcCheckCall(t, "settings after", c[0], "basic_auth", map[string]any{
				"flow_id": f.Id, "identity_id": identityID, "email": email, "test_header": "settings-submit",
				"credentials_seen": false, // the request carried X-Session-Token
			})
			// The password method has its own list.
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "password", "password": lcNewPassword}, "X-Session-Token", token)
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			lcCheckCall(t, "settings after password", h.waitCalls(t, "/settings-after-password", 1)[0], "basic_auth", map[string]any{
				"flow_id": f.Id, "identity_id": identityID,
			})
			if n := len(h.callsTo("/settings-after")); n != 1 {
				t.Errorf("settings.after hooks ran %d times, want once (for the profile change)", n)
			}
		})

		t.Run("verification", func(t *testing.T) {
			link := box.next(t, email).link(t)
			r := ssNewBrowser(t, s).do(http.MethodGet, link, nil, "X-Lifecycle-Test", "verify-link")
			if r.Status != http.StatusSeeOther {
				t.Fatalf("%s", r)
			}
			lcCheckCall(t, "verification after", h.waitCalls(t, "/verification-after", 1)[0], "basic_auth", map[string]any{
				"flow_id": lcQuery(t, link, "flow"), "identity_id": identityID, "email": email, "method": "GET", "test_header": "verify-link",
			})
			if a := lcVerifiable(t, s, identityID, email); !a.Verified {
				t.Errorf("address %+v", a)
			}
		})

		t.Run("recovery", func(t *testing.T) {
			flowID := lcRequestRecovery(t, s, email)
			if n := len(h.callsTo("/recovery-after")); n != 0 {
				t.Errorf("recovery hook ran %d times before the link was opened", n)
			}
			r := ssNewBrowser(t, s).do(http.MethodGet, box.next(t, email).link(t), nil, "X-Lifecycle-Test", "recover-link")
			lcFlowIDFrom(t, r, "settings")
			lcCheckCall(t, "recovery after", h.waitCalls(t, "/recovery-after", 1)[0], "basic_auth", map[string]any{
				"flow_id": flowID, "identity_id": identityID, "email": email, "method": "GET", "test_header": "recover-link",
			})
		})
	})
}

func TestLifecycleWebHookFailures(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		h := lcNewHookServer(t)
		env := lcStart(t, b, lcAllHooks(t, h, false))
		s, box := env.s, env.box
		ctx := context.Background()

		// The hooks of the after points answer 403 (a 5xx is retried twice,
		// which the before hooks check, and takes longer).
		const hookStatus = http.StatusForbidden

		// requireHookError checks a JSON answer of a failed hook.
		requireHookError := func(t *testing.T, r response, code int) {
			t.Helper()
			e := requireEnvelope(t, r, code)
			// Only that a hook failed: its address and status are for the
			// operator's log.
			if !strings.Contains(e.Reason, "web hook") || strings.Contains(e.Reason+e.Message, "403") || strings.Contains(e.Reason, "127.0.0.1") {
				t.Errorf("the error is not the generic hook failure: %+v", e)
			}
		}

		t.Run("before login and registration: no flow is created", func(t *testing.T) {
			for _, kind := range []string{"login", "registration"} {
				path := "/" + kind + "-before"
				h.fail(path, http.StatusInternalServerError)
				n := len(h.callsTo(path))
				r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/api"), nil)
				if e := requireEnvelope(t, r, http.StatusInternalServerError); !strings.Contains(e.Reason, "web hook") || strings.Contains(e.Reason, "127.0.0.1") {
					t.Errorf("%s API init: the error is not the generic hook failure: %+v", kind, e)
				}
				// A 5xx answer is retried twice.
				calls := h.waitCalls(t, path, n+3)
				if len(calls) != n+3 {
					t.Errorf("%s hook called %d times, want 3", kind, len(calls)-n)
				}
				flowID, _ := calls[len(calls)-1].Body["flow_id"].(string)
				if flowID == "" {
					t.Fatalf("%s hook got no flow id", kind)
				}
				fr := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/flows?id="+flowID), nil)
				requireEnvelope(t, fr, http.StatusNotFound)

				r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/browser"), nil, "Accept", browserAccept)
				if e := ssErrorFromUI(t, s, r); e.Code != http.StatusInternalServerError {
					t.Errorf("%s browser init: stored error %+v", kind, e)
				}
				h.fail(path, 0)
			}
		})

		const email = "hook-fails@example.org"
		var identityID string
		t.Run("after registration", func(t *testing.T) {
			h.fail("/registration-after", hookStatus)
			defer h.fail("/registration-after", 0)
			f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+f.Id),
				map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": email}})
			requireHookError(t, r, http.StatusBadRequest)

			br := ssNewBrowser(t, s)
			bf := br.initFlow("registration", "")
			r = br.postForm(bf.UI.Action, ssFormFor(t, bf, "method", "password", "password", ssPassword, "traits.email", "hook-fails-browser@example.org"))
			if e := ssErrorFromUI(t, s, r); e.Code != http.StatusInternalServerError || !strings.Contains(e.Reason, "web hook") || strings.Contains(e.Reason, "403") {
				t.Errorf("browser: stored error %+v", e)
			}
			// As in Kratos v0.9 the hook runs after the identity is stored.
			list, _, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range list {
				if i.Traits.(map[string]any)["email"] == email {
					identityID = i.Id
				}
			}
			if identityID == "" {
				t.Fatal("the identity was not stored")
			}
			// The built-in verification hook runs before the configured ones
			// (as in Kratos), so both identities were sent their mail even
			// though the web hook failed.
			box.next(t, email)
			box.next(t, "hook-fails-browser@example.org")
		})

		t.Run("after login: no session", func(t *testing.T) {
			h.fail("/login-after", hookStatus)
			defer h.fail("/login-after", 0)
			f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id), map[string]any{"method": "password", "identifier": email, "password": ssPassword})
			requireHookError(t, r, http.StatusBadRequest)

			br := ssNewBrowser(t, s)
			lf := br.initFlow("login", "")
			r = br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", email, "password", ssPassword))
			if e := ssErrorFromUI(t, s, r); e.Code != http.StatusInternalServerError {
				t.Errorf("browser: stored error %+v", e)
			}
			if ssSetCookie(r, "ory_kratos_session") != nil {
				t.Error("session cookie despite the failed hook")
			}
			// Browser flow, JSON request.
			lf = br.initFlow("login", "")
			r = br.postForm(lf.UI.Action, ssFormFor(t, lf, "method", "password", "identifier", email, "password", ssPassword), "Accept", "application/json")
			requireHookError(t, r, http.StatusInternalServerError)

			list, _, err := s.Admin.V0alpha2Api.AdminListIdentitySessions(ctx, identityID).Execute()
			if err != nil || len(list) != 0 {
				t.Errorf("%d sessions (%v) after failed logins", len(list), err)
			}
		})

		token := *ssLogin(t, s, email, ssPassword).SessionToken

		t.Run("after settings", func(t *testing.T) {
			h.fail("/settings-after", hookStatus)
			defer h.fail("/settings-after", 0)
			f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/settings?flow="+f.Id),
				map[string]any{"method": "profile", "traits": map[string]any{"email": email, "name": map[string]any{"first": "Interrupted"}}}, "X-Session-Token", token)
			requireHookError(t, r, http.StatusBadRequest)
			if got, _, _ := s.Public.V0alpha2Api.GetSelfServiceSettingsFlow(ctx).Id(f.Id).XSessionToken(token).Execute(); got == nil || got.State == "success" {
				t.Errorf("settings flow after the failed hook: %+v", got)
			}

			br := ssNewBrowser(t, s)
			lcBrowserLogin(t, br, email, ssPassword)
			sf := br.initFlow("settings", "")
			r = br.postForm(sf.UI.Action, ssFormFor(t, sf, "method", "profile", "traits.email", email, "traits.name.first", "Browser"))
			if e := ssErrorFromUI(t, s, r); e.Code != http.StatusInternalServerError {
				t.Errorf("browser: stored error %+v", e)
			}
		})

		t.Run("after verification: the address stays unverified", func(t *testing.T) {
			h.fail("/verification-after", hookStatus)
			defer h.fail("/verification-after", 0)
			lcRequestVerification(t, s, email)
			// The link of an API flow: the error is the flow's JSON error.
			r := ssNewBrowser(t, s).get(box.next(t, email).link(t))
			requireHookError(t, r, http.StatusBadRequest)

			// The link of a browser flow: the error UI.
			br := ssNewBrowser(t, s)
			bf := br.initFlow("verification", "")
			lcFlowIDFrom(t, br.postForm(bf.UI.Action, ssFormFor(t, bf, "method", "link", "email", email)), "verification")
			if e := ssErrorFromUI(t, s, br.get(box.next(t, email).link(t))); e.Code != http.StatusInternalServerError {
				t.Errorf("stored error %+v", e)
			}
			if a := lcVerifiable(t, s, identityID, email); a.Verified || a.Status == "completed" {
				t.Errorf("address verified despite the failed hook: %+v", a)
			}
			// The flow passed its challenge before the hooks ran.
			if vf := br.fetch("verification", bf.ID); vf.State != "passed_challenge" {
				t.Errorf("verification flow state %q", vf.State)
			}
		})

		t.Run("after recovery: the request fails, the session stays", func(t *testing.T) {
			h.fail("/recovery-after", hookStatus)
			defer h.fail("/recovery-after", 0)
			br := ssNewBrowser(t, s)
			f := br.initFlow("recovery", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "link", "email", email))
			lcFlowIDFrom(t, r, "recovery")
			r = br.get(box.next(t, email).link(t))
			if e := ssErrorFromUI(t, s, r); e.Code != http.StatusInternalServerError {
				t.Errorf("stored error %+v", e)
			}
			// As in Kratos v0.9 the hooks run after the session was issued.
			if ssSetCookie(r, "ory_kratos_session") == nil {
				t.Error("no session cookie: the recovery hooks run once the session is issued")
			}
			if br.get(ssFlowURL(s, "/sessions/whoami")).Status != http.StatusOK {
				t.Error("no session after the failed hook")
			}
			if rf := br.fetch("recovery", f.ID); rf.State != "passed_challenge" {
				t.Errorf("recovery flow state %q", rf.State)
			}
		})
	})
}

func TestLifecycleWebHooksIgnored(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		h := lcNewHookServer(t)
		for _, p := range []string{"/login-before", "/registration-before", "/login-after", "/registration-after", "/settings-after", "/recovery-after", "/verification-after"} {
			h.fail(p, http.StatusInternalServerError)
		}
		env := lcStart(t, b, lcAllHooks(t, h, true))
		s, box := env.s, env.box
		ctx := context.Background()
		const email = "ignored@example.org"

		reg := ssRegister(t, s, email, ssPassword)
		token := *ssLogin(t, s, email, ssPassword).SessionToken
		f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
		if err != nil {
			t.Fatal(err)
		}
		if _, res, err := s.Public.V0alpha2Api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
			SubmitSelfServiceSettingsFlowBody(lcProfileBody(map[string]any{"email": email, "name": map[string]any{"first": "Ignored"}})).Execute(); err != nil {
			t.Fatalf("settings: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
		if r := ssNewBrowser(t, s).get(box.next(t, email).link(t)); r.Status != http.StatusSeeOther {
			t.Fatalf("verification link: %s", r)
		}
		if a := lcVerifiable(t, s, reg.Identity.Id, email); !a.Verified {
			t.Errorf("address %+v", a)
		}
		lcRequestRecovery(t, s, email)
		lcFlowIDFrom(t, ssNewBrowser(t, s).get(box.next(t, email).link(t)), "settings")

		// Every hook was still called, in the background.
		for _, p := range []string{"/login-before", "/registration-before", "/login-after", "/registration-after", "/settings-after", "/recovery-after", "/verification-after"} {
			c := h.waitCalls(t, p, 1)
			if c[0].Body["flow_id"] == nil || c[0].Body["flow_id"] == "" {
				t.Errorf("%s: body %s", p, c[0].Raw)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(s.Logs.String(), "web hook failed") {
			if time.Now().After(deadline) {
				t.Fatal("the ignored failures were not logged")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestLifecycleWebHookPrivateRanges(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		h := lcNewHookServer(t)
		cfg := lcMergeYAML(t, lcHooksYAML(t, map[string][]map[string]any{
			"login.after.password": {lcWebHook(h.URL+"/login-after", false, "")},
			"registration.before":  {lcWebHook(h.URL+"/registration-before", false, "")},
		}), "clients:\n  http:\n    disallow_private_ip_ranges: true\n")
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: cfg})
		ctx := context.Background()

		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/registration/api"), nil)
		if r.Status < 400 {
			t.Fatalf("registration init with a hook to a private address: %s", r)
		}
		cr := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{
			"traits":      map[string]any{"email": "private-login@example.org"},
			"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"password": ssPassword}}},
		})
		if cr.Status != http.StatusCreated {
			t.Fatalf("%s", cr)
		}
		f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id), map[string]any{"method": "password", "identifier": "private-login@example.org", "password": ssPassword})
		e := requireEnvelope(t, r, http.StatusBadRequest)
		if !strings.Contains(strings.ToLower(e.Reason), "private") && !strings.Contains(strings.ToLower(e.Reason), "not allowed") && !strings.Contains(strings.ToLower(e.Reason), "web hook") {
			t.Errorf("reason %q", e.Reason)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(h.callsTo("/login-after")) + len(h.callsTo("/registration-before")); n != 0 {
			t.Errorf("the hook server got %d calls from a client that must refuse private addresses", n)
		}
	})
}
