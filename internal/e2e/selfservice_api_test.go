package e2e_test

// API (native app) login and registration flows, driven with the official
// Kratos v0.9 Go SDK where it can express the request, plus raw JSON checks
// of what the SDK does not look at (key presence, node order, labels).

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// ssRegistrationFlowModel returns the 400 flow the SDK decoded from err.
func ssRegistrationFlowModel(t testing.TB, res *http.Response, err error) kratos.SelfServiceRegistrationFlow {
	t.Helper()
	if err == nil || sdkStatus(res) != http.StatusBadRequest {
		t.Fatalf("want a 400 flow, got status %d err %v %s", sdkStatus(res), err, sdkErrorBody(err))
	}
	ge, ok := err.(*kratos.GenericOpenAPIError)
	if !ok {
		t.Fatalf("error %T is not a GenericOpenAPIError", err)
	}
	f, ok := ge.Model().(kratos.SelfServiceRegistrationFlow)
	if !ok {
		t.Fatalf("SDK could not decode the 400 body as a registration flow (%T): %s", ge.Model(), ge.Body())
	}
	return f
}

// ssLoginFlowModel returns the 400 flow the SDK decoded from err.
func ssLoginFlowModel(t testing.TB, res *http.Response, err error) kratos.SelfServiceLoginFlow {
	t.Helper()
	if err == nil || sdkStatus(res) != http.StatusBadRequest {
		t.Fatalf("want a 400 flow, got status %d err %v %s", sdkStatus(res), err, sdkErrorBody(err))
	}
	ge, ok := err.(*kratos.GenericOpenAPIError)
	if !ok {
		t.Fatalf("error %T is not a GenericOpenAPIError", err)
	}
	f, ok := ge.Model().(kratos.SelfServiceLoginFlow)
	if !ok {
		t.Fatalf("SDK could not decode the 400 body as a login flow (%T): %s", ge.Model(), ge.Body())
	}
	return f
}

// sdkNodeMessages returns the message ids of the SDK node named name.
func sdkNodeMessages(t testing.TB, nodes []kratos.UiNode, name string) []int64 {
	t.Helper()
	for _, n := range nodes {
		if in := n.Attributes.UiNodeInputAttributes; in != nil && in.Name == name {
			ids := []int64{}
			for _, m := range n.Messages {
				ids = append(ids, m.Id)
			}
			return ids
		}
	}
	t.Fatalf("no input node %q in the SDK model", name)
	return nil
}

func sdkMessageIDs(texts []kratos.UiText) []int64 {
	ids := []int64{}
	for _, m := range texts {
		ids = append(ids, m.Id)
	}
	return ids
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// ssFetchRaw fetches a flow as raw JSON (no cookies).
func ssFetchRaw(t testing.TB, s *testutil.Server, kind, id string) ssFlow {
	t.Helper()
	r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/flows?id="+id), nil, "Accept", "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("fetch %s flow: %s", kind, r)
	}
	return ssDecodeFlow(t, r.Body)
}

