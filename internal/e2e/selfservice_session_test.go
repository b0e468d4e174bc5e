package e2e_test

// Sessions: whoami with every way of carrying a token, re-authentication,
// "already signed in" answers, listing and revoking sessions (self-service
// and admin), and API logout.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// ssRequireNoSession asserts that whoami refuses token.
func ssRequireNoSession(t testing.TB, s *testutil.Server, token string) {
	t.Helper()
	r := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", token, "Accept", "application/json")
	e := requireEnvelope(t, r, http.StatusUnauthorized)
	if e.ID != "" {
		t.Errorf("whoami 401 carries error id %q; Kratos sends none", e.ID)
	}
}

func TestSelfServiceWhoami(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		reg := ssRegister(t, s, "whoami@example.org", ssPassword)
		login := ssLogin(t, s, "whoami@example.org", ssPassword)
		token := *login.SessionToken
		whoami := ssFlowURL(s, "/sessions/whoami")

		t.Run("X-Session-Token with the SDK", func(t *testing.T) {
			sess, res, err := s.Public.V0alpha2Api.ToSession(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if sess.Id != login.Session.Id || sess.Identity.Id != reg.Identity.Id {
				t.Errorf("session %s of %s, want %s of %s", sess.Id, sess.Identity.Id, login.Session.Id, reg.Identity.Id)
			}
			if got := res.Header.Get("X-Kratos-Authenticated-Identity-Id"); got != reg.Identity.Id {
				t.Errorf("X-Kratos-Authenticated-Identity-Id %q", got)
			}
		})

		t.Run("JSON shape", func(t *testing.T) {
			r := do(t, http.MethodGet, whoami, nil, "X-Session-Token", token)
			if r.Status != http.StatusOK {
				t.Fatalf("%s", r)
			}
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &keys); err != nil {
				t.Fatal(err)
			}
			var got []string
			for k := range keys {
				got = append(got, k)
			}
			slices.Sort(got)
			ssEqualStrings(t, "session keys", got, []string{"active", "authenticated_at", "authentication_methods",
				"authenticator_assurance_level", "expires_at", "id", "identity", "issued_at"})
			var ident map[string]json.RawMessage
			if err := json.Unmarshal(keys["identity"], &ident); err != nil {
				t.Fatal(err)
			}
			if _, ok := ident["credentials"]; ok {
				t.Error("whoami exposes credentials")
			}
			if r.Header.Get("Cache-Control") != "private, no-cache, no-store, must-revalidate" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})

		for _, h := range []struct{ label, name, value string }{
			{"Bearer", "Authorization", "Bearer " + token},
			{"lower-case bearer", "Authorization", "bearer " + token},
			// The session cookie's value travels in X-Session-Cookie when a
			// server-side app forwards it.
			{"X-Session-Cookie", "X-Session-Cookie", token},
		} {
			t.Run(h.label, func(t *testing.T) {
				r := do(t, http.MethodGet, whoami, nil, h.name, h.value)
				if r.Status != http.StatusOK {
					t.Fatalf("%s", r)
				}
				if got := r.Header.Get("X-Kratos-Authenticated-Identity-Id"); got != reg.Identity.Id {
					t.Errorf("X-Kratos-Authenticated-Identity-Id %q", got)
				}
			})
		}

		t.Run("other methods", func(t *testing.T) {
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
				if r := do(t, m, whoami, nil, "X-Session-Token", token); r.Status != http.StatusOK {
					t.Errorf("%s whoami: %s", m, r)
				}
			}
		})

		t.Run("401 without or with a bad token", func(t *testing.T) {
			for _, headers := range [][]string{
				nil,
				{"X-Session-Token", "not-a-token"},
				{"Authorization", "Bearer not-a-token"},
				{"Authorization", "Basic " + token},
				{"Cookie", "ory_kratos_session=not-a-token"},
			} {
				r := do(t, http.MethodGet, whoami, nil, headers...)
				e := requireEnvelope(t, r, http.StatusUnauthorized)
				if e.ID != "" || e.Reason == "" {
					t.Errorf("%v: error %+v", headers, e)
				}
				if r.Header.Get("X-Kratos-Authenticated-Identity-Id") != "" {
					t.Errorf("%v: identity header on a 401", headers)
				}
			}
			_, res, err := s.Public.V0alpha2Api.ToSession(ctx).XSessionToken("nope").Execute()
			if sdkStatus(res) != http.StatusUnauthorized || err == nil {
				t.Errorf("SDK: status %d err %v", sdkStatus(res), err)
			}
		})
	})
}

