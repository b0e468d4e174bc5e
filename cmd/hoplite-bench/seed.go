package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

// benchPassword is every seeded identity's password (and every registered
// one's): long enough for the policy, unlike the identifiers, and under
// bcrypt's 72 bytes.
const benchPassword = "Hoplite-bench: correct horse battery staple 42"

// seedEmail is the address (and password identifier) of identity k.
func seedEmail(k int) string { return fmt.Sprintf("user%07d@seed.bench.example.org", k) }

// seeded is what the phases need to know about the seeded data.
type seeded struct {
	identityIDs []uuid.UUID
	emails      []string
	tokens      []string // session tokens, as a client holds them
	summary     string   // how and how fast, for the report
}

// sessionCollector stands in for the store behind session.Manager: Persist
// hands it each new session, tokens and keyed hashes set exactly as for a
// login.
type sessionCollector struct {
	session.Store
	out []*session.Session
}

func (c *sessionCollector) CreateSession(_ context.Context, s *session.Session) error {
	c.out = append(c.out, s)
	return nil
}

// seed fills a migrated database with n identities and m sessions.
//
// Identities are built like the admin API builds them (traits validated and
// identifiers and addresses derived by identity.Service.Prepare against the
// built-in schema, available_aal derived from the credentials), all sharing
// one password hash computed once with the server's hasher settings.
// Sessions come from session.Manager.New and Persist with the server's
// secrets, so the tokens work against the real server. Rows go in through
// sqlstore's bulk seeding API: multi-row INSERTs, large transactions.
func seed(ctx context.Context, cfg *config.Config, hasher hash.Hasher, n, m int, out io.Writer) (*seeded, error) {
	total := time.Now()
	st, err := sqlstore.Open(ctx, cfg.DSN)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	schemas, err := schema.Load(ctx, []schema.Source{schema.BuiltinSource()}, "", nil)
	if err != nil {
		return nil, err
	}
	svc := identity.NewService(st, schemas, cfg.PublicBaseURL(), app.CredentialKinds()...)

	t := time.Now()
	hashed, err := hasher.Generate(ctx, []byte(benchPassword))
	if err != nil {
		return nil, err
	}
	hashTime := time.Since(t)
	credCfg, _ := json.Marshal(identity.PasswordConfig{HashedPassword: string(hashed)})

	opts := sqlstore.SeedOptions{TxRows: 10000, Workers: 4}
	if st.Dialect() == sqlstore.SQLite {
		opts.Workers = 1 // one writer
	}
	s := &seeded{identityIDs: make([]uuid.UUID, n), emails: make([]string, n), tokens: make([]string, 0, m)}

	// Identities, in chunks so the whole set never sits in memory at once.
	const chunk = 20000
	var prepTime, insertTime time.Duration
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		batch := make([]*identity.Identity, to-from)
		t := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var prepErr error
		par := runtime.NumCPU()
		for g := 0; g < par; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for k := g; k < len(batch); k += par {
					idx := from + k
					email := seedEmail(idx)
					i := &identity.Identity{
						ID: uuid.New(), SchemaID: schema.DefaultID, State: identity.StateActive,
						Traits: json.RawMessage(`{"email":"` + email + `"}`),
						Credentials: map[identity.CredentialsType]identity.Credentials{
							identity.CredentialsPassword: {Type: identity.CredentialsPassword, Config: credCfg},
						},
					}
					now := identity.Now()
					i.CreatedAt, i.UpdatedAt = now, now
					if _, err := svc.Prepare(i); err != nil {
						mu.Lock()
						prepErr = fmt.Errorf("identity %d: %w", idx, err)
						mu.Unlock()
						return
					}
					if i.AvailableAAL != identity.AAL1 {
						mu.Lock()
						prepErr = fmt.Errorf("identity %d: available_aal %q, want aal1", idx, i.AvailableAAL)
						mu.Unlock()
						return
					}
					batch[k] = i
					s.identityIDs[idx] = i.ID
					s.emails[idx] = email
				}
			}(g)
		}
		wg.Wait()
		if prepErr != nil {
			return nil, prepErr
		}
		prepTime += time.Since(t)
		t = time.Now()
		if err := st.SeedIdentities(ctx, batch, opts); err != nil {
			return nil, err
		}
		insertTime += time.Since(t)
	}

	// Sessions: session k belongs to identity k mod n.
	var sessTokenTime, sessInsertTime time.Duration
	for from := 0; from < m; from += chunk {
		to := min(from+chunk, m)
		col := &sessionCollector{out: make([]*session.Session, 0, to-from)}
		mgr := session.NewManager(col, cfg.SessionSecrets(), session.Config{Lifespan: cfg.Session.Lifespan}, nil)
		t = time.Now()
		for k := from; k < to; k++ {
			owner := &identity.Identity{ID: s.identityIDs[k%n], State: identity.StateActive}
			sess := mgr.New(owner, session.AuthenticationMethod{Method: string(identity.CredentialsPassword)})
			if err := mgr.Persist(ctx, sess); err != nil {
				return nil, err
			}
			s.tokens = append(s.tokens, sess.Token)
		}
		sessTokenTime += time.Since(t)
		t = time.Now()
		if err := st.SeedSessions(ctx, col.out, opts); err != nil {
			return nil, err
		}
		sessInsertTime += time.Since(t)
	}

	t = time.Now()
	if err := st.FinishSeeding(ctx); err != nil {
		return nil, err
	}
	finishTime := time.Since(t)
	elapsed := time.Since(total)
	rows := n*5 + m // identity, credential, identifier, verifiable and recovery address; session
	s.summary = fmt.Sprintf("%d identities (%d rows in 5 tables) and %d sessions in %s (%.0f rows/s): "+
		"one password hash computed once (%s) and shared; identities built by identity.Service.Prepare against the built-in schema (%s); "+
		"sessions from session.Manager.New+Persist with the server's secrets (%s); "+
		"multi-row INSERTs (up to %d placeholders a statement), %d rows a transaction, %d connection(s): identities %s, sessions %s; %s %s",
		n, n*5, m, round(elapsed), float64(rows)/elapsed.Seconds(),
		round(hashTime), round(prepTime), round(sessTokenTime),
		st.SeedStatementParams(), opts.TxRows, opts.Workers, round(insertTime), round(sessInsertTime),
		finishStatement(st.Dialect()), round(finishTime))
	fmt.Fprintf(out, "seeded %s\n", s.summary)
	return s, nil
}

func finishStatement(d sqlstore.Dialect) string {
	switch d {
	case sqlstore.Postgres:
		return "ANALYZE"
	case sqlstore.MySQL:
		return "ANALYZE TABLE"
	}
	return "WAL checkpoint"
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
