package e2e_test

// OpenAPI conformance: every operation of the v0alpha2 API, driven against
// a real server (happy paths and the documented error statuses), with every
// JSON answer validated against the schema the SDK's OpenAPI document
// declares for that operation and status. The SDKs of other languages
// decode answers with models generated from that document (the Python SDK
// type-checks every known field), so a null where a string is declared, a
// number for a string, a missing required property or an unknown enum
// value breaks them even where the Go SDK shrugs. Unknown extra properties
// are tolerated by all of them and so are allowed here.
//
// Statuses follow Kratos' running behaviour where it differs from the
// document (reference file); those are listed, with reasons, in
// oaUndeclared. Shapes always follow the document's models.

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestOpenAPIConformanceValidator proves the validator can fail: answers
// that break the SDK models in the ways that matter must be rejected, and
// a faithful one accepted.
func TestOpenAPIConformanceValidator(t *testing.T) {
	spec := oaLoad(t)
	good := func() map[string]any {
		return map[string]any{
			"id":            "0b2a2a0e-7f0e-4a51-9b44-4d0b6a4a8d11",
			"type":          "api",
			"expires_at":    "2024-01-02T03:04:05.123456789Z",
			"issued_at":     "2024-01-02T02:04:05Z",
			"request_url":   "http://127.0.0.1/self-service/login/api",
			"refresh":       false,
			"requested_aal": "aal1",
			"ui": map[string]any{
				"action": "http://127.0.0.1/self-service/login?flow=x",
				"method": "POST",
				"nodes": []any{
					map[string]any{"type": "input", "group": "default", "messages": []any{}, "meta": map[string]any{},
						"attributes": map[string]any{"name": "csrf_token", "type": "hidden", "value": "", "required": true, "disabled": false, "node_type": "input"}},
					map[string]any{"type": "a", "group": "default", "messages": []any{}, "meta": map[string]any{},
						"attributes": map[string]any{"href": "http://x", "id": "a1", "node_type": "a",
							"title": map[string]any{"id": json.Number("1"), "text": "t", "type": "info"}}},
					map[string]any{"type": "img", "group": "totp", "messages": []any{}, "meta": map[string]any{},
						"attributes": map[string]any{"src": "data:", "id": "totp_qr", "width": json.Number("256"), "height": json.Number("256"), "node_type": "img"}},
				},
				"messages": []any{map[string]any{"id": json.Number("4000006"), "text": "x", "type": "error", "context": map[string]any{}}},
			},
			"unknown_extra": map[string]any{"tolerated": true},
		}
	}
	if err := spec.validate("selfServiceLoginFlow", toValidatorValue(t, good())); err != nil {
		t.Fatalf("a faithful login flow is rejected: %v", err)
	}
	node := func(f map[string]any, k int) map[string]any {
		return f["ui"].(map[string]any)["nodes"].([]any)[k].(map[string]any)
	}
	attrs := func(f map[string]any, k int) map[string]any { return node(f, k)["attributes"].(map[string]any) }
	for name, breakIt := range map[string]func(f map[string]any){
		"null string":           func(f map[string]any) { f["request_url"] = nil },
		"number for string":     func(f map[string]any) { f["type"] = 1 },
		"missing required":      func(f map[string]any) { delete(f, "issued_at") },
		"wrong enum":            func(f map[string]any) { f["requested_aal"] = "aal9" },
		"bad date-time":         func(f map[string]any) { f["expires_at"] = "2024-01-02 03:04:05" },
		"bad uuid":              func(f map[string]any) { f["id"] = "not-a-uuid" },
		"null nodes":            func(f map[string]any) { f["ui"].(map[string]any)["nodes"] = nil },
		"node without meta":     func(f map[string]any) { delete(node(f, 0), "meta") },
		"input without name":    func(f map[string]any) { delete(attrs(f, 0), "name") },
		"input disabled null":   func(f map[string]any) { attrs(f, 0)["disabled"] = nil },
		"anchor without title":  func(f map[string]any) { delete(attrs(f, 1), "title") },
		"image width string":    func(f map[string]any) { attrs(f, 2)["width"] = "256" },
		"unknown node_type":     func(f map[string]any) { attrs(f, 2)["node_type"] = "image"; node(f, 2)["type"] = "image" },
		"node_type is not type": func(f map[string]any) { node(f, 0)["type"] = "text" },
		"message without text": func(f map[string]any) {
			delete(f["ui"].(map[string]any)["messages"].([]any)[0].(map[string]any), "text")
		},
		"context not an object": func(f map[string]any) {
			f["ui"].(map[string]any)["messages"].([]any)[0].(map[string]any)["context"] = "x"
		},
	} {
		f := good()
		breakIt(f)
		if err := spec.validate("selfServiceLoginFlow", toValidatorValue(t, f)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// nullable: true is honoured (input values may be null), the error
	// envelope needs its message, and the expired-flow answer has two
	// accepted shapes.
	f := good()
	attrs(f, 0)["value"] = nil
	if err := spec.validate("selfServiceLoginFlow", toValidatorValue(t, f)); err != nil {
		t.Errorf("value: null rejected: %v", err)
	}
	if err := spec.validate("jsonError", toValidatorValue(t, map[string]any{"error": map[string]any{"code": 400}})); err == nil {
		t.Error("an error without message accepted")
	}
	if err := spec.validate("jsonError", toValidatorValue(t, map[string]any{"error": map[string]any{"message": "m", "details": map[string]any{"docs": "x"}}})); err != nil {
		t.Errorf("error details rejected: %v", err)
	}
	if err := spec.validate("selfServiceFlowExpiredError", toValidatorValue(t, map[string]any{"message": "m", "since": 5, "use_flow_id": "0b2a2a0e-7f0e-4a51-9b44-4d0b6a4a8d11"})); err != nil {
		t.Errorf("flat expired error rejected: %v", err)
	}
	if err := spec.validate("session", toValidatorValue(t, map[string]any{"id": "0b2a2a0e-7f0e-4a51-9b44-4d0b6a4a8d11", "identity": nil})); err == nil {
		t.Error("a session with identity null accepted")
	}
	// Every operation's answers are known.
	for _, id := range []string{"adminCreateIdentity", "toSession", "submitSelfServiceLoginFlow", "getWebAuthnJavaScript", "getVersion"} {
		if spec.Ops[id] == nil {
			t.Errorf("operation %s missing from the document", id)
		}
	}
	if n := len(spec.Ops); n < 40 {
		t.Errorf("only %d operations read from the document", n)
	}
}

// toValidatorValue round-trips v through JSON into the validator's value
// model.
func toValidatorValue(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// oaConformanceConfig issues a session on registration, so its answer
// carries a session (and, for API flows, a token).
const oaConformanceConfig = ssSessionHook

// TestOpenAPIConformance runs the scenarios on every available database
// (a few seconds each, in parallel): answers are assembled from what the
// store returns, so a dialect could change a shape (a NULL, a timestamp).
func TestOpenAPIConformance(t *testing.T) {
	oaLoad(t)
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		rec := newOARecorder(t)
		t.Run("main", func(t *testing.T) { oaMainScenario(t, rec, b) })
		t.Run("expiry", func(t *testing.T) { oaExpiryScenario(t, rec, b) })
		t.Run("degraded", func(t *testing.T) { oaDegradedScenario(t, rec, b) })
		rec.requireCoverage(t)
	})
}

// oaEndpoints gives a scenario the base URLs of both ports (without the
// trailing slash) and a recorder call that needs no client of its own.
func oaEndpoints(rec *oaRecorder, s *testutil.Server) (pub, adm string, call func(t *testing.T, op string, want int, method, u string, body any, headers ...string) oaResult) {
	pub = strings.TrimSuffix(s.PublicURL, "/")
	adm = strings.TrimSuffix(s.AdminURL, "/")
	call = func(t *testing.T, op string, want int, method, u string, body any, headers ...string) oaResult {
		t.Helper()
		return rec.call(t, nil, op, want, method, u, body, headers...)
	}
	return pub, adm, call
}

const oaUnknownID = "5b9a5f0e-3c1a-4c6b-9f0e-1a2b3c4d5e6f"

// oaMainScenario walks every operation on a server with recovery and
// verification enabled, a courier delivering to an SMTP test server, and a
// session issued on registration.
func oaMainScenario(t *testing.T, rec *oaRecorder, b testutil.Backend) {
	env := lcStart(t, b, oaConformanceConfig)
	s, box := env.s, env.box
	pub, adm, call := oaEndpoints(rec, s)
	jsonAccept := []string{"Accept", "application/json"}

	t.Run("metadata", func(t *testing.T) {
		call(t, "isAlive", 200, "GET", pub+"/health/alive", nil)
		call(t, "isAlive", 200, "GET", adm+"/admin/health/alive", nil)
		call(t, "isReady", 200, "GET", pub+"/health/ready", nil)
		call(t, "isReady", 200, "GET", adm+"/admin/health/ready", nil)
		r := call(t, "getVersion", 307, "GET", adm+"/version", nil)
		if loc := r.Header.Get("Location"); loc != "/admin/version" {
			t.Errorf("/version redirects to %q", loc)
		}
		call(t, "getVersion", 200, "GET", adm+"/admin/version", nil)
		call(t, "getWebAuthnJavaScript", 200, "GET", pub+"/.well-known/ory/webauthn.js", nil)
	})

	t.Run("schemas", func(t *testing.T) {
		r := call(t, "listIdentitySchemas", 200, "GET", pub+"/schemas", nil)
		if l, _ := r.JSON.([]any); len(l) == 0 {
			t.Errorf("no schemas listed: %s", r.Body)
		}
		call(t, "listIdentitySchemas", 200, "GET", adm+"/admin/schemas", nil)
		call(t, "getJsonSchema", 200, "GET", pub+"/schemas/default", nil)
		call(t, "getJsonSchema", 200, "GET", pub+"/schemas/ZGVmYXVsdA", nil)
		call(t, "getJsonSchema", 404, "GET", pub+"/schemas/no-such-schema", nil)
	})

	// Identities over the admin API.
	var adminIdentity string
	t.Run("admin identities", func(t *testing.T) {
		r := call(t, "adminCreateIdentity", 201, "POST", adm+"/admin/identities", map[string]any{
			"schema_id": "default",
			"traits":    map[string]any{"email": "oa-admin@example.org", "name": map[string]any{"first": "Ada", "last": "Admin"}},
			"credentials": map[string]any{
				"password": map[string]any{"config": map[string]any{"password": ssPassword}},
				"oidc":     map[string]any{"config": map[string]any{"providers": []any{map[string]any{"provider": "github", "subject": "oa-42"}}}},
			},
			"verifiable_addresses": []any{map[string]any{"value": "oa-admin@example.org", "via": "email", "verified": true, "status": "completed"}},
		})
		adminIdentity = r.str("id")
		call(t, "adminCreateIdentity", 400, "POST", adm+"/admin/identities", map[string]any{"traits": map[string]any{"email": "not an email"}})
		call(t, "adminCreateIdentity", 400, "POST", adm+"/admin/identities", map[string]any{"traits": map[string]any{"email": "x@example.org"}, "unknown": 1})
		call(t, "adminCreateIdentity", 409, "POST", adm+"/admin/identities", map[string]any{"traits": map[string]any{"email": "oa-admin@example.org"}})

		r = call(t, "adminGetIdentity", 200, "GET", adm+"/admin/identities/"+adminIdentity, nil)
		if r.get("credentials.password") == nil {
			t.Errorf("admin get shows no credential metadata: %s", r.Body)
		}
		r = call(t, "adminGetIdentity", 200, "GET", adm+"/admin/identities/"+adminIdentity+"?include_credential=oidc", nil)
		if r.get("credentials.oidc.config") == nil {
			t.Errorf("include_credential=oidc shows no oidc config: %s", r.Body)
		}
		call(t, "adminGetIdentity", 400, "GET", adm+"/admin/identities/"+adminIdentity+"?include_credential=password", nil)
		call(t, "adminGetIdentity", 404, "GET", adm+"/admin/identities/"+oaUnknownID, nil)

		call(t, "adminListIdentities", 200, "GET", adm+"/admin/identities", nil)
		call(t, "adminListIdentities", 200, "GET", adm+"/admin/identities?per_page=1&page=1", nil)

		other := call(t, "adminCreateIdentity", 201, "POST", adm+"/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "oa-other@example.org"}}).str("id")
		r = call(t, "adminUpdateIdentity", 200, "PUT", adm+"/admin/identities/"+other, map[string]any{
			"schema_id": "default", "state": "inactive", "traits": map[string]any{"email": "oa-other2@example.org"},
		})
		if r.str("state_changed_at") == "" {
			t.Errorf("state change without state_changed_at: %s", r.Body)
		}
		call(t, "adminUpdateIdentity", 400, "PUT", adm+"/admin/identities/"+other, map[string]any{"schema_id": "default", "state": "active", "traits": map[string]any{"email": 7}})
		call(t, "adminUpdateIdentity", 404, "PUT", adm+"/admin/identities/"+oaUnknownID, map[string]any{"schema_id": "default", "state": "active", "traits": map[string]any{"email": "oa-ghost@example.org"}})
		call(t, "adminUpdateIdentity", 409, "PUT", adm+"/admin/identities/"+other, map[string]any{"schema_id": "default", "state": "active", "traits": map[string]any{"email": "oa-admin@example.org"}})
		call(t, "adminDeleteIdentity", 204, "DELETE", adm+"/admin/identities/"+other, nil)
		call(t, "adminDeleteIdentity", 404, "DELETE", adm+"/admin/identities/"+other, nil)
	})

	// API registration and login, sessions.
	const email = "oa-user@example.org"
	var identityID, token, token2 string
	t.Run("API registration", func(t *testing.T) {
		f := call(t, "initializeSelfServiceRegistrationFlowWithoutBrowser", 200, "GET", pub+"/self-service/registration/api", nil)
		call(t, "getSelfServiceRegistrationFlow", 200, "GET", pub+"/self-service/registration/flows?id="+f.str("id"), nil)
		call(t, "getSelfServiceRegistrationFlow", 404, "GET", pub+"/self-service/registration/flows?id="+oaUnknownID, nil)
		action := f.str("ui.action")
		r := call(t, "submitSelfServiceRegistrationFlow", 400, "POST", action, map[string]any{
			"method": "password", "password": "short", "traits": map[string]any{"email": "not-an-email"},
		}, jsonAccept...)
		if len(r.Body) == 0 || r.get("ui.nodes") == nil {
			t.Errorf("validation error is not a flow: %s", r.Body)
		}
		call(t, "submitSelfServiceRegistrationFlow", 400, "POST", action, map[string]any{"method": "password", "traits": map[string]any{"email": email}}, jsonAccept...)
		r = call(t, "submitSelfServiceRegistrationFlow", 200, "POST", action, map[string]any{
			"method": "password", "password": ssPassword, "traits": map[string]any{"email": email, "name": map[string]any{"first": "Olga"}},
		}, jsonAccept...)
		identityID, token = r.str("identity.id"), r.str("session_token")
		if identityID == "" || token == "" || r.get("session") == nil {
			t.Fatalf("registration answer without identity, session or token: %s", r.Body)
		}
		call(t, "submitSelfServiceRegistrationFlow", 404, "POST", pub+"/self-service/registration?flow="+oaUnknownID,
			map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": "x@example.org"}}, jsonAccept...)
		call(t, "initializeSelfServiceRegistrationFlowWithoutBrowser", 400, "GET", pub+"/self-service/registration/api", nil, "X-Session-Token", token)
		box.next(t, email) // the verification mail of the registration
	})

	t.Run("API login", func(t *testing.T) {
		f := call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api", nil)
		call(t, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+f.str("id"), nil)
		call(t, "getSelfServiceLoginFlow", 404, "GET", pub+"/self-service/login/flows?id="+oaUnknownID, nil)
		action := f.str("ui.action")
		call(t, "submitSelfServiceLoginFlow", 400, "POST", action, map[string]any{"method": "password", "identifier": email, "password": "Wrong-Password-123"}, jsonAccept...)
		call(t, "submitSelfServiceLoginFlow", 400, "POST", action, map[string]any{"method": "no-such-method"}, jsonAccept...)
		call(t, "submitSelfServiceLoginFlow", 400, "POST", action, "{not json", jsonAccept...)
		r := call(t, "submitSelfServiceLoginFlow", 400, "POST", action, map[string]any{"method": "password", "identifier": email, "password": ssPassword},
			"Accept", "application/json", "Origin", "https://elsewhere.example")
		if r.get("ui.messages") == nil {
			t.Errorf("an API flow submitted with an Origin header: want a message on the flow: %s", r.Body)
		}
		call(t, "submitSelfServiceLoginFlow", 400, "POST", action, map[string]any{"method": "password", "identifier": "", "password": ""}, jsonAccept...)
		r = call(t, "submitSelfServiceLoginFlow", 200, "POST", action, map[string]any{"method": "password", "identifier": email, "password": ssPassword}, jsonAccept...)
		token2 = r.str("session_token")
		if token2 == "" {
			t.Fatalf("login without a session token: %s", r.Body)
		}
		call(t, "submitSelfServiceLoginFlow", 404, "POST", pub+"/self-service/login?flow="+oaUnknownID,
			map[string]any{"method": "password", "identifier": email, "password": ssPassword}, jsonAccept...)
		call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 400, "GET", pub+"/self-service/login/api", nil, "X-Session-Token", token)
		call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 400, "GET", pub+"/self-service/login/api?aal=aal7", nil)
		call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 401, "GET", pub+"/self-service/login/api?aal=aal2", nil)
		call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api?aal=aal2", nil, "X-Session-Token", token)
		// Refresh: a login flow of a signed-in identity.
		f = call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api?refresh=true", nil, "X-Session-Token", token)
		r = call(t, "submitSelfServiceLoginFlow", 200, "POST", f.str("ui.action"),
			map[string]any{"method": "password", "identifier": email, "password": ssPassword}, append(jsonAccept, "X-Session-Token", token)...)
		// The re-authentication replaced the token (Hoplite rotates it).
		if token = r.str("session_token"); token == "" {
			t.Fatal("the refresh answered no session_token")
		}
	})

	var sessionID, session2ID, browserIdentity string
	t.Run("sessions", func(t *testing.T) {
		r := call(t, "toSession", 200, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token)
		sessionID = r.str("id")
		if r.Header.Get("X-Kratos-Authenticated-Identity-Id") != identityID {
			t.Errorf("whoami: X-Kratos-Authenticated-Identity-Id %q", r.Header.Get("X-Kratos-Authenticated-Identity-Id"))
		}
		session2ID = call(t, "toSession", 200, "GET", pub+"/sessions/whoami", nil, "Authorization", "Bearer "+token2).str("id")
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil)
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", "not-a-session-token")

		r = call(t, "listSessions", 200, "GET", pub+"/sessions", nil, "X-Session-Token", token)
		if l, _ := r.JSON.([]any); len(l) != 1 {
			t.Errorf("listSessions: %d other sessions, want 1: %s", len(l), r.Body)
		}
		call(t, "listSessions", 200, "GET", pub+"/sessions?per_page=1&page=1", nil, "X-Session-Token", token)
		call(t, "listSessions", 401, "GET", pub+"/sessions", nil)

		call(t, "adminListIdentitySessions", 200, "GET", adm+"/admin/identities/"+identityID+"/sessions", nil)
		call(t, "adminListIdentitySessions", 200, "GET", adm+"/admin/identities/"+identityID+"/sessions?active=true&per_page=10&page=1", nil)
		call(t, "adminListIdentitySessions", 400, "GET", adm+"/admin/identities/not-a-uuid/sessions", nil)
		call(t, "adminListIdentitySessions", 400, "GET", adm+"/admin/identities/"+identityID+"/sessions?active=maybe", nil)

		call(t, "revokeSession", 400, "DELETE", pub+"/sessions/not-a-uuid", nil, "X-Session-Token", token)
		call(t, "revokeSession", 400, "DELETE", pub+"/sessions/"+sessionID, nil, "X-Session-Token", token)
		call(t, "revokeSession", 401, "DELETE", pub+"/sessions/"+session2ID, nil)
		call(t, "revokeSession", 204, "DELETE", pub+"/sessions/"+session2ID, nil, "X-Session-Token", token)
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token2)

		// Revoked sessions are listed by the admin API (inactive).
		r = call(t, "adminListIdentitySessions", 200, "GET", adm+"/admin/identities/"+identityID+"/sessions?active=false", nil)
		if l, _ := r.JSON.([]any); len(l) == 0 {
			t.Errorf("no inactive session listed: %s", r.Body)
		}

		token3 := oaAPILogin(t, rec, pub, email, ssPassword)
		// count is what the UPDATE matched: the revoked token2 session too,
		// as Kratos counts on PostgreSQL and SQLite.
		r = call(t, "revokeSessions", 200, "DELETE", pub+"/sessions", nil, "X-Session-Token", token)
		if n, _ := r.get("count").(json.Number); n.String() == "0" {
			t.Errorf("revokeSessions count %v", r.get("count"))
		}
		call(t, "revokeSessions", 401, "DELETE", pub+"/sessions", nil)
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token3)

		token4 := oaAPILogin(t, rec, pub, email, ssPassword)
		call(t, "submitSelfServiceLogoutFlowWithoutBrowser", 204, "DELETE", pub+"/self-service/logout/api", map[string]any{"session_token": token4})
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token4)
		call(t, "submitSelfServiceLogoutFlowWithoutBrowser", 403, "DELETE", pub+"/self-service/logout/api", map[string]any{"session_token": "NoSuchSessionTokenNoSuchSession1"})
		call(t, "submitSelfServiceLogoutFlowWithoutBrowser", 400, "DELETE", pub+"/self-service/logout/api", "{not json")
	})

	t.Run("API settings", func(t *testing.T) {
		f := call(t, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, "X-Session-Token", token)
		id := f.str("id")
		call(t, "initializeSelfServiceSettingsFlowWithoutBrowser", 401, "GET", pub+"/self-service/settings/api", nil)
		call(t, "getSelfServiceSettingsFlow", 200, "GET", pub+"/self-service/settings/flows?id="+id, nil, "X-Session-Token", token)
		call(t, "getSelfServiceSettingsFlow", 401, "GET", pub+"/self-service/settings/flows?id="+id, nil)
		call(t, "getSelfServiceSettingsFlow", 404, "GET", pub+"/self-service/settings/flows?id="+oaUnknownID, nil, "X-Session-Token", token)
		otherToken := oaAPILogin(t, rec, pub, "oa-admin@example.org", ssPassword)
		call(t, "getSelfServiceSettingsFlow", 403, "GET", pub+"/self-service/settings/flows?id="+id, nil, "X-Session-Token", otherToken)

		action := f.str("ui.action")
		tok := []string{"Accept", "application/json", "X-Session-Token", token}
		call(t, "submitSelfServiceSettingsFlow", 400, "POST", action, map[string]any{"method": "password", "password": "short"}, tok...)
		call(t, "submitSelfServiceSettingsFlow", 400, "POST", action, map[string]any{"method": "profile", "traits": map[string]any{"email": "not-an-email"}}, tok...)
		r := call(t, "submitSelfServiceSettingsFlow", 200, "POST", action, map[string]any{
			"method": "profile", "traits": map[string]any{"email": email, "name": map[string]any{"first": "Olga", "last": "Settings"}},
		}, tok...)
		if r.str("state") != "success" {
			t.Errorf("settings state %q", r.str("state"))
		}
		call(t, "submitSelfServiceSettingsFlow", 200, "POST", action, map[string]any{"method": "password", "password": ssPassword + "-new"}, tok...)
		call(t, "submitSelfServiceSettingsFlow", 401, "POST", action, map[string]any{"method": "password", "password": ssPassword}, jsonAccept...)
		call(t, "submitSelfServiceSettingsFlow", 404, "POST", pub+"/self-service/settings?flow="+oaUnknownID, map[string]any{"method": "password", "password": ssPassword}, tok...)
		// Back to the old password for the rest of the scenario.
		call(t, "submitSelfServiceSettingsFlow", 200, "POST", action, map[string]any{"method": "password", "password": ssPassword}, tok...)
	})

	t.Run("browser login, registration, settings, logout", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		bcall := func(t *testing.T, op string, want int, method, u string, body any, headers ...string) oaResult {
			t.Helper()
			return rec.call(t, br.c, op, want, method, u, body, headers...)
		}
		// Registration of a new identity in the browser.
		bcall(t, "initializeSelfServiceRegistrationFlowForBrowsers", 303, "GET", pub+"/self-service/registration/browser", nil, "Accept", browserAccept)
		rf := bcall(t, "initializeSelfServiceRegistrationFlowForBrowsers", 200, "GET", pub+"/self-service/registration/browser", nil, jsonAccept...)
		call(t, "getSelfServiceRegistrationFlow", 403, "GET", pub+"/self-service/registration/flows?id="+rf.str("id"), nil, jsonAccept...)
		bcall(t, "getSelfServiceRegistrationFlow", 200, "GET", pub+"/self-service/registration/flows?id="+rf.str("id"), nil, jsonAccept...)
		csrf := oaCSRF(t, rf)
		const bEmail = "oa-browser@example.org"
		bcall(t, "submitSelfServiceRegistrationFlow", 403, "POST", rf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": "forged", "password": ssPassword, "traits": map[string]any{"email": bEmail}}, jsonAccept...)
		bcall(t, "submitSelfServiceRegistrationFlow", 400, "POST", rf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": csrf, "password": ssPassword, "traits": map[string]any{"email": ""}}, jsonAccept...)
		// An HTML form with an error: back to the form with Kratos' 302.
		bcall(t, "submitSelfServiceRegistrationFlow", 302, "POST", rf.str("ui.action"),
			url.Values{"method": {"password"}, "csrf_token": {csrf}, "password": {ssPassword}, "traits.email": {"not-an-email"}}, "Accept", browserAccept)
		bcall(t, "getSelfServiceRegistrationFlow", 200, "GET", pub+"/self-service/registration/flows?id="+rf.str("id"), nil, jsonAccept...)
		r := bcall(t, "submitSelfServiceRegistrationFlow", 200, "POST", rf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": csrf, "password": ssPassword, "traits": map[string]any{"email": bEmail}}, jsonAccept...)
		if r.get("session") == nil || r.get("session_token") != nil {
			t.Errorf("browser registration answer (JSON): want session, no token: %s", r.Body)
		}
		browserIdentity = r.str("identity.id")
		box.next(t, bEmail)
		bcall(t, "initializeSelfServiceRegistrationFlowForBrowsers", 400, "GET", pub+"/self-service/registration/browser", nil, jsonAccept...)

		// Settings in the browser.
		sf := bcall(t, "initializeSelfServiceSettingsFlowForBrowsers", 200, "GET", pub+"/self-service/settings/browser", nil, jsonAccept...)
		bcall(t, "initializeSelfServiceSettingsFlowForBrowsers", 303, "GET", pub+"/self-service/settings/browser", nil, "Accept", browserAccept)
		call(t, "initializeSelfServiceSettingsFlowForBrowsers", 401, "GET", pub+"/self-service/settings/browser", nil, jsonAccept...)
		call(t, "initializeSelfServiceSettingsFlowForBrowsers", 303, "GET", pub+"/self-service/settings/browser", nil, "Accept", browserAccept)
		bcall(t, "getSelfServiceSettingsFlow", 200, "GET", pub+"/self-service/settings/flows?id="+sf.str("id"), nil, jsonAccept...)
		bcall(t, "submitSelfServiceSettingsFlow", 403, "POST", sf.str("ui.action"),
			map[string]any{"method": "profile", "csrf_token": "forged", "traits": map[string]any{"email": bEmail}}, jsonAccept...)
		bcall(t, "submitSelfServiceSettingsFlow", 200, "POST", sf.str("ui.action"),
			map[string]any{"method": "profile", "csrf_token": oaCSRF(t, sf), "traits": map[string]any{"email": bEmail, "name": map[string]any{"last": "Browser"}}}, jsonAccept...)
		bcall(t, "submitSelfServiceSettingsFlow", 303, "POST", sf.str("ui.action"),
			url.Values{"method": {"profile"}, "csrf_token": {oaCSRF(t, sf)}, "traits.email": {bEmail}}, "Accept", browserAccept)

		// Logout URL and browser logout.
		lo := bcall(t, "createSelfServiceLogoutFlowUrlForBrowsers", 200, "GET", pub+"/self-service/logout/browser", nil, jsonAccept...)
		call(t, "createSelfServiceLogoutFlowUrlForBrowsers", 401, "GET", pub+"/self-service/logout/browser", nil, jsonAccept...)
		bcall(t, "submitSelfServiceLogoutFlow", 400, "GET", pub+"/self-service/logout", nil, jsonAccept...)
		bcall(t, "submitSelfServiceLogoutFlow", 403, "GET", pub+"/self-service/logout?token=not-the-token", nil, jsonAccept...)
		call(t, "submitSelfServiceLogoutFlow", 401, "GET", lo.str("logout_url"), nil, jsonAccept...)
		bcall(t, "submitSelfServiceLogoutFlow", 204, "GET", lo.str("logout_url"), nil, jsonAccept...)

		// Login in the browser.
		bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 303, "GET", pub+"/self-service/login/browser", nil, "Accept", browserAccept)
		lf := bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 200, "GET", pub+"/self-service/login/browser?return_to="+url.QueryEscape(pub+"/self-service/x"), nil, jsonAccept...)
		if lf.str("return_to") == "" {
			t.Errorf("login flow without return_to: %s", lf.Body)
		}
		bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 400, "GET", pub+"/self-service/login/browser?return_to="+url.QueryEscape("https://evil.example/"), nil, jsonAccept...)
		call(t, "getSelfServiceLoginFlow", 403, "GET", pub+"/self-service/login/flows?id="+lf.str("id"), nil, jsonAccept...)
		bcall(t, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+lf.str("id"), nil, jsonAccept...)
		lcsrf := oaCSRF(t, lf)
		// A second flow, submitted once the browser is signed in.
		lfPre := bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 200, "GET", pub+"/self-service/login/browser", nil, jsonAccept...)
		bcall(t, "submitSelfServiceLoginFlow", 403, "POST", lf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": "forged", "identifier": bEmail, "password": ssPassword}, jsonAccept...)
		bcall(t, "submitSelfServiceLoginFlow", 400, "POST", lf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": lcsrf, "identifier": bEmail, "password": "Wrong-Password-123"}, jsonAccept...)
		r = bcall(t, "submitSelfServiceLoginFlow", 200, "POST", lf.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": lcsrf, "identifier": bEmail, "password": ssPassword}, jsonAccept...)
		if r.get("session") == nil || r.get("session_token") != nil {
			t.Errorf("browser login answer (JSON): want session, no token: %s", r.Body)
		}
		bcall(t, "toSession", 200, "GET", pub+"/sessions/whoami", nil, jsonAccept...)
		call(t, "toSession", 200, "GET", pub+"/sessions/whoami", nil, "Cookie", br.cookieHeader())
		bcall(t, "listSessions", 200, "GET", pub+"/sessions", nil, jsonAccept...)
		bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 400, "GET", pub+"/self-service/login/browser", nil, jsonAccept...)
		// A login submission with a session: 400 flow (reference §6.2).
		bcall(t, "submitSelfServiceLoginFlow", 400, "POST", lfPre.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": oaCSRF(t, lfPre), "identifier": bEmail, "password": ssPassword}, jsonAccept...)
		// Refresh.
		lf2 := bcall(t, "initializeSelfServiceLoginFlowForBrowsers", 200, "GET", pub+"/self-service/login/browser?refresh=true", nil, jsonAccept...)
		bcall(t, "submitSelfServiceLoginFlow", 200, "POST", lf2.str("ui.action"),
			map[string]any{"method": "password", "csrf_token": oaCSRF(t, lf2), "identifier": bEmail, "password": ssPassword}, jsonAccept...)
		// HTML form submission: 303.
		br2 := ssNewBrowser(t, s)
		f := br2.initFlow("login", "")
		rec.call(t, br2.c, "submitSelfServiceLoginFlow", 303, "POST", f.UI.Action,
			url.Values{"method": {"password"}, "csrf_token": {f.csrf(t)}, "identifier": {bEmail}, "password": {ssPassword}}, "Accept", browserAccept)
		lo2 := rec.call(t, br2.c, "createSelfServiceLogoutFlowUrlForBrowsers", 200, "GET", pub+"/self-service/logout/browser", nil, jsonAccept...)
		rec.call(t, br2.c, "submitSelfServiceLogoutFlow", 303, "GET", lo2.str("logout_url"), nil, "Accept", browserAccept)
	})

	t.Run("error UI", func(t *testing.T) {
		br := ssNewBrowser(t, s)
		f := br.initFlow("login", "")
		r := rec.call(t, br.c, "submitSelfServiceLoginFlow", 303, "POST", f.UI.Action,
			url.Values{"method": {"password"}, "csrf_token": {"forged"}, "identifier": {email}, "password": {ssPassword}}, "Accept", browserAccept)
		loc := ssLocation(t, r.response)
		if ssWithoutQuery(loc) != lcUI+"error" || loc.Query().Get("id") == "" {
			t.Fatalf("a forged CSRF token did not lead to the error UI: %s", loc)
		}
		e := call(t, "getSelfServiceError", 200, "GET", pub+"/self-service/errors?id="+loc.Query().Get("id"), nil)
		if e.get("error.code") == nil {
			t.Errorf("error container without error.code: %s", e.Body)
		}
		call(t, "getSelfServiceError", 200, "GET", pub+"/self-service/errors?id=stub:500", nil)
		call(t, "getSelfServiceError", 404, "GET", pub+"/self-service/errors?id="+oaUnknownID, nil)
	})

	t.Run("recovery", func(t *testing.T) {
		f := call(t, "initializeSelfServiceRecoveryFlowWithoutBrowser", 200, "GET", pub+"/self-service/recovery/api", nil)
		call(t, "initializeSelfServiceRecoveryFlowWithoutBrowser", 400, "GET", pub+"/self-service/recovery/api", nil, "X-Session-Token", token)
		call(t, "getSelfServiceRecoveryFlow", 200, "GET", pub+"/self-service/recovery/flows?id="+f.str("id"), nil)
		call(t, "getSelfServiceRecoveryFlow", 404, "GET", pub+"/self-service/recovery/flows?id="+oaUnknownID, nil)
		action := f.str("ui.action")
		call(t, "submitSelfServiceRecoveryFlow", 400, "POST", action, map[string]any{"method": "link", "email": "not-an-email"}, jsonAccept...)
		r := call(t, "submitSelfServiceRecoveryFlow", 200, "POST", action, map[string]any{"method": "link", "email": email}, jsonAccept...)
		if r.str("state") != "sent_email" {
			t.Errorf("recovery state %q", r.str("state"))
		}
		call(t, "submitSelfServiceRecoveryFlow", 404, "POST", pub+"/self-service/recovery?flow="+oaUnknownID, map[string]any{"method": "link", "email": email}, jsonAccept...)

		br := ssNewBrowser(t, s)
		link := box.next(t, email).link(t)
		r = rec.call(t, br.c, "submitSelfServiceRecoveryFlow", 303, "GET", link, nil, "Accept", browserAccept)
		// The privileged settings flow the link leads to (message 1060001
		// with context).
		settingsID := lcQuery(t, r.Header.Get("Location"), "flow")
		sf := rec.call(t, br.c, "getSelfServiceSettingsFlow", 200, "GET", pub+"/self-service/settings/flows?id="+settingsID, nil, jsonAccept...)
		if !strings.Contains(string(sf.Body), "1060001") {
			t.Errorf("settings flow after recovery without message 1060001: %s", sf.Body)
		}
		// A used link: 303 to a new flow carrying an error.
		rec.call(t, nil, "submitSelfServiceRecoveryFlow", 303, "GET", link, nil, "Accept", browserAccept)
		r = call(t, "getSelfServiceRecoveryFlow", 200, "GET", pub+"/self-service/recovery/flows?id="+f.str("id"), nil)
		if r.str("state") != "passed_challenge" {
			t.Errorf("recovery state after the link %q", r.str("state"))
		}
		// The recovered session: authentication method link_recovery.
		who := rec.call(t, br.c, "toSession", 200, "GET", pub+"/sessions/whoami", nil, jsonAccept...)
		if !strings.Contains(string(who.Body), `"link_recovery"`) {
			t.Errorf("session after recovery: %s", who.Body)
		}
		rec.call(t, br.c, "initializeSelfServiceRecoveryFlowForBrowsers", 400, "GET", pub+"/self-service/recovery/browser", nil, jsonAccept...)

		// Browser recovery flows.
		br2 := ssNewBrowser(t, s)
		bf := rec.call(t, br2.c, "initializeSelfServiceRecoveryFlowForBrowsers", 200, "GET", pub+"/self-service/recovery/browser", nil, jsonAccept...)
		rec.call(t, br2.c, "initializeSelfServiceRecoveryFlowForBrowsers", 303, "GET", pub+"/self-service/recovery/browser", nil, "Accept", browserAccept)
		call(t, "getSelfServiceRecoveryFlow", 403, "GET", pub+"/self-service/recovery/flows?id="+bf.str("id"), nil, jsonAccept...)
		rec.call(t, br2.c, "getSelfServiceRecoveryFlow", 200, "GET", pub+"/self-service/recovery/flows?id="+bf.str("id"), nil, jsonAccept...)
		rec.call(t, br2.c, "submitSelfServiceRecoveryFlow", 403, "POST", bf.str("ui.action"), map[string]any{"method": "link", "email": email, "csrf_token": "forged"}, jsonAccept...)
		rec.call(t, br2.c, "submitSelfServiceRecoveryFlow", 200, "POST", bf.str("ui.action"), map[string]any{"method": "link", "email": email, "csrf_token": oaCSRF(t, bf)}, jsonAccept...)
		box.next(t, email)

		// The admin recovery link.
		r = call(t, "adminCreateSelfServiceRecoveryLink", 200, "POST", adm+"/admin/recovery/link", map[string]any{"identity_id": identityID})
		if r.str("expires_at") == "" {
			t.Errorf("recovery link without expires_at: %s", r.Body)
		}
		r = call(t, "adminCreateSelfServiceRecoveryLink", 200, "POST", adm+"/admin/recovery/link", map[string]any{"identity_id": identityID, "expires_in": "5m"})
		br3 := ssNewBrowser(t, s)
		rec.call(t, br3.c, "submitSelfServiceRecoveryFlow", 303, "GET", r.str("recovery_link"), nil, "Accept", browserAccept)
		rec.call(t, br3.c, "toSession", 200, "GET", pub+"/sessions/whoami", nil, jsonAccept...)
		call(t, "adminCreateSelfServiceRecoveryLink", 400, "POST", adm+"/admin/recovery/link", map[string]any{"identity_id": oaUnknownID})
		call(t, "adminCreateSelfServiceRecoveryLink", 400, "POST", adm+"/admin/recovery/link", map[string]any{"identity_id": identityID, "expires_in": "soon"})
	})

	t.Run("verification", func(t *testing.T) {
		f := call(t, "initializeSelfServiceVerificationFlowWithoutBrowser", 200, "GET", pub+"/self-service/verification/api", nil)
		call(t, "getSelfServiceVerificationFlow", 200, "GET", pub+"/self-service/verification/flows?id="+f.str("id"), nil)
		call(t, "getSelfServiceVerificationFlow", 404, "GET", pub+"/self-service/verification/flows?id="+oaUnknownID, nil)
		action := f.str("ui.action")
		call(t, "submitSelfServiceVerificationFlow", 400, "POST", action, map[string]any{"method": "link", "email": "not-an-email"}, jsonAccept...)
		r := call(t, "submitSelfServiceVerificationFlow", 200, "POST", action, map[string]any{"method": "link", "email": "oa-browser@example.org"}, jsonAccept...)
		if r.str("state") != "sent_email" {
			t.Errorf("verification state %q", r.str("state"))
		}
		call(t, "submitSelfServiceVerificationFlow", 404, "POST", pub+"/self-service/verification?flow="+oaUnknownID, map[string]any{"method": "link", "email": email}, jsonAccept...)

		br := ssNewBrowser(t, s)
		link := box.next(t, "oa-browser@example.org").link(t)
		rec.call(t, br.c, "submitSelfServiceVerificationFlow", 303, "GET", link, nil, "Accept", browserAccept)
		rec.call(t, nil, "submitSelfServiceVerificationFlow", 303, "GET", link, nil, "Accept", browserAccept)
		r = call(t, "getSelfServiceVerificationFlow", 200, "GET", pub+"/self-service/verification/flows?id="+f.str("id"), nil)
		if r.str("state") != "passed_challenge" {
			t.Errorf("verification state after the link %q", r.str("state"))
		}

		bf := rec.call(t, br.c, "initializeSelfServiceVerificationFlowForBrowsers", 200, "GET", pub+"/self-service/verification/browser", nil, jsonAccept...)
		rec.call(t, br.c, "initializeSelfServiceVerificationFlowForBrowsers", 303, "GET", pub+"/self-service/verification/browser", nil, "Accept", browserAccept)
		call(t, "getSelfServiceVerificationFlow", 403, "GET", pub+"/self-service/verification/flows?id="+bf.str("id"), nil, jsonAccept...)
		rec.call(t, br.c, "getSelfServiceVerificationFlow", 200, "GET", pub+"/self-service/verification/flows?id="+bf.str("id"), nil, jsonAccept...)
		rec.call(t, br.c, "submitSelfServiceVerificationFlow", 200, "POST", bf.str("ui.action"), map[string]any{"method": "link", "email": email, "csrf_token": oaCSRF(t, bf)}, jsonAccept...)
		box.next(t, email)

		// The identities now carry verified addresses (verified_at set).
		r = call(t, "adminGetIdentity", 200, "GET", adm+"/admin/identities/"+browserIdentity, nil)
		if !strings.Contains(string(r.Body), `"verified_at"`) {
			t.Errorf("verified address without verified_at: %s", r.Body)
		}
		call(t, "adminListIdentities", 200, "GET", adm+"/admin/identities", nil)
	})

	t.Run("admin session deletion", func(t *testing.T) {
		call(t, "adminDeleteIdentitySessions", 204, "DELETE", adm+"/admin/identities/"+identityID+"/sessions", nil)
		call(t, "adminDeleteIdentitySessions", 404, "DELETE", adm+"/admin/identities/"+identityID+"/sessions", nil)
		call(t, "adminDeleteIdentitySessions", 400, "DELETE", adm+"/admin/identities/not-a-uuid/sessions", nil)
		call(t, "toSession", 401, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token)
	})
}

