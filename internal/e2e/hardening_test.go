package e2e_test

// Places where Hoplite is stricter than Kratos without changing the wire:
// passwords only from POST bodies.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestRevokedSessionStaysRevoked races a revocation against a re-authentication
// of the same session (which writes the session back from memory): however
// they interleave, the session ends revoked, and its tokens, old and new,
// are refused.
func TestRevokedSessionStaysRevoked(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
		ctx := context.Background()
		api := s.Public.V0alpha2Api
		const email = "revoke-race@example.org"
		identityID := ssRegister(t, s, email, ssPassword).Identity.Id
		other := *ssLogin(t, s, email, ssPassword).SessionToken
		for round := 0; round < 8; round++ {
			login := ssLogin(t, s, email, ssPassword)
			token, sessionID := *login.SessionToken, login.Session.Id
			f, res, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Refresh(true).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("refresh init: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			var wg sync.WaitGroup
			var refreshed response
			start := make(chan struct{})
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				raw, _ := json.Marshal(ssPasswordLogin(email, ssPassword))
				refreshed = do(t, http.MethodPost, ssFlowURL(s, "/self-service/login?flow="+f.Id), raw,
					"Content-Type", "application/json", "Accept", "application/json", "X-Session-Token", token)
			}()
			go func() {
				defer wg.Done()
				<-start
				// Revoked by id from another session of the identity, so
				// that the token rotation cannot make the revocation miss.
				r := do(t, http.MethodDelete, ssFlowURL(s, "/sessions/"+sessionID), nil, "X-Session-Token", other)
				if r.Status != http.StatusNoContent {
					t.Errorf("revoke: %s", r)
				}
			}()
			close(start)
			wg.Wait()
			if refreshed.Status >= 500 {
				t.Fatalf("round %d: refresh answered %s", round, refreshed)
			}
			tokens := []string{token}
			var out struct {
				SessionToken string `json:"session_token"`
				Session      struct {
					ID string `json:"id"`
				} `json:"session"`
			}
			if refreshed.Status == http.StatusOK && json.Unmarshal(refreshed.Body, &out) == nil && out.Session.ID == sessionID {
				tokens = append(tokens, out.SessionToken)
			}
			for _, tok := range tokens {
				if r := do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", tok); r.Status != http.StatusUnauthorized {
					t.Fatalf("round %d: whoami after the revocation: %s", round, r)
				}
			}
			r := do(t, http.MethodGet, adminURL(s, "/identities/"+identityID+"/sessions"), nil)
			var list []struct {
				ID     string `json:"id"`
				Active bool   `json:"active"`
			}
			if err := json.Unmarshal(r.Body, &list); err != nil {
				t.Fatalf("session list: %s", r)
			}
			for _, x := range list {
				if x.ID == sessionID && x.Active {
					t.Fatalf("round %d: the revoked session %s is active again", round, sessionID)
				}
			}
		}
	})
}

// TestSessionIdleTimeout: with session.idle_timeout a session in use lives
// on past the timeout, and one left alone for longer ends.
func TestSessionIdleTimeout(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		const idle = 3 * time.Second
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: "session:\n  idle_timeout: 3s\n"})
		const email = "idle@example.org"
		ssRegister(t, s, email, ssPassword)
		token := *ssLogin(t, s, email, ssPassword).SessionToken
		whoami := func() int {
			return do(t, http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil, "X-Session-Token", token).Status
		}
		start := time.Now()
		for time.Since(start) < idle+idle/2 {
			if st := whoami(); st != http.StatusOK {
				t.Fatalf("whoami of a session in use after %v: %d", time.Since(start).Round(time.Millisecond), st)
			}
			time.Sleep(idle / 4)
		}
		time.Sleep(idle + idle/3)
		if st := whoami(); st != http.StatusUnauthorized {
			t.Fatalf("whoami after %v idle: %d, want 401", idle+idle/3, st)
		}
	})
}
