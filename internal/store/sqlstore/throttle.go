package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/throttle"
)

// ThrottleStates reads the counters of the keys that have one.
func (s *Store) ThrottleStates(ctx context.Context, keys []string) (map[string]throttle.State, error) {
	out := make(map[string]throttle.State, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key_hash, failures, window_start, blocked_until, expires_at FROM throttle_counters WHERE key_hash IN (`+placeholders(len(keys))+`)`), args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		st, err := scanThrottle(rows, &k)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out[k] = st
	}
	return out, s.mapErr(rows.Err())
}

func scanThrottle(row interface{ Scan(...any) error }, key *string) (throttle.State, error) {
	var st throttle.State
	var blocked sql.NullTime
	if err := row.Scan(key, &st.Failures, &st.WindowStart, &blocked, &st.ExpiresAt); err != nil {
		return st, err
	}
	st.WindowStart, st.ExpiresAt = st.WindowStart.UTC(), st.ExpiresAt.UTC()
	if blocked.Valid {
		st.BlockedUntil = blocked.Time.UTC()
	}
	return st, nil
}

// UpdateThrottle changes one counter in a transaction that holds the row's
// lock, so concurrent failures on any instance are all counted.
func (s *Store) UpdateThrottle(ctx context.Context, key string, fn func(*throttle.State)) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Create the row first so that there is always a row to lock. On
		// MySQL the no-op update takes the row's exclusive lock at once:
		// INSERT IGNORE would take a shared lock on an existing row, and two
		// transactions upgrading theirs for the update deadlock.
		insert := `INSERT INTO throttle_counters (key_hash, failures, window_start, blocked_until, expires_at) VALUES (?, 0, ?, NULL, ?) ON CONFLICT (key_hash) DO NOTHING`
		if s.dialect == MySQL {
			insert = `INSERT INTO throttle_counters (key_hash, failures, window_start, blocked_until, expires_at) VALUES (?, 0, ?, NULL, ?) ON DUPLICATE KEY UPDATE failures = failures`
		}
		epoch := time.Unix(0, 0).UTC()
		if _, err := tx.ExecContext(ctx, s.q(insert), key, epoch, epoch); err != nil {
			return err
		}
		sel := `SELECT key_hash, failures, window_start, blocked_until, expires_at FROM throttle_counters WHERE key_hash = ?`
		if s.dialect != SQLite {
			sel += ` FOR UPDATE`
		}
		var k string
		st, err := scanThrottle(tx.QueryRowContext(ctx, s.q(sel), key), &k)
		if err != nil {
			return err
		}
		if st.WindowStart.Equal(epoch) {
			st.WindowStart = time.Time{}
		}
		fn(&st)
		var blocked any
		if !st.BlockedUntil.IsZero() {
			blocked = st.BlockedUntil.UTC()
		}
		ws := st.WindowStart
		if ws.IsZero() {
			ws = epoch
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE throttle_counters SET failures = ?, window_start = ?, blocked_until = ?, expires_at = ? WHERE key_hash = ?`),
			st.Failures, ws.UTC(), blocked, st.ExpiresAt.UTC(), key)
		return err
	})
}

// DeleteThrottle forgets counters.
func (s *Store) DeleteThrottle(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM throttle_counters WHERE key_hash IN (`+placeholders(len(keys))+`)`), args...)
	return s.mapErr(err)
}

// PruneThrottle deletes counters that expired before t.
func (s *Store) PruneThrottle(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM throttle_counters WHERE expires_at < ?`), t.UTC())
	if err != nil {
		return 0, s.mapErr(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// placeholders is "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