func TestSelfServiceAPIRegistration(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssSessionHook})
		ctx := context.Background()
		api := s.Public.V0alpha2Api

		newFlow := func(t *testing.T) *kratos.SelfServiceRegistrationFlow {
			t.Helper()
			f, res, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			return f
		}

		t.Run("init and fetch", func(t *testing.T) {
			f := newFlow(t)
			if f.GetType() != "api" {
				t.Errorf("type %q, want api", f.GetType())
			}
			if want := s.PublicURL + "self-service/registration?flow=" + f.Id; f.Ui.Action != want {
				t.Errorf("ui.action %q, want %q", f.Ui.Action, want)
			}
			if f.Ui.Method != "POST" {
				t.Errorf("ui.method %q", f.Ui.Method)
			}
			if d := f.ExpiresAt.Sub(f.IssuedAt); d != time.Hour {
				t.Errorf("expires_at - issued_at = %v, want 1h", d)
			}
			if !strings.HasSuffix(f.RequestUrl, "/self-service/registration/api") {
				t.Errorf("request_url %q", f.RequestUrl)
			}
			got, res, err := api.GetSelfServiceRegistrationFlow(ctx).Id(f.Id).Execute()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("fetch: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if got.Id != f.Id || len(got.Ui.Nodes) != len(f.Ui.Nodes) {
				t.Errorf("fetched flow %s with %d nodes, want %s with %d", got.Id, len(got.Ui.Nodes), f.Id, len(f.Ui.Nodes))
			}
		})

		t.Run("JSON shape", func(t *testing.T) {
			f := ssFetchRaw(t, s, "registration", newFlow(t).Id)
			for _, k := range []string{"id", "type", "expires_at", "issued_at", "request_url", "ui"} {
				if !f.has(k) {
					t.Errorf("registration flow lacks %q", k)
				}
			}
			// Only login flows carry these; registration flows never do.
			for _, k := range []string{"refresh", "requested_aal", "created_at", "updated_at", "state", "identity", "active", "return_to"} {
				if f.has(k) {
					t.Errorf("registration flow has %q", k)
				}
			}
			ssEqualStrings(t, "node order", f.nodeNames(),
				[]string{"csrf_token", "traits.email", "password", "traits.name.first", "traits.name.last", "method"})

			csrf := f.node(t, "csrf_token")
			if v, ok := csrf.value(); !ok || v != "" {
				t.Errorf("API csrf_token value = %v (present %v), want \"\"", v, ok)
			}
			if csrf.Group != "default" || csrf.Attributes["type"] != "hidden" || csrf.Attributes["required"] != true {
				t.Errorf("csrf_token node %+v", csrf)
			}
			email := f.node(t, "traits.email")
			if email.Group != "password" || email.Attributes["type"] != "email" || email.Attributes["required"] != true {
				t.Errorf("traits.email node %+v", email)
			}
			if _, ok := email.value(); ok {
				t.Errorf("traits.email has a value before anything was submitted: %v", email.Attributes)
			}
			labels := map[string]struct {
				id   int64
				text string
			}{
				"traits.email":      {1070002, "E-Mail"},
				"traits.name.first": {1070002, "First name"},
				"traits.name.last":  {1070002, "Last name"},
				"password":          {1070001, "Password"},
				"method":            {1040001, "Sign up"},
			}
			for name, want := range labels {
				n := f.node(t, name)
				if n.Meta.Label == nil || n.Meta.Label.ID != want.id || n.Meta.Label.Text != want.text || n.Meta.Label.Type != "info" {
					t.Errorf("%s label %+v, want %d %q", name, n.Meta.Label, want.id, want.text)
				}
			}
			if _, ok := f.node(t, "traits.name.first").Attributes["required"]; ok {
				t.Error("optional trait is marked required")
			}
			m := f.node(t, "method")
			if m.Attributes["type"] != "submit" || m.Attributes["value"] != "password" || m.Group != "password" {
				t.Errorf("method node %+v", m)
			}
			for _, n := range f.UI.Nodes {
				if n.Type != "input" || n.Attributes["node_type"] != "input" || n.Messages == nil {
					t.Errorf("node %s: type %q node_type %v messages %v", n.name(), n.Type, n.Attributes["node_type"], n.Messages)
				}
				if _, ok := n.Attributes["disabled"]; !ok {
					t.Errorf("node %s has no disabled attribute", n.name())
				}
			}
			if f.has("ui") && f.UI.Messages != nil {
				t.Errorf("fresh flow has ui.messages %v", f.UI.Messages)
			}
		})

		cases := []struct {
			name     string
			password string
			traits   map[string]any
			node     string
			id       int64
			property string // context.property of 4000002
		}{
			{"missing email", ssPassword, map[string]any{}, "traits.email", 4000002, "email"},
			{"missing password", "", map[string]any{"email": "not-an-email-either"}, "password", 4000002, "password"},
			{"invalid email format", ssPassword, map[string]any{"email": "not-an-email"}, "traits.email", 4000001, ""},
			{"password too short", "Sh0rt!", map[string]any{"email": "short@example.org"}, "password", 4000005, ""},
			{"password too similar to the identifier", "similar.user@example.org", map[string]any{"email": "similar.user@example.org"}, "password", 4000005, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFlow(t)
				_, res, err := api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
					SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(c.password, c.traits)).Execute()
				model := ssRegistrationFlowModel(t, res, err)
				if model.Id != f.Id {
					t.Errorf("error flow id %s, want the submitted flow %s", model.Id, f.Id)
				}
				if ids := sdkNodeMessages(t, model.Ui.Nodes, c.node); !containsID(ids, c.id) {
					t.Fatalf("node %s messages %v, want %d", c.node, ids, c.id)
				}
				// The raw document: message details, values kept and cleared.
				raw := ssFetchRaw(t, s, "registration", f.Id)
				msg := ssRequireMessage(t, c.node, raw.node(t, c.node).Messages, c.id)
				if msg.Type != "error" || msg.Text == "" {
					t.Errorf("message %+v", msg)
				}
				if c.property != "" && msg.Context["property"] != c.property {
					t.Errorf("context %v, want property %q", msg.Context, c.property)
				}
				if c.name == "invalid email format" && msg.Text != `"not-an-email" is not valid "email"` {
					t.Errorf("text %q", msg.Text)
				}
				if c.id == 4000005 && msg.Context["reason"] == nil {
					t.Errorf("4000005 without context.reason: %+v", msg)
				}
				if v, ok := raw.node(t, "password").value(); ok {
					t.Errorf("password value %v re-rendered after an error", v)
				}
				if email, ok := c.traits["email"]; ok {
					if v, _ := raw.node(t, "traits.email").value(); v != email {
						t.Errorf("traits.email value %v, want the submitted %v", v, email)
					}
				}
				if c.name == "missing password" {
					// Kratos stops at the missing password; the traits are
					// not validated in the same round.
					if n := len(raw.node(t, "traits.email").Messages); n != 0 {
						t.Errorf("traits.email has %d messages", n)
					}
				}
			})
		}

		var registered *kratos.SuccessfulSelfServiceRegistrationWithoutBrowser
		t.Run("success", func(t *testing.T) {
			registered = ssRegister(t, s, "New.User@Example.org", ssPassword)
			if got := registered.Identity.Traits.(map[string]any)["email"]; got != "New.User@Example.org" {
				t.Errorf("traits.email %v", got)
			}
			if registered.Session == nil || registered.SessionToken == nil || len(*registered.SessionToken) != 32 {
				t.Fatalf("session hook: session %v token %v", registered.Session, registered.SessionToken)
			}
			if registered.Session.Identity.Id != registered.Identity.Id {
				t.Errorf("session of %s, identity %s", registered.Session.Identity.Id, registered.Identity.Id)
			}
			if registered.Session.GetAuthenticatorAssuranceLevel() != kratos.AUTHENTICATORASSURANCELEVEL_AAL1 {
				t.Errorf("aal %v", registered.Session.GetAuthenticatorAssuranceLevel())
			}
			who, res, err := api.ToSession(ctx).XSessionToken(*registered.SessionToken).Execute()
			if err != nil || who.Id != registered.Session.Id {
				t.Fatalf("whoami with the registration token: %v (%d)", err, sdkStatus(res))
			}
		})

		t.Run("duplicate identifier", func(t *testing.T) {
			f := newFlow(t)
			_, res, err := api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
				SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(ssPassword, map[string]any{"email": "new.user@example.org"})).Execute()
			model := ssRegistrationFlowModel(t, res, err)
			if ids := sdkMessageIDs(model.Ui.Messages); !containsID(ids, 4000007) {
				t.Fatalf("ui.messages %v, want 4000007", ids)
			}
			raw := ssFetchRaw(t, s, "registration", f.Id)
			if v, _ := raw.node(t, "traits.email").value(); v != "new.user@example.org" {
				t.Errorf("traits.email value %v", v)
			}
		})

		t.Run("unknown method", func(t *testing.T) {
			f := newFlow(t)
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+f.Id),
				map[string]any{"method": "carrier-pigeon", "traits": map[string]any{"email": "pigeon@example.org"}})
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			ssRequireMessage(t, "ui.messages", got.UI.Messages, 4010003)
		})
	})
}

