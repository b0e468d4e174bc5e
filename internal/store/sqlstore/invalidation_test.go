package sqlstore_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// recordingSink remembers what a store reported.
type recordingSink struct {
	mu      sync.Mutex
	ids     []uuid.UUID
	resets  int
	trusted time.Time
}

func (r *recordingSink) Invalidate(ids ...uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, ids...)
}

func (r *recordingSink) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resets++
	r.trusted = time.Time{}
}

func (r *recordingSink) TrustUntil(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trusted = t
}

func (r *recordingSink) has(id uuid.UUID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.ids, id)
}

func (r *recordingSink) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func (r *recordingSink) isTrusted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Now().Before(r.trusted)
}

// eventually waits (generously) for cond; the test asserts that it happens,
// not how fast.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func seedIdentityWithSession(t *testing.T, st *sqlstore.Store) (*identity.Identity, *session.Session) {
	t.Helper()
	ctx := context.Background()
	now := identity.Now()
	i := &identity.Identity{
		ID: uuid.New(), SchemaID: "default", Traits: json.RawMessage(`{"email":"x@example.org"}`),
		State: identity.StateActive, AvailableAAL: identity.AAL1, CreatedAt: now, UpdatedAt: now,
	}
	if err := st.CreateIdentity(ctx, i); err != nil {
		t.Fatal(err)
	}
	s := &session.Session{
		ID: uuid.New(), IdentityID: i.ID, Active: true, AAL: identity.AAL1, TokenHash: uuid.NewString(),
		IssuedAt: now, AuthenticatedAt: now, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
	}
	if err := st.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	return i, s
}

// Each write that changes a whoami answer is reported at once to the
// writing store's sink and, through the log, to another store's.
func TestInvalidationsReachEveryInstance(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		dsn := b.NewDSN(t)
		writer, reader := migrated(t, dsn), open(t, dsn)
		local, remote := &recordingSink{}, &recordingSink{}
		writer.SetInvalidationSink(local)
		done := make(chan struct{})
		go func() {
			defer close(done)
			reader.WatchInvalidations(ctx, remote, sqlstore.WatchOptions{PollInterval: 20 * time.Millisecond})
		}()
		defer func() { cancel(); <-done }()
		eventually(t, "the watcher catching up", remote.isTrusted)

		writes := map[string]func(i *identity.Identity, s *session.Session) error{
			"revoke session": func(i *identity.Identity, s *session.Session) error { return writer.RevokeSession(ctx, i.ID, s.ID) },
			"revoke by token": func(i *identity.Identity, s *session.Session) error {
				_, err := writer.RevokeSessionByTokenHash(ctx, s.TokenHash)
				return err
			},
			"revoke others": func(i *identity.Identity, s *session.Session) error {
				_, err := writer.RevokeSessionsExcept(ctx, i.ID, uuid.Nil)
				return err
			},
			"delete sessions": func(i *identity.Identity, s *session.Session) error {
				_, err := writer.DeleteSessionsOfIdentity(ctx, i.ID)
				return err
			},
			"refresh session": func(i *identity.Identity, s *session.Session) error {
				s.AAL = identity.AAL2
				return writer.UpdateSession(ctx, s)
			},
			"update identity": func(i *identity.Identity, s *session.Session) error {
				i.Traits = json.RawMessage(`{"email":"y@example.org"}`)
				return writer.UpdateIdentity(ctx, i)
			},
			"delete identity": func(i *identity.Identity, s *session.Session) error { return writer.DeleteIdentity(ctx, i.ID) },
		}
		for name, write := range writes {
			i, s := seedIdentityWithSession(t, writer)
			if err := write(i, s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !local.has(i.ID) {
				t.Errorf("%s: the writing instance's cache was not told at once", name)
			}
			eventually(t, name+" reaching the other instance", func() bool { return remote.has(i.ID) })
		}
		// A write that changes nothing invalidates nothing.
		before := local.count()
		if _, err := writer.RevokeSessionByTokenHash(ctx, "no-such-token"); err != nil {
			t.Fatal(err)
		}
		if local.count() != before {
			t.Error("a revocation of an unknown token reported an invalidation")
		}
	})
}

// A log id handed out before a larger one but committed after it is still
// delivered: the poller does not move past the hole.
func TestInvalidationPollerWaitsForHoles(t *testing.T) {
	dsn := testutil.NewSQLiteDSN(t)
	if b := testutil.Backends(); len(b) > 0 && b[len(b)-1].Name == "mysql" {
		// MySQL hands out AUTO_INCREMENT ids to concurrent transactions;
		// SQLite serialises writers, so holes only appear on MySQL.
		dsn = b[len(b)-1].NewDSN(t)
	} else {
		t.Logf("%s is not set: the hole is not exercised (SQLite writers never interleave)", testutil.EnvMySQL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer, reader := migrated(t, dsn), open(t, dsn)
	remote := &recordingSink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		reader.WatchInvalidations(ctx, remote, sqlstore.WatchOptions{PollInterval: 20 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	eventually(t, "the watcher catching up", remote.isTrusted)

	late := uuid.New()
	var tx interface {
		Commit() error
		Rollback() error
	}
	if writer.Dialect() == sqlstore.MySQL {
		slow, err := writer.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Rollback()
		if _, err := slow.ExecContext(ctx, "INSERT INTO session_invalidations (identity_id, created_at) VALUES (?, ?)", late, identity.Now()); err != nil {
			t.Fatal(err)
		}
		tx = slow
	}
	i, s := seedIdentityWithSession(t, writer)
	if err := writer.RevokeSession(ctx, i.ID, s.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the later transaction's invalidation", func() bool { return remote.has(i.ID) })
	if tx != nil {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the earlier id committed last", func() bool { return remote.has(late) })
	}
}
