package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// InvalidationSink is told which identities' cached sessions have gone
// stale. The session cache implements it; the store feeds it from its own
// writes at once and from every other instance's writes through
// WatchInvalidations.
type InvalidationSink interface {
	// Invalidate drops what is cached for the identities.
	Invalidate(identityIDs ...uuid.UUID)
	// Reset drops everything and stops trusting the cache: invalidations
	// may have been missed.
	Reset()
	// TrustUntil says that every invalidation committed until shortly
	// before now has been delivered, so the cache may answer until t.
	TrustUntil(t time.Time)
}

// invalidationChannel is the PostgreSQL NOTIFY channel; the payload is the
// identity id.
const invalidationChannel = "hoplite_session_invalidations"

// SetInvalidationSink makes the store report the identities its own writes
// invalidate, right after each commit. Call it before serving.
func (s *Store) SetInvalidationSink(sink InvalidationSink) { s.sink = sink }

// invalidate appends identity ids to the invalidation log inside tx (on
// PostgreSQL, notifying every listener when tx commits). Every write that
// changes what /sessions/whoami answers for an identity calls it; the
// caller reports the ids to the local sink after the commit (see
// txInvalidating).
func (s *Store) invalidate(ctx context.Context, tx *sql.Tx, ids ...uuid.UUID) error {
	now := identity.Now()
	for _, id := range ids {
		var err error
		if s.dialect == Postgres {
			_, err = tx.ExecContext(ctx, `WITH logged AS (INSERT INTO session_invalidations (identity_id, created_at) VALUES ($1, $2) RETURNING identity_id)
SELECT pg_notify('`+invalidationChannel+`', identity_id::text) FROM logged`, id, now)
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO session_invalidations (identity_id, created_at) VALUES (?, ?)", id, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// txInvalidating runs fn in a transaction; fn returns the identities whose
// sessions it changed. They are logged in the same transaction and dropped
// from this instance's cache after the commit.
func (s *Store) txInvalidating(ctx context.Context, fn func(tx *sql.Tx) ([]uuid.UUID, error)) error {
	var ids []uuid.UUID
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if ids, err = fn(tx); err != nil {
			return err
		}
		return s.invalidate(ctx, tx, ids...)
	})
	if err == nil && s.sink != nil && len(ids) > 0 {
		s.sink.Invalidate(ids...)
	}
	return err
}

// WatchOptions tune WatchInvalidations.
type WatchOptions struct {
	// PollInterval is how often SQLite and MySQL read the log.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Retention of the invalidation log: rows older than this are pruned (a
// poller only needs the rows since its previous poll).
const invalidationRetention = 10 * time.Minute

// gapWait is how long a poller waits for a hole in the log's ids to fill:
// an id taken by a transaction that has not committed yet. The log insert is
// the last statement of its transaction, so holes that stay open longer are
// rolled-back inserts.
const gapWait = 10 * time.Second

// WatchInvalidations delivers every instance's invalidations to sink until
// ctx ends: PostgreSQL through LISTEN/NOTIFY on a dedicated connection,
// SQLite and MySQL by polling the log every PollInterval. It returns when
// ctx ends.
func (s *Store) WatchInvalidations(ctx context.Context, sink InvalidationSink, opts WatchOptions) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	go s.pruneInvalidations(ctx, opts.Logger)
	if s.dialect == Postgres {
		s.listen(ctx, sink, opts.Logger)
		return
	}
	s.poll(ctx, sink, opts)
}

// poll reads the log after a cursor. Ids are handed out before their
// transactions commit, so a smaller id can appear after a larger one: the
// cursor only moves past a hole once the hole is filled or gapWait has
// passed, and ids already handled above the cursor are remembered.
func (s *Store) poll(ctx context.Context, sink InvalidationSink, opts WatchOptions) {
	// The cache may trust itself for a few intervals after a poll began:
	// when polls stall, it stops answering and every check reads SQL.
	trustFor := 4 * opts.PollInterval
	var (
		cursor  int64
		started bool
		pending []pendingID // handled ids above the cursor, ascending
	)
	ticker := time.NewTicker(opts.PollInterval)
	defer ticker.Stop()
	failing := false
	for {
		begin := time.Now()
		err := func() error {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if !started {
				// A fresh start: the cache is empty, so only what comes
				// after the log's current end matters. The cursor starts
				// gapWait back, for transactions that took their id
				// earlier but commit only now.
				var maxID sql.NullInt64
				if err := s.db.QueryRowContext(qctx, s.q("SELECT MAX(id) FROM session_invalidations WHERE created_at < ?"), identity.Now().Add(-gapWait)).Scan(&maxID); err != nil {
					return err
				}
				cursor, started = maxID.Int64, true
			}
			rows, err := s.db.QueryContext(qctx, s.q("SELECT id, identity_id FROM session_invalidations WHERE id > ? ORDER BY id LIMIT 10000"), cursor)
			if err != nil {
				return err
			}
			var ids []uuid.UUID
			now := time.Now()
			for rows.Next() {
				var id int64
				var identityID uuid.UUID
				if err := rows.Scan(&id, &identityID); err != nil {
					rows.Close()
					return err
				}
				k := sort.Search(len(pending), func(k int) bool { return pending[k].id >= id })
				if k < len(pending) && pending[k].id == id {
					continue
				}
				pending = append(pending, pendingID{})
				copy(pending[k+1:], pending[k:])
				pending[k] = pendingID{id: id, seen: now}
				ids = append(ids, identityID)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(ids) > 0 {
				sink.Invalidate(ids...)
			}
			for len(pending) > 0 && (pending[0].id == cursor+1 || now.Sub(pending[0].seen) > gapWait) {
				cursor = pending[0].id
				pending = pending[1:]
			}
			return nil
		}()
		switch {
		case err == nil:
			if failing {
				opts.Logger.Info("session invalidation log readable again; session cache resumed")
				failing = false
			}
			sink.TrustUntil(begin.Add(trustFor))
		case ctx.Err() != nil:
			return
		default:
			if !failing {
				opts.Logger.Warn("reading the session invalidation log failed; session checks read the database until it works again", "error", err)
				failing = true
			}
		}
		select {
		case <-ctx.Done():
			sink.Reset()
			return
		case <-ticker.C:
		}
	}
}

type pendingID struct {
	id   int64
	seen time.Time
}

// listen keeps a LISTEN connection open. While it is down the cache is not
// trusted; after it is back the cache starts empty, since notifications sent
// meanwhile are lost.
func (s *Store) listen(ctx context.Context, sink InvalidationSink, logger *slog.Logger) {
	const (
		idleCheck = 250 * time.Millisecond // a query on a quiet connection proves it alive
		trustFor  = time.Second
	)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := func() error {
			cfg, err := pgx.ParseConfig(s.dsn)
			if err != nil {
				return err
			}
			// Waiting for a notification with a deadline must not send a
			// cancel request to the server each time: let the deadline
			// interrupt the read, which leaves the connection usable.
			cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
				return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			conn, err := pgx.ConnectConfig(cctx, cfg)
			cancel()
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "LISTEN "+invalidationChannel); err != nil {
				return err
			}
			// Anything cached before this point may have missed a
			// notification.
			sink.Reset()
			sink.TrustUntil(time.Now().Add(trustFor))
			logger.Debug("listening for session invalidations")
			backoff = 100 * time.Millisecond
			for {
				wctx, cancel := context.WithTimeout(ctx, idleCheck)
				n, err := conn.WaitForNotification(wctx)
				cancel()
				switch {
				case err == nil:
					id, perr := uuid.Parse(n.Payload)
					if perr != nil {
						return fmt.Errorf("unexpected notification payload %q", n.Payload)
					}
					sink.Invalidate(id)
				case ctx.Err() != nil:
					return nil
				case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
					pctx, cancel := context.WithTimeout(ctx, time.Second)
					_, err = conn.Exec(pctx, "SELECT 1")
					cancel()
					if err != nil {
						return err
					}
				default:
					return err
				}
				sink.TrustUntil(time.Now().Add(trustFor))
			}
		}()
		sink.Reset()
		if ctx.Err() != nil {
			return
		}
		logger.Warn("the session invalidation listener lost its connection; session checks read the database until it is back", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// pruneInvalidations deletes old log rows now and then. The newest row is
// always kept, so that an AUTO_INCREMENT counter rebuilt from the table
// after a restart never hands out an id a poller has already passed.
func (s *Store) pruneInvalidations(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.PruneInvalidations(ctx, identity.Now().Add(-invalidationRetention)); err != nil && ctx.Err() == nil {
			logger.Warn("pruning the session invalidation log failed", "error", err)
		}
	}
}

// PruneInvalidations deletes log rows created before cutoff, except the
// newest.
func (s *Store) PruneInvalidations(ctx context.Context, cutoff time.Time) error {
	var maxID sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(id) FROM session_invalidations").Scan(&maxID); err != nil {
		return s.mapErr(err)
	}
	if !maxID.Valid {
		return nil
	}
	_, err := s.db.ExecContext(ctx, s.q("DELETE FROM session_invalidations WHERE created_at < ? AND id < ?"), cutoff, maxID.Int64)
	if err != nil {
		return fmt.Errorf("pruning session invalidations: %w", s.mapErr(err))
	}
	return nil
}