func TestSelfServiceAPIRegistrationWithoutIdentifier(t *testing.T) {
	noID := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"traits":{"type":"object",` +
		`"properties":{"nickname":{"type":"string","title":"Nickname"}},"required":["nickname"]}}}`
	cfg := `
identity:
  default_schema_id: noid
  schemas:
    - id: noid
      url: base64://` + base64.StdEncoding.EncodeToString([]byte(noID)) + `
`
	s := testutil.StartServer(t, testutil.Options{Config: cfg})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	f, _, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatal(err)
	}
	raw := ssFetchRaw(t, s, "registration", f.Id)
	ssEqualStrings(t, "node order", raw.nodeNames(), []string{"csrf_token", "traits.nickname", "password", "method"})

	_, res, err := api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
		SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(ssPassword, map[string]any{"nickname": "nobody"})).Execute()
	model := ssRegistrationFlowModel(t, res, err)
	if ids := sdkMessageIDs(model.Ui.Messages); !containsID(ids, 4000009) {
		t.Fatalf("ui.messages %v, want 4000009", ids)
	}
	list, _, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute()
	if err != nil || len(list) != 0 {
		t.Errorf("an identity without identifier was stored: %v %v", list, err)
	}
}

func TestSelfServiceAPILogin(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		reg := ssRegister(t, s, "login.user@example.org", ssPassword)
		if reg.Session != nil || reg.SessionToken != nil {
			t.Fatalf("registration without the session hook issued a session")
		}

		newFlow := func(t *testing.T) *kratos.SelfServiceLoginFlow {
			t.Helper()
			f, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			return f
		}

		t.Run("init and fetch", func(t *testing.T) {
			f := newFlow(t)
			if f.Type != "api" || f.GetRefresh() || f.GetRequestedAal() != kratos.AUTHENTICATORASSURANCELEVEL_AAL1 {
				t.Errorf("type %q refresh %v requested_aal %v", f.Type, f.GetRefresh(), f.GetRequestedAal())
			}
			if want := s.PublicURL + "self-service/login?flow=" + f.Id; f.Ui.Action != want {
				t.Errorf("ui.action %q, want %q", f.Ui.Action, want)
			}
			got, res, err := api.GetSelfServiceLoginFlow(ctx).Id(f.Id).Execute()
			if err != nil || res.StatusCode != http.StatusOK || got.Id != f.Id {
				t.Fatalf("fetch: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
		})

		t.Run("JSON shape", func(t *testing.T) {
			f := ssFetchRaw(t, s, "login", newFlow(t).Id)
			for _, k := range []string{"id", "type", "expires_at", "issued_at", "request_url", "ui", "created_at", "updated_at", "refresh", "requested_aal"} {
				if !f.has(k) {
					t.Errorf("login flow lacks %q", k)
				}
			}
			for _, k := range []string{"state", "identity", "active", "return_to"} {
				if f.has(k) {
					t.Errorf("login flow has %q", k)
				}
			}
			if string(f.keys["refresh"]) != "false" || string(f.keys["requested_aal"]) != `"aal1"` {
				t.Errorf("refresh %s requested_aal %s", f.keys["refresh"], f.keys["requested_aal"])
			}
			ssEqualStrings(t, "node order", f.nodeNames(), []string{"csrf_token", "identifier", "password", "method"})
			if v, ok := f.node(t, "csrf_token").value(); !ok || v != "" {
				t.Errorf("csrf_token value %v (present %v), want \"\"", v, ok)
			}
			id := f.node(t, "identifier")
			if v, ok := id.value(); !ok || v != "" {
				t.Errorf("identifier value %v (present %v), want \"\"", v, ok)
			}
			if id.Group != "default" || id.Attributes["type"] != "text" || id.Attributes["required"] != true {
				t.Errorf("identifier node %+v", id)
			}
			pw := f.node(t, "password")
			if _, ok := pw.value(); ok || pw.Group != "password" || pw.Attributes["type"] != "password" {
				t.Errorf("password node %+v", pw)
			}
			for name, want := range map[string]struct {
				id   int64
				text string
			}{"identifier": {1070004, "ID"}, "password": {1070001, "Password"}, "method": {1010001, "Sign in"}} {
				n := f.node(t, name)
				if n.Meta.Label == nil || n.Meta.Label.ID != want.id || n.Meta.Label.Text != want.text {
					t.Errorf("%s label %+v, want %d %q", name, n.Meta.Label, want.id, want.text)
				}
			}
			if m := f.node(t, "method"); m.Attributes["value"] != "password" || m.Attributes["type"] != "submit" || m.Group != "password" {
				t.Errorf("method node %+v", m)
			}
			if l := f.node(t, "csrf_token").Meta.Label; l != nil {
				t.Errorf("csrf_token has a label %+v", l)
			}
		})

		t.Run("success", func(t *testing.T) {
			out := ssLogin(t, s, "  LOGIN.User@Example.ORG ", ssPassword)
			sess := out.Session
			if sess.Identity.Id != reg.Identity.Id || !sess.GetActive() {
				t.Errorf("session of %s active %v, want %s", sess.Identity.Id, sess.GetActive(), reg.Identity.Id)
			}
			if len(sess.AuthenticationMethods) != 1 || sess.AuthenticationMethods[0].GetMethod() != "password" {
				t.Errorf("authentication_methods %+v", sess.AuthenticationMethods)
			}
			if d := sess.ExpiresAt.Sub(*sess.AuthenticatedAt); d != 24*time.Hour {
				t.Errorf("expires_at - authenticated_at = %v, want 24h", d)
			}
			if sess.Identity.Credentials != nil {
				t.Errorf("session identity exposes credentials")
			}
		})

		loginErr := func(t *testing.T, body any) (ssFlow, string) {
			t.Helper()
			f := newFlow(t)
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id), body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %s", r)
			}
			got := ssDecodeFlow(t, r.Body)
			if got.ID != f.Id {
				t.Errorf("answered flow %s, want %s", got.ID, f.Id)
			}
			return got, f.Id
		}

		for _, c := range []struct {
			name       string
			identifier string
			password   string
		}{
			{"wrong password", "login.user@example.org", "not-the-password-1"},
			{"unknown identifier", "nobody@example.org", ssPassword},
		} {
			t.Run(c.name, func(t *testing.T) {
				f := newFlow(t)
				_, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
					SubmitSelfServiceLoginFlowBody(ssPasswordLogin(c.identifier, c.password)).Execute()
				model := ssLoginFlowModel(t, res, err)
				if ids := sdkMessageIDs(model.Ui.Messages); !containsID(ids, 4000006) {
					t.Fatalf("ui.messages %v, want 4000006", ids)
				}
				raw := ssFetchRaw(t, s, "login", f.Id)
				m := ssRequireMessage(t, "ui.messages", raw.UI.Messages, 4000006)
				if m.Type != "error" {
					t.Errorf("4000006 type %q", m.Type)
				}
				if v, _ := raw.node(t, "identifier").value(); v != c.identifier {
					t.Errorf("identifier value %v, want the submitted %q", v, c.identifier)
				}
				if v, ok := raw.node(t, "password").value(); ok {
					t.Errorf("password value %v re-rendered", v)
				}
			})
		}

		t.Run("missing password", func(t *testing.T) {
			f, _ := loginErr(t, map[string]any{"method": "password", "identifier": "login.user@example.org"})
			m := ssRequireMessage(t, "password", f.node(t, "password").Messages, 4000002)
			if m.Context["property"] != "password" {
				t.Errorf("context %v", m.Context)
			}
		})
		t.Run("missing identifier", func(t *testing.T) {
			f, _ := loginErr(t, map[string]any{"method": "password", "password": ssPassword})
			m := ssRequireMessage(t, "identifier", f.node(t, "identifier").Messages, 4000002)
			if m.Context["property"] != "identifier" {
				t.Errorf("context %v", m.Context)
			}
		})
		t.Run("empty identifier and password", func(t *testing.T) {
			// Present but empty values fail the minimum length (4000001),
			// as they do in Kratos' login payload schema.
			f, _ := loginErr(t, map[string]any{"method": "password", "identifier": "", "password": ""})
			ssRequireMessage(t, "identifier", f.node(t, "identifier").Messages, 4000001)
			ssRequireMessage(t, "password", f.node(t, "password").Messages, 4000001)
		})
		t.Run("legacy password_identifier", func(t *testing.T) {
			f := newFlow(t)
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id),
				map[string]any{"method": "password", "password_identifier": "login.user@example.org", "password": ssPassword})
			if r.Status != http.StatusOK {
				t.Fatalf("status %s", r)
			}
		})
		t.Run("unknown method", func(t *testing.T) {
			f, _ := loginErr(t, map[string]any{"method": "telepathy", "identifier": "login.user@example.org"})
			ssRequireMessage(t, "ui.messages", f.UI.Messages, 4010002)
		})
		t.Run("unknown flow", func(t *testing.T) {
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow=3a0e0e1e-1111-4a4a-8b8b-123456789abc"),
				map[string]any{"method": "password"})
			requireEnvelope(t, r, http.StatusNotFound)
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login"), map[string]any{"method": "password"})
			requireEnvelope(t, r, http.StatusBadRequest)
			r = do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/flows?id=3a0e0e1e-1111-4a4a-8b8b-123456789abc"), nil)
			requireEnvelope(t, r, http.StatusNotFound)
		})
		t.Run("registration flow id on the login endpoint", func(t *testing.T) {
			rf, _, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login/flows?id="+rf.Id), nil)
			requireEnvelope(t, r, http.StatusNotFound)
		})
	})
}

func TestSelfServiceAPIExpiredFlows(t *testing.T) {
	cfg := `