func TestSelfServiceRefreshAndAlreadySignedIn(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		ssRegister(t, s, "refresh@example.org", ssPassword)
		first := ssLogin(t, s, "refresh@example.org", ssPassword)
		token := *first.SessionToken

		t.Run("login init with a session", func(t *testing.T) {
			_, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Fatalf("status %d (%v)", sdkStatus(res), err)
			}
			var env struct{ Error errorBody }
			if err := json.Unmarshal([]byte(sdkErrorBody(err)), &env); err != nil {
				t.Fatal(err)
			}
			if env.Error.ID != "session_already_available" {
				t.Errorf("error %+v", env.Error)
			}
		})

		t.Run("registration init with a session", func(t *testing.T) {
			_, res, err := ssTokenSDK(s, token).V0alpha2Api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Fatalf("status %d (%v)", sdkStatus(res), err)
			}
			var env struct{ Error errorBody }
			if err := json.Unmarshal([]byte(sdkErrorBody(err)), &env); err != nil {
				t.Fatal(err)
			}
			if env.Error.ID != "session_already_available" || env.Error.Reason == "" {
				t.Errorf("error %+v", env.Error)
			}
		})

		t.Run("login submit with a session", func(t *testing.T) {
			f, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			_, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceLoginFlowBody(ssPasswordLogin("refresh@example.org", ssPassword)).Execute()
			model := ssLoginFlowModel(t, res, err)
			if ids := sdkMessageIDs(model.Ui.Messages); !containsID(ids, 4000001) {
				t.Errorf("ui.messages %v, want 4000001 (already signed in)", ids)
			}
		})

		t.Run("refresh=true", func(t *testing.T) {
			f, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Refresh(true).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if !f.GetRefresh() {
				t.Error("refresh is false")
			}
			raw := ssFetchRaw(t, s, "login", f.Id)
			ssRequireMessage(t, "ui.messages", raw.UI.Messages, 1010003)
			id := raw.node(t, "identifier")
			if v, _ := id.value(); v != "refresh@example.org" || id.Attributes["type"] != "hidden" {
				t.Errorf("refresh identifier node %+v", id.Attributes)
			}

			out, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceLoginFlowBody(ssPasswordLogin("refresh@example.org", ssPassword)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if out.Session.Id != first.Session.Id {
				t.Errorf("refresh made session %s, want the same %s", out.Session.Id, first.Session.Id)
			}
			if !out.Session.AuthenticatedAt.After(*first.Session.AuthenticatedAt) {
				t.Errorf("authenticated_at %v not after %v", out.Session.AuthenticatedAt, first.Session.AuthenticatedAt)
			}
			if len(out.Session.AuthenticationMethods) != 2 {
				t.Errorf("authentication_methods %+v, want two entries", out.Session.AuthenticationMethods)
			}
			// As in Kratos, a native app keeps its token through a refresh
			// (browsers get a new cookie: see TestRefreshRotatesBrowserCookie).
			if out.SessionToken == nil || *out.SessionToken != token {
				t.Fatalf("session_token %v, want the token presented", out.SessionToken)
			}
			who, _, err := api.ToSession(ctx).XSessionToken(token).Execute()
			if err != nil || !who.AuthenticatedAt.Equal(*out.Session.AuthenticatedAt) {
				t.Errorf("whoami after refresh: %v %v", who, err)
			}
		})
	})
}

