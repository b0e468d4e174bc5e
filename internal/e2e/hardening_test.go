package e2e_test

// Places where Hoplite is stricter than Kratos without changing the wire:
// passwords only from POST bodies.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestPasswordNeverFromQueryString(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		const email = "query-password@example.org"
		ssRegister(t, s, email, ssPassword)

		q := url.Values{"method": {"password"}, "identifier": {email}, "password": {ssPassword}}
		t.Run("GET submission with the password in the query", func(t *testing.T) {
			id := apiFlowID(t, s, "login")
			r := do(t, http.MethodGet, ssFlowURL(s, "/self-service/login?flow="+id+"&"+q.Encode()), nil, "Accept", "application/json")
			if r.Status == http.StatusOK || strings.Contains(string(r.Body), "session_token") {
				t.Fatalf("a password from the query string signed in: %s", r)
			}
			if r.Status >= 500 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
		t.Run("POST form with the password only in the query", func(t *testing.T) {
			id := apiFlowID(t, s, "login")
			r := do(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+id+"&password="+url.QueryEscape(ssPassword)),
				"method=password&identifier="+url.QueryEscape(email),
				"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
			if r.Status != http.StatusBadRequest || strings.Contains(string(r.Body), "session_token") {
				t.Fatalf("status %d, want 400 for a missing password: %s", r.Status, r.Body)
			}
		})
		t.Run("the same password in the body signs in", func(t *testing.T) {
			id := apiFlowID(t, s, "login")
			r := do(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+id), q.Encode(),
				"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
			if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "session_token") {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
		})
	})
}