selfservice:
  flows:
    login:
      lifespan: 1s
    registration:
      lifespan: 1s
`
	s := testutil.StartServer(t, testutil.Options{Config: cfg})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	lf, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatal(err)
	}
	rf, _, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)

	for _, c := range []struct {
		kind, id string
		body     any
		msgID    int64
	}{
		{"login", lf.Id, map[string]any{"method": "password", "identifier": "x@example.org", "password": ssPassword}, 4010001},
		{"registration", rf.Id, map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": "x@example.org"}}, 4040001},
	} {
		t.Run(c.kind, func(t *testing.T) {
			// Fetching the expired flow.
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+c.kind+"/flows?id="+c.id), nil, "Accept", "application/json")
			e := requireEnvelope(t, r, http.StatusGone)
			if e.ID != "self_service_flow_expired" {
				t.Errorf("fetch error id %q", e.ID)
			}
			if want := s.PublicURL + "self-service/" + c.kind + "/api"; e.Details["api"] != want {
				t.Errorf("details %v, want api=%s", e.Details, want)
			}

			// Submitting to it.
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/"+c.kind+"?flow="+c.id), c.body)
			e = requireEnvelope(t, r, http.StatusGone)
			if e.ID != "self_service_flow_expired" || e.Message != "self-service flow expired" {
				t.Errorf("submit error %+v", e)
			}
			var extra struct {
				Since     *int64 `json:"since"`
				UseFlowID string `json:"use_flow_id"`
			}
			if err := json.Unmarshal(r.Body, &extra); err != nil {
				t.Fatal(err)
			}
			if extra.Since == nil || *extra.Since < int64(50*time.Millisecond) {
				t.Errorf("since = %v, want the nanoseconds since expiry", extra.Since)
			}
			if extra.UseFlowID == "" || extra.UseFlowID == c.id {
				t.Fatalf("use_flow_id %q", extra.UseFlowID)
			}
			nf := ssFetchRaw(t, s, c.kind, extra.UseFlowID)
			if nf.Type != "api" {
				t.Errorf("replacement flow type %q", nf.Type)
			}
			m := ssRequireMessage(t, "ui.messages", nf.UI.Messages, c.msgID)
			if m.Context["expired_at"] == nil {
				t.Errorf("%d without context.expired_at: %+v", c.msgID, m)
			}
			if !strings.HasSuffix(nf.RequestURL, "/self-service/"+c.kind+"/api") {
				t.Errorf("replacement request_url %q", nf.RequestURL)
			}
		})
	}

	t.Run("SDK sees 410", func(t *testing.T) {
		_, res, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(lf.Id).
			SubmitSelfServiceLoginFlowBody(ssPasswordLogin("x@example.org", ssPassword)).Execute()
		if sdkStatus(res) != http.StatusGone {
			t.Fatalf("status %d, want 410: %v", sdkStatus(res), err)
		}
		ge := err.(*kratos.GenericOpenAPIError)
		je, ok := ge.Model().(kratos.JsonError)
		if !ok || je.Error.GetId() != "self_service_flow_expired" {
			t.Errorf("SDK model %T %+v", ge.Model(), ge.Model())
		}
	})
}

func TestSelfServiceAPIAddressFlowsInit(t *testing.T) {
	t.Run("disabled by default", func(t *testing.T) {
		s := testutil.StartServer(t, testutil.Options{})
		ctx := context.Background()
		_, res, err := s.Public.V0alpha2Api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
		if sdkStatus(res) != http.StatusBadRequest {
			t.Fatalf("recovery init: status %d (%v), want 400", sdkStatus(res), err)
		}
		if !strings.Contains(strings.ToLower(sdkErrorBody(err)), "disabled") {
			t.Errorf("recovery body %s", sdkErrorBody(err))
		}
		_, res, err = s.Public.V0alpha2Api.InitializeSelfServiceVerificationFlowWithoutBrowser(ctx).Execute()
		if sdkStatus(res) != http.StatusBadRequest {
			t.Fatalf("verification init: status %d (%v), want 400", sdkStatus(res), err)
		}
		if !strings.Contains(strings.ToLower(sdkErrorBody(err)), "disabled") {
			t.Errorf("verification body %s", sdkErrorBody(err))
		}
	})

	t.Run("enabled", func(t *testing.T) {
		s := testutil.StartServer(t, testutil.Options{Config: `