func TestSelfServiceSessionManagement(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		admin := s.Admin.V0alpha2Api
		reg := ssRegister(t, s, "sessions@example.org", ssPassword)
		var logins []*kratos.SuccessfulSelfServiceLoginWithoutBrowser
		for k := 0; k < 3; k++ {
			logins = append(logins, ssLogin(t, s, "sessions@example.org", ssPassword))
		}
		tok := func(k int) string { return *logins[k].SessionToken }
		sid := func(k int) string { return logins[k].Session.Id }

		t.Run("list excludes the current session", func(t *testing.T) {
			list, res, err := api.ListSessions(ctx).XSessionToken(tok(0)).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			var ids []string
			for _, x := range list {
				ids = append(ids, x.Id)
				if x.Identity.Id != reg.Identity.Id {
					t.Errorf("listed session of %s", x.Identity.Id)
				}
			}
			slices.Sort(ids)
			want := []string{sid(1), sid(2)}
			slices.Sort(want)
			ssEqualStrings(t, "listed sessions", ids, want)
			r := do(t, http.MethodGet, ssFlowURL(s, "/sessions"), nil)
			if e := requireEnvelope(t, r, http.StatusUnauthorized); e.ID != "" {
				t.Errorf("list without session: id %q", e.ID)
			}
		})

		t.Run("revoke one", func(t *testing.T) {
			c := ssTokenSDK(s, tok(0)).V0alpha2Api
			res, err := c.RevokeSession(ctx, sid(1)).Execute()
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("revoke: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			ssRequireNoSession(t, s, tok(1))
			// Unknown ids are answered like known ones.
			if res, err := c.RevokeSession(ctx, "9e4f5b14-6a0b-4b8f-9c4e-0d1e2f3a4b5c").Execute(); sdkStatus(res) != http.StatusNoContent {
				t.Errorf("unknown id: %d %v", sdkStatus(res), err)
			}
			res, err = c.RevokeSession(ctx, sid(0)).Execute()
			if sdkStatus(res) != http.StatusBadRequest {
				t.Errorf("own session: status %d (%v), want 400", sdkStatus(res), err)
			}
			r := do(t, http.MethodDelete, ssFlowURL(s, "/sessions/not-a-uuid"), nil, "X-Session-Token", tok(0))
			requireEnvelope(t, r, http.StatusBadRequest)
			r = do(t, http.MethodDelete, ssFlowURL(s, "/sessions/"+sid(2)), nil)
			requireEnvelope(t, r, http.StatusUnauthorized)
			if _, _, err := api.ToSession(ctx).XSessionToken(tok(0)).Execute(); err != nil {
				t.Errorf("the revoking session stopped working: %v", err)
			}
		})

		t.Run("revoke all others", func(t *testing.T) {
			out, res, err := api.RevokeSessions(ctx).XSessionToken(tok(0)).Execute()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			// Kratos counts every other session of the identity, also the
			// one revoked before.
			if out.GetCount() != 2 {
				t.Errorf("count %d, want 2", out.GetCount())
			}
			ssRequireNoSession(t, s, tok(2))
			if _, _, err := api.ToSession(ctx).XSessionToken(tok(0)).Execute(); err != nil {
				t.Errorf("current session revoked too: %v", err)
			}
			out, _, err = api.RevokeSessions(ctx).XSessionToken(tok(0)).Execute()
			if err != nil || out.GetCount() != 2 {
				t.Errorf("second call: %v count %d, want 2 again", err, out.GetCount())
			}
		})

		t.Run("admin list", func(t *testing.T) {
			all, res, err := admin.AdminListIdentitySessions(ctx, reg.Identity.Id).Execute()
			if err != nil {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if len(all) != 3 {
				t.Errorf("%d sessions, want 3", len(all))
			}
			active, _, err := admin.AdminListIdentitySessions(ctx, reg.Identity.Id).Active(true).Execute()
			if err != nil || len(active) != 1 || active[0].Id != sid(0) {
				t.Errorf("active sessions %v (%v), want only %s", active, err, sid(0))
			}
			inactive, _, err := admin.AdminListIdentitySessions(ctx, reg.Identity.Id).Active(false).Execute()
			if err != nil || len(inactive) != 2 {
				t.Errorf("inactive sessions %d (%v), want 2", len(inactive), err)
			}
			for _, x := range inactive {
				if x.GetActive() {
					t.Errorf("inactive list has active session %s", x.Id)
				}
			}
			r := do(t, http.MethodGet, adminURL(s, "identities/"+reg.Identity.Id+"/sessions?active=maybe"), nil)
			requireEnvelope(t, r, http.StatusBadRequest)
		})

		t.Run("admin delete", func(t *testing.T) {
			res, err := admin.AdminDeleteIdentitySessions(ctx, reg.Identity.Id).Execute()
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("%v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			ssRequireNoSession(t, s, tok(0))
			all, _, err := admin.AdminListIdentitySessions(ctx, reg.Identity.Id).Execute()
			if err != nil || len(all) != 0 {
				t.Errorf("after delete: %d sessions (%v)", len(all), err)
			}
			res, err = admin.AdminDeleteIdentitySessions(ctx, reg.Identity.Id).Execute()
			if sdkStatus(res) != http.StatusNotFound {
				t.Errorf("second delete: status %d (%v), want 404", sdkStatus(res), err)
			}
		})

		t.Run("API logout", func(t *testing.T) {
			token := *ssLogin(t, s, "sessions@example.org", ssPassword).SessionToken
			logout := func(tk string) (*http.Response, error) {
				return api.SubmitSelfServiceLogoutFlowWithoutBrowser(ctx).
					SubmitSelfServiceLogoutFlowWithoutBrowserBody(*kratos.NewSubmitSelfServiceLogoutFlowWithoutBrowserBody(tk)).Execute()
			}
			res, err := logout(token)
			if err != nil || res.StatusCode != http.StatusNoContent {
				t.Fatalf("logout: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			ssRequireNoSession(t, s, token)
			res, err = logout(token)
			if sdkStatus(res) != http.StatusNoContent {
				t.Errorf("logout of a revoked session: %d (%v), want 204", sdkStatus(res), err)
			}
			res, err = logout("unknown-token-unknown-token-1234")
			if sdkStatus(res) != http.StatusForbidden {
				t.Errorf("unknown token: %d (%v), want 403", sdkStatus(res), err)
			}
			r := doJSON(t, http.MethodDelete, ssFlowURL(s, "/self-service/logout/api"), `{"session_token":`)
			requireEnvelope(t, r, http.StatusBadRequest)
			r = doJSON(t, http.MethodDelete, ssFlowURL(s, "/self-service/logout/api"), `{"session_token": 5}`)
			requireEnvelope(t, r, http.StatusBadRequest)
			r = doJSON(t, http.MethodDelete, ssFlowURL(s, "/self-service/logout/api"), `not json`)
			requireEnvelope(t, r, http.StatusBadRequest)
			// Fields other than session_token do not matter.
			r = doJSON(t, http.MethodDelete, ssFlowURL(s, "/self-service/logout/api"), `{"session_token":"unknown-token","client":"cli"}`)
			requireEnvelope(t, r, http.StatusForbidden)
		})
	})
}

func TestSelfServiceSessionEnds(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: `
session:
  lifespan: 2s
`})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	reg := ssRegister(t, s, "ending@example.org", ssPassword)
	login := ssLogin(t, s, "ending@example.org", ssPassword)
	if d := login.Session.ExpiresAt.Sub(*login.Session.AuthenticatedAt); d != 2*time.Second {
		t.Errorf("expires_at - authenticated_at = %v, want the configured 2s", d)
	}

	t.Run("second factor without a session", func(t *testing.T) {
		_, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Aal("aal2").Execute()
		if sdkStatus(res) != http.StatusUnauthorized || !strings.Contains(sdkErrorBody(err), "session_aal1_required") {
			t.Errorf("status %d body %s", sdkStatus(res), sdkErrorBody(err))
		}
	})

	t.Run("disabled identity", func(t *testing.T) {
		other := ssRegister(t, s, "disabled@example.org", ssPassword)
		token := *ssLogin(t, s, "disabled@example.org", ssPassword).SessionToken
		body := kratos.NewAdminUpdateIdentityBody("default", kratos.IDENTITYSTATE_INACTIVE, map[string]any{"email": "disabled@example.org"})
		if _, res, err := s.Admin.V0alpha2Api.AdminUpdateIdentity(ctx, other.Identity.Id).AdminUpdateIdentityBody(*body).Execute(); err != nil {
			t.Fatalf("disable: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
		ssRequireNoSession(t, s, token)
		f, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id),
			map[string]any{"method": "password", "identifier": "disabled@example.org", "password": ssPassword})
		if e := requireEnvelope(t, r, http.StatusUnauthorized); e.Message != "identity is disabled" {
			t.Errorf("login of a disabled identity: %+v", e)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		time.Sleep(time.Until(*login.Session.ExpiresAt) + 100*time.Millisecond)
		ssRequireNoSession(t, s, *login.SessionToken)
		list, _, err := s.Admin.V0alpha2Api.AdminListIdentitySessions(ctx, reg.Identity.Id).Execute()
		if err != nil || len(list) != 1 {
			t.Fatalf("sessions %v (%v)", list, err)
		}
		// The row is kept, and still flagged active: only revocation
		// clears the flag.
		if !list[0].GetActive() {
			t.Error("an expired session lost its active flag")
		}
	})
}

// A browser that signs in again (refresh=true) gets a new session cookie,
// and the cookie from before stops working: a cookie that leaked earlier
// does not carry the new authentication. (Native apps keep their token, as
// in Kratos.)
func TestRefreshRotatesBrowserCookie(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ssRegister(t, s, "rotate@example.org", ssPassword)
		br := ssNewBrowser(t, s)
		lcBrowserLogin(t, br, "rotate@example.org", ssPassword)
		old := br.cookie("ory_kratos_session")
		if old == nil {
			t.Fatal("no session cookie after login")
		}
		f := br.initFlow("login", "refresh=true")
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "rotate@example.org", "password", ssPassword))
		fresh := ssSetCookie(r, "ory_kratos_session")
		if r.Status != http.StatusSeeOther || fresh == nil || fresh.Value == old.Value {
			t.Fatalf("refresh: status %d, cookie %v (old %s)", r.Status, fresh, old.Value)
		}
		if w := br.get(ssFlowURL(s, "/sessions/whoami")); w.Status != http.StatusOK {
			t.Errorf("whoami with the new cookie: %s", w)
		}
		stale := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "Cookie", "ory_kratos_session="+old.Value)
		if stale.Status != http.StatusUnauthorized {
			t.Errorf("the cookie from before the refresh still works: %d", stale.Status)
		}
	})
}
