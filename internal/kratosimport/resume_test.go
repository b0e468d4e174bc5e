package kratosimport_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hoplite-id/hoplite/internal/kratosimport"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// cancelAfter is a progress sink that cancels the run once the named phase
// has reported progress beyond zero.
type cancelAfter struct {
	mu     sync.Mutex
	phase  string
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	line := string(p)
	if strings.HasPrefix(line, c.phase+": ") && !strings.HasPrefix(line, c.phase+": 0/") {
		c.cancel()
	}
	return len(p), nil
}

func TestMoveFromKratosResumesAfterInterruption(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		for _, phase := range []string{"identities", "sessions"} {
			t.Run("interrupted during "+phase, func(t *testing.T) {
				k := newKratosDB(t, b)
				hash := bcryptHash(t, "same-password-for-all")
				var users []*kratosUser
				for n := 0; n < 40; n++ {
					email := fmt.Sprintf("user%02d@example.org", n)
					u := &kratosUser{Email: email, Password: "same-password-for-all",
						Credentials: []kratosCredential{passwordCredential(email, hash)},
						Sessions:    []kratosSession{{Active: true}}}
					k.add(u)
					users = append(users, u)
				}
				s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t)})
				target := kratosimport.Target{
					Store: s.App.Store, SchemaFor: s.App.Identities.SchemaFor, AvailableAAL: s.App.Identities.AvailableAAL,
					TokenHash: s.App.Sessions.TokenHash, Secrets: s.App.Config.Secrets.Default,
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				first, err := kratosimport.Run(ctx, target, kratosimport.Options{
					Source: k.dsn, BatchSize: 5, Progress: &cancelAfter{phase: phase, cancel: cancel},
				})
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted run: %v (%+v)", err, first)
				}
				if phase == "identities" && (first.Identities.Moved == 0 || first.Identities.Moved >= 40 || first.Sessions.Moved != 0) {
					t.Fatalf("interrupted run moved %+v / %+v", first.Identities, first.Sessions)
				}
				if phase == "sessions" && (first.Identities.Moved != 40 || first.Sessions.Moved == 0 || first.Sessions.Moved >= 40) {
					t.Fatalf("interrupted run moved %+v / %+v", first.Identities, first.Sessions)
				}
				inTarget := func(table string) int {
					var n int
					if err := s.App.Store.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}
				// Whole pages only: what the report counts is what is there.
				if got := inTarget("identities"); got != first.Identities.Moved {
					t.Fatalf("%d identities in Hoplite, the report says %d", got, first.Identities.Moved)
				}
				if got := inTarget("sessions"); got != first.Sessions.Moved {
					t.Fatalf("%d sessions in Hoplite, the report says %d", got, first.Sessions.Moved)
				}

				second, err := kratosimport.Run(context.Background(), target, kratosimport.Options{Source: k.dsn, BatchSize: 5})
				if err != nil {
					t.Fatal(err)
				}
				if second.Identities.Existing != first.Identities.Moved || second.Identities.Moved != 40-first.Identities.Moved ||
					second.Sessions.Existing != first.Sessions.Moved || second.Sessions.Moved != 40-first.Sessions.Moved || second.ProblemCount != 0 {
					t.Fatalf("resumed run: %+v %+v after %+v %+v", second.Identities, second.Sessions, first.Identities, first.Sessions)
				}
				if inTarget("identities") != 40 || inTarget("sessions") != 40 || inTarget("identity_credential_identifiers") != 40 {
					t.Fatal("the resumed run did not complete the move")
				}
				for _, u := range users {
					sess, res, err := s.Public.V0alpha2Api.ToSession(context.Background()).XSessionToken(u.Sessions[0].Token).Execute()
					if err != nil || sess.Identity.Id != u.ID.String() || sess.Id != u.Sessions[0].ID.String() {
						t.Fatalf("%s: whoami %v (%v)", u.Email, err, res)
					}
				}
			})
		}
	})
}