selfservice:
  flows:
    recovery:
      enabled: true
    verification:
      enabled: true
`})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		rf, res, err := api.InitializeSelfServiceRecoveryFlowWithoutBrowser(ctx).Execute()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("recovery init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
		if rf.GetType() != "api" || rf.State != kratos.SELFSERVICERECOVERYFLOWSTATE_CHOOSE_METHOD {
			t.Errorf("recovery flow type %q state %q", rf.GetType(), rf.State)
		}
		got, res, err := api.GetSelfServiceRecoveryFlow(ctx).Id(rf.Id).Execute()
		if err != nil || got.Id != rf.Id {
			t.Fatalf("recovery fetch: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
		raw := ssFetchRaw(t, s, "recovery", rf.Id)
		if v, ok := raw.node(t, "csrf_token").value(); !ok || v != "" {
			t.Errorf("recovery csrf_token %v", v)
		}
		if raw.has("created_at") || raw.has("refresh") || !raw.has("state") {
			t.Errorf("recovery flow keys %v", raw.keys)
		}

		vf, res, err := api.InitializeSelfServiceVerificationFlowWithoutBrowser(ctx).Execute()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("verification init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}
		if vf.GetType() != "api" || vf.State != kratos.SELFSERVICEVERIFICATIONFLOWSTATE_CHOOSE_METHOD {
			t.Errorf("verification flow type %q state %q", vf.GetType(), vf.State)
		}
		gv, res, err := api.GetSelfServiceVerificationFlow(ctx).Id(vf.Id).Execute()
		if err != nil || gv.Id != vf.Id {
			t.Fatalf("verification fetch: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
		}

		// Recovery is for people who cannot sign in: a session refuses it.
		ssRegister(t, s, "recover.me@example.org", ssPassword)
		tok := *ssLogin(t, s, "recover.me@example.org", ssPassword).SessionToken
		r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/recovery/api"), nil, "X-Session-Token", tok, "Accept", "application/json")
		e := requireEnvelope(t, r, http.StatusBadRequest)
		if e.ID != "" || !strings.Contains(e.Reason, "session") {
			t.Errorf("recovery with a session: %+v", e)
		}
	})
}

func TestSelfServiceAPIFlowsRefuseBrowsers(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: ssSessionHook})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	ssRegister(t, s, "native@example.org", ssPassword)

	for _, h := range []struct{ name, value string }{
		{"Cookie", "some_cookie=1"},
		{"Origin", "https://evil.example"},
	} {
		t.Run(h.name, func(t *testing.T) {
			lf, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+lf.Id),
				map[string]any{"method": "password", "identifier": "native@example.org", "password": ssPassword}, h.name, h.value)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("login: %s", r)
			}
			f := ssDecodeFlow(t, r.Body)
			m := ssRequireMessage(t, "ui.messages", f.UI.Messages, 4000001)
			if !strings.Contains(m.Text, h.name) {
				t.Errorf("message %q does not name the %s header", m.Text, h.name)
			}

			rf, _, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
			if err != nil {
				t.Fatal(err)
			}
			r = doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/registration?flow="+rf.Id),
				map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": "n2@example.org"}}, h.name, h.value)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("registration: %s", r)
			}
			ssRequireMessage(t, "ui.messages", ssDecodeFlow(t, r.Body).UI.Messages, 4000001)
		})
	}

	t.Run("Cloudflare cookies are tolerated", func(t *testing.T) {
		lf, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+lf.Id),
			map[string]any{"method": "password", "identifier": "native@example.org", "password": ssPassword}, "Cookie", "__cf_bm=abc")
		if r.Status != http.StatusOK {
			t.Fatalf("login with a __cf cookie: %s", r)
		}
	})
}

func TestSelfServiceAPIFlowEnforcementCanBeDisabledInDevMode(t *testing.T) {
	t.Setenv("DEV_DISABLE_API_FLOW_ENFORCEMENT", "true")
	submit := func(t *testing.T, s *testutil.Server) response {
		t.Helper()
		ssRegister(t, s, "devmode@example.org", ssPassword)
		lf, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(context.Background()).Execute()
		if err != nil {
			t.Fatal(err)
		}
		return doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+lf.Id),
			map[string]any{"method": "password", "identifier": "devmode@example.org", "password": ssPassword},
			"Origin", "http://localhost:3000", "Cookie", "some_cookie=1")
	}
	if r := submit(t, testutil.StartServer(t, testutil.Options{})); r.Status != http.StatusOK {
		t.Errorf("dev mode with DEV_DISABLE_API_FLOW_ENFORCEMENT=true: %s", r)
	}
	// Outside dev mode the variable changes nothing.
	if r := submit(t, testutil.StartServer(t, testutil.Options{NotDev: true})); r.Status != http.StatusBadRequest {
		t.Errorf("production mode: %s", r)
	}
}

func TestSelfServicePasswordPolicyChecksEveryIdentifier(t *testing.T) {
	twoIDs := `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"traits":{"type":"object","properties":{` +
		`"email":{"type":"string","format":"email","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}},` +
		`"username":{"type":"string","ory.sh/kratos":{"credentials":{"password":{"identifier":true}}}}},"required":["email","username"]}}}`
	s := testutil.StartServer(t, testutil.Options{Config: `
identity:
  default_schema_id: two
  schemas:
    - id: two
      url: base64://` + base64.StdEncoding.EncodeToString([]byte(twoIDs)) + `
`})
	ctx := context.Background()
	api := s.Public.V0alpha2Api
	register := func(password string) (*http.Response, error) {
		f, _, err := api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).SubmitSelfServiceRegistrationFlowBody(
			ssPasswordRegistration(password, map[string]any{"email": "first@example.org", "username": "grace.hopper.1906"})).Execute()
		return res, err
	}
	// Unlike the e-mail address, yet too close to the username.
	res, err := register("grace.hopper.1906!")
	model := ssRegistrationFlowModel(t, res, err)
	if ids := sdkNodeMessages(t, model.Ui.Nodes, "password"); !containsID(ids, 4000005) {
		t.Fatalf("password messages %v, want 4000005 for the second identifier", ids)
	}
	if res, err := register(ssPassword); err != nil {
		t.Fatalf("a password unlike both identifiers: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
	}
	// Both identifiers sign in.
	ssLogin(t, s, "first@example.org", ssPassword)
	ssLogin(t, s, "grace.hopper.1906", ssPassword)
}
