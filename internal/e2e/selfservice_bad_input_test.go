package e2e_test

// Bad input on the self-service submit endpoints, on every database: broken
// JSON, wrong content types, oversized and deeply nested bodies, invalid
// UTF-8, NUL characters and SQL-ish strings in the fields that reach the
// database. Each gets a clear 4xx answer (the error envelope, or the flow
// with a message on the right field), never a 500, and none of them breaks
// the flow or the server for the next, valid request.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestSelfServiceBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		env := lcStart(t, b)
		s, box := env.s, env.box
		const email = "bad-input@example.org"
		identityID := ssRegister(t, s, email, ssPassword).Identity.Id
		box.next(t, email) // the verification mail
		token := *ssLogin(t, s, email, ssPassword).SessionToken

		// apiFlow starts an API flow of kind and returns its submit URL.
		apiFlow := func(t *testing.T, kind string) string {
			t.Helper()
			headers := []string{}
			if kind == "settings" {
				headers = append(headers, "X-Session-Token", token)
			}
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/"+kind+"/api"), nil, headers...)
			if r.Status != http.StatusOK {
				t.Fatalf("%s init: %s", kind, r)
			}
			var f struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r.Body, &f); err != nil || f.ID == "" {
				t.Fatalf("%s init answer %s", kind, r.Body)
			}
			return ssFlowURL(s, "/self-service/"+kind+"?flow="+f.ID)
		}
		// A valid submission per kind, whose one text field carries the
		// value under test.
		bodyWith := func(kind, value string) map[string]any {
			switch kind {
			case "login":
				return map[string]any{"method": "password", "identifier": value, "password": ssPassword}
			case "registration":
				return map[string]any{"method": "password", "password": ssPassword, "traits": map[string]any{"email": value}}
			case "settings":
				return map[string]any{"method": "profile", "traits": map[string]any{"email": email, "name": map[string]any{"first": value}}}
			default: // recovery, verification
				return map[string]any{"method": "link", "email": value}
			}
		}
		kinds := []string{"login", "registration", "settings", "recovery", "verification"}
		auth := func(kind string) []string {
			if kind == "settings" {
				return []string{"X-Session-Token", token}
			}
			return nil
		}
		// requireClientError accepts a 4xx answer that is JSON: the error
		// envelope or a flow.
		requireClientError := func(t *testing.T, r response, want int) map[string]any {
			t.Helper()
			if r.Status != want {
				t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
			}
			var v map[string]any
			if err := json.Unmarshal(r.Body, &v); err != nil {
				t.Fatalf("answer is not JSON: %s", r.Body)
			}
			if v["error"] == nil && v["ui"] == nil {
				t.Fatalf("answer is neither an error nor a flow: %s", r.Body)
			}
			return v
		}

		for _, kind := range kinds {
			t.Run(kind, func(t *testing.T) {
				t.Run("malformed JSON", func(t *testing.T) {
					r := do(t, http.MethodPost, apiFlow(t, kind), `{"method": "password",`, append(auth(kind), "Content-Type", "application/json", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusBadRequest)
				})
				t.Run("JSON of the wrong shape", func(t *testing.T) {
					r := do(t, http.MethodPost, apiFlow(t, kind), `["method", "password"]`, append(auth(kind), "Content-Type", "application/json", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusBadRequest)
				})
				t.Run("deeply nested JSON", func(t *testing.T) {
					deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
					r := do(t, http.MethodPost, apiFlow(t, kind), deep, append(auth(kind), "Content-Type", "application/json", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusBadRequest)
				})
				t.Run("unsupported content type", func(t *testing.T) {
					raw, _ := json.Marshal(bodyWith(kind, email))
					r := do(t, http.MethodPost, apiFlow(t, kind), raw, append(auth(kind), "Content-Type", "text/plain", "Accept", "application/json")...)
					if r.Status < 400 || r.Status >= 500 {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
				})
				t.Run("oversized body", func(t *testing.T) {
					huge := `{"method":"password","identifier":"` + strings.Repeat("a", 2<<20) + `"}`
					r := do(t, http.MethodPost, apiFlow(t, kind), huge, append(auth(kind), "Content-Type", "application/json", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusRequestEntityTooLarge)
				})
				t.Run("invalid UTF-8 in JSON", func(t *testing.T) {
					raw, _ := json.Marshal(bodyWith(kind, "PLACEHOLDER"))
					body := strings.Replace(string(raw), "PLACEHOLDER", "bad\xff\xfe", 1)
					r := do(t, http.MethodPost, apiFlow(t, kind), body, append(auth(kind), "Content-Type", "application/json", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusBadRequest)
				})
				t.Run("invalid UTF-8 in a form", func(t *testing.T) {
					field := map[string]string{"login": "identifier", "registration": "traits.email", "settings": "traits.name.first", "recovery": "email", "verification": "email"}[kind]
					method := map[string]string{"login": "password", "registration": "password", "settings": "profile", "recovery": "link", "verification": "link"}[kind]
					form := "method=" + method + "&password=" + ssPassword + "&" + field + "=bad%FF%FE"
					if kind == "settings" {
						form += "&traits.email=" + email
					}
					r := do(t, http.MethodPost, apiFlow(t, kind), form, append(auth(kind), "Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")...)
					requireClientError(t, r, http.StatusBadRequest)
				})
				// Values the database must take as plain data: a NUL
				// character (PostgreSQL text cannot hold one), SQL, and
				// characters outside the Basic Multilingual Plane (MySQL's
				// legacy utf8 cannot hold them).
				for name, value := range map[string]string{
					"NUL character": "nul\x00@example.org",
					"SQL":           `x' OR '1'='1'; DROP TABLE identities; --@example.org`,
					"emoji":         "\U0001F600@example.org",
				} {
					t.Run(name, func(t *testing.T) {
						r := doJSON(t, http.MethodPost, apiFlow(t, kind), bodyWith(kind, value), append(auth(kind), "Accept", "application/json")...)
						if r.Status >= 500 || r.Status < 200 {
							t.Fatalf("status %d: %s", r.Status, r.Body)
						}
						var v map[string]any
						if err := json.Unmarshal(r.Body, &v); err != nil {
							t.Fatalf("answer is not JSON: %s", r.Body)
						}
					})
				}
			})
		}

		t.Run("unknown and malformed flow ids", func(t *testing.T) {
			for _, kind := range kinds {
				for _, id := range []string{"5b9a5f0e-3c1a-4c6b-9f0e-1a2b3c4d5e6f", "not-a-uuid", "' OR 1=1 --", ""} {
					r := doJSON(t, http.MethodPost, ssFlowURL(s, "/self-service/"+kind+"?flow="+strings.ReplaceAll(id, " ", "%20")), bodyWith(kind, email), append(auth(kind), "Accept", "application/json")...)
					if r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
						t.Errorf("%s with flow %q: %s", kind, id, r)
					}
					if e := requireEnvelope(t, r, r.Status); e.Code != r.Status {
						t.Errorf("%s with flow %q: envelope %+v", kind, id, e)
					}
				}
			}
		})

		t.Run("everything still works", func(t *testing.T) {
			ssLogin(t, s, email, ssPassword)
			r := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", token)
			if r.Status != http.StatusOK {
				t.Fatalf("whoami: %s", r)
			}
			if traits := lcTraits(t, s, identityID); traits["email"] != email {
				t.Errorf("traits changed by the bad input: %v", traits)
			}
		})
	})
}