// oaAPILogin signs in through an API flow, checking every answer, and
// returns the session token.
func oaAPILogin(t *testing.T, rec *oaRecorder, pub, identifier, password string) string {
	t.Helper()
	f := rec.call(t, nil, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api", nil)
	r := rec.call(t, nil, "submitSelfServiceLoginFlow", 200, "POST", f.str("ui.action"),
		map[string]any{"method": "password", "identifier": identifier, "password": password}, "Accept", "application/json")
	tok := r.str("session_token")
	if tok == "" {
		t.Fatalf("login of %s without a token: %s", identifier, r.Body)
	}
	return tok
}

// oaCSRF returns the csrf_token node value of a flow answer.
func oaCSRF(t testing.TB, f oaResult) string {
	t.Helper()
	nodes, _ := f.get("ui.nodes").([]any)
	for _, n := range nodes {
		attrs, _ := n.(map[string]any)["attributes"].(map[string]any)
		if attrs["name"] == "csrf_token" {
			v, _ := attrs["value"].(string)
			return v
		}
	}
	t.Fatalf("flow without a csrf_token node: %s", f.Body)
	return ""
}

// oaExpiryScenario: every flow lives one second and a session is
// privileged for one second, so expired flows (410, or 303 for recovery
// and verification) and session_refresh_required (403) can be checked.
func oaExpiryScenario(t *testing.T, rec *oaRecorder, b testutil.Backend) {
	env := lcStart(t, b, oaConformanceConfig, `
selfservice:
  flows:
    login:
      lifespan: 1s
    registration:
      lifespan: 1s
    settings:
      lifespan: 1s
      privileged_session_max_age: 1s
    recovery:
      lifespan: 1s
    verification:
      lifespan: 1s
`)
	s := env.s
	pub, adm, call := oaEndpoints(rec, s)
	jsonAccept := []string{"Accept", "application/json"}
	const email = "oa-expiry@example.org"
	call(t, "adminCreateIdentity", 201, "POST", adm+"/admin/identities", map[string]any{
		"schema_id": "default", "traits": map[string]any{"email": email},
		"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"password": ssPassword}}},
	})
	token := oaAPILogin(t, rec, pub, email, ssPassword)

	login := call(t, "initializeSelfServiceLoginFlowWithoutBrowser", 200, "GET", pub+"/self-service/login/api", nil)
	reg := call(t, "initializeSelfServiceRegistrationFlowWithoutBrowser", 200, "GET", pub+"/self-service/registration/api", nil)
	settings := call(t, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, "X-Session-Token", token)
	recovery := call(t, "initializeSelfServiceRecoveryFlowWithoutBrowser", 200, "GET", pub+"/self-service/recovery/api", nil)
	verification := call(t, "initializeSelfServiceVerificationFlowWithoutBrowser", 200, "GET", pub+"/self-service/verification/api", nil)
	br := ssNewBrowser(t, s)
	blogin := rec.call(t, br.c, "initializeSelfServiceLoginFlowForBrowsers", 200, "GET", pub+"/self-service/login/browser", nil, jsonAccept...)
	time.Sleep(1100 * time.Millisecond)

	t.Run("fetch", func(t *testing.T) {
		call(t, "getSelfServiceLoginFlow", 410, "GET", pub+"/self-service/login/flows?id="+login.str("id"), nil)
		rec.call(t, br.c, "getSelfServiceLoginFlow", 410, "GET", pub+"/self-service/login/flows?id="+blogin.str("id"), nil, jsonAccept...)
		call(t, "getSelfServiceRegistrationFlow", 410, "GET", pub+"/self-service/registration/flows?id="+reg.str("id"), nil)
		call(t, "getSelfServiceSettingsFlow", 410, "GET", pub+"/self-service/settings/flows?id="+settings.str("id"), nil, "X-Session-Token", token)
		call(t, "getSelfServiceRecoveryFlow", 410, "GET", pub+"/self-service/recovery/flows?id="+recovery.str("id"), nil)
		call(t, "getSelfServiceVerificationFlow", 410, "GET", pub+"/self-service/verification/flows?id="+verification.str("id"), nil)
	})

	t.Run("submit", func(t *testing.T) {
		r := call(t, "submitSelfServiceLoginFlow", 410, "POST", login.str("ui.action"), map[string]any{"method": "password", "identifier": email, "password": ssPassword}, jsonAccept...)
		if r.str("use_flow_id") == "" {
			t.Errorf("expired login submission without use_flow_id: %s", r.Body)
		} else {
			// The replacement flow is a flow like any other.
			call(t, "getSelfServiceLoginFlow", 200, "GET", pub+"/self-service/login/flows?id="+r.str("use_flow_id"), nil)
		}
		call(t, "submitSelfServiceRegistrationFlow", 410, "POST", reg.str("ui.action"),
			map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": "oa-expiry-2@example.org"}}, jsonAccept...)
		call(t, "submitSelfServiceSettingsFlow", 410, "POST", settings.str("ui.action"),
			map[string]any{"method": "password", "password": ssPassword + "-x"}, "Accept", "application/json", "X-Session-Token", token)
		// Expired recovery and verification flows continue as browser flows
		// (reference §2.4): the replacement is fetched with the cookies the
		// 303 set.
		br2 := ssNewBrowser(t, s)
		r = rec.call(t, br2.c, "submitSelfServiceRecoveryFlow", 303, "POST", recovery.str("ui.action"), map[string]any{"method": "link", "email": email}, jsonAccept...)
		call(t, "getSelfServiceRecoveryFlow", 403, "GET", r.Header.Get("Location"), nil, jsonAccept...)
		nf := rec.call(t, br2.c, "getSelfServiceRecoveryFlow", 200, "GET", r.Header.Get("Location"), nil, jsonAccept...)
		if nf.str("type") != "browser" || nf.get("ui.messages") == nil {
			t.Errorf("replacement recovery flow: %s", nf.Body)
		}
		r = rec.call(t, br2.c, "submitSelfServiceVerificationFlow", 303, "POST", verification.str("ui.action"), map[string]any{"method": "link", "email": email}, jsonAccept...)
		rec.call(t, br2.c, "getSelfServiceVerificationFlow", 200, "GET", r.Header.Get("Location"), nil, jsonAccept...)
	})

	t.Run("session_refresh_required", func(t *testing.T) {
		f := call(t, "initializeSelfServiceSettingsFlowWithoutBrowser", 200, "GET", pub+"/self-service/settings/api", nil, "X-Session-Token", token)
		r := call(t, "submitSelfServiceSettingsFlow", 403, "POST", f.str("ui.action"),
			map[string]any{"method": "password", "password": ssPassword + "-x"}, "Accept", "application/json", "X-Session-Token", token)
		if r.str("error.id") != "session_refresh_required" {
			t.Errorf("error %s", r.Body)
		}
	})
}

// oaDegradedScenario: a server with recovery and verification off and the
// link method disabled, then cut off its database.
func oaDegradedScenario(t *testing.T, rec *oaRecorder, b testutil.Backend) {
	s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: `
selfservice:
  methods:
    link:
      enabled: false
`})
	pub, adm, _ := oaEndpoints(rec, s)
	id := rec.call(t, nil, "adminCreateIdentity", 201, "POST", adm+"/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "oa-degraded@example.org"}}).str("id")
	rec.call(t, nil, "adminCreateSelfServiceRecoveryLink", 404, "POST", adm+"/admin/recovery/link", map[string]any{"identity_id": id})
	rec.call(t, nil, "initializeSelfServiceRecoveryFlowWithoutBrowser", 400, "GET", pub+"/self-service/recovery/api", nil)
	rec.call(t, nil, "initializeSelfServiceRecoveryFlowForBrowsers", 400, "GET", pub+"/self-service/recovery/browser", nil, "Accept", "application/json")
	rec.call(t, nil, "initializeSelfServiceVerificationFlowWithoutBrowser", 400, "GET", pub+"/self-service/verification/api", nil)
	rec.call(t, nil, "initializeSelfServiceVerificationFlowForBrowsers", 400, "GET", pub+"/self-service/verification/browser", nil, "Accept", "application/json")
	// Registration without a session hook answers the identity alone.
	f := rec.call(t, nil, "initializeSelfServiceRegistrationFlowWithoutBrowser", 200, "GET", pub+"/self-service/registration/api", nil)
	reg := rec.call(t, nil, "submitSelfServiceRegistrationFlow", 200, "POST", f.str("ui.action"),
		map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": "oa-degraded-2@example.org"}}, "Accept", "application/json")
	if reg.get("session") != nil || reg.get("identity") == nil {
		t.Errorf("registration without session hook: %s", reg.Body)
	}
	token := oaAPILogin(t, rec, pub, "oa-degraded-2@example.org", ssPassword)

	// Without a database: readiness 503 on both ports, and 500 envelopes.
	if err := s.App.Store.DB().Close(); err != nil {
		t.Fatal(err)
	}
	rec.call(t, nil, "adminListIdentities", 500, "GET", adm+"/admin/identities", nil)
	rec.call(t, nil, "adminGetIdentity", 500, "GET", adm+"/admin/identities/"+id, nil)
	rec.call(t, nil, "adminCreateIdentity", 500, "POST", adm+"/admin/identities", map[string]any{"schema_id": "default", "traits": map[string]any{"email": "oa-degraded-3@example.org"}})
	rec.call(t, nil, "initializeSelfServiceLoginFlowWithoutBrowser", 500, "GET", pub+"/self-service/login/api", nil)
	rec.call(t, nil, "getSelfServiceLoginFlow", 500, "GET", pub+"/self-service/login/flows?id="+oaUnknownID, nil)
	rec.call(t, nil, "toSession", 500, "GET", pub+"/sessions/whoami", nil, "X-Session-Token", token)
	r := rec.call(t, nil, "isReady", 503, "GET", pub+"/health/ready", nil)
	if !strings.Contains(string(r.Body), "obfuscated") {
		t.Errorf("public readiness shows details: %s", r.Body)
	}
	rec.call(t, nil, "isReady", 503, "GET", adm+"/admin/health/ready", nil)
	rec.call(t, nil, "isAlive", 200, "GET", pub+"/health/alive", nil)
}
