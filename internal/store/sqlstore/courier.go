package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/store"
)

// The courier queue. Claims are atomic: on PostgreSQL and MySQL the rows
// are picked with SELECT … FOR UPDATE SKIP LOCKED inside the claiming
// transaction (so concurrent workers pick disjoint rows without waiting
// for each other), on SQLite the transaction holds the write lock from its
// start (_txlock=immediate). MySQL runs these transactions at READ
// COMMITTED, which takes no gap locks, so claims, inserts and updates of
// the queue cannot deadlock on index gaps.

var _ courier.Store = (*Store)(nil)

const courierCols = "id, type, status, recipient, subject, body, template_type, template_data, send_count, last_error, claimed_until, claim_token, created_at, updated_at"

func scanCourierMessage(sc interface{ Scan(...any) error }) (courier.Message, error) {
	var (
		m                    courier.Message
		data                 string
		lastErr, token       sql.NullString
		claimedUntil         sql.NullTime
		typ, status, sendCnt int
		templateType         string
	)
	if err := sc.Scan(&m.ID, &typ, &status, &m.Recipient, &m.Subject, &m.Body, &templateType, &data, &sendCnt,
		&lastErr, &claimedUntil, &token, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return m, err
	}
	m.Type, m.Status, m.SendCount = courier.MessageType(typ), courier.Status(status), sendCnt
	m.TemplateType, m.TemplateData = courier.TemplateType(templateType), []byte(data)
	m.LastError, m.ClaimToken = lastErr.String, token.String
	if claimedUntil.Valid {
		t := claimedUntil.Time.UTC()
		m.ClaimedUntil = &t
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

// courierTx runs fn in a transaction, READ COMMITTED on MySQL so that
// workers claiming messages do not lock each other's gaps.
func (s *Store) courierTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.dialect == MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s.runTx(ctx, opts, fn)
}

// courierExec runs one statement (in a READ COMMITTED transaction on MySQL)
// and returns the number of rows it matched.
func (s *Store) courierExec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	run := func(q querier) error {
		res, err := q.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}
	if s.dialect != MySQL {
		return n, s.mapErr(run(s.db))
	}
	err := s.courierTx(ctx, func(tx *sql.Tx) error { return run(tx) })
	return n, err
}

// CreateMessage queues a message.
func (s *Store) CreateMessage(ctx context.Context, m *courier.Message) error {
	var lastErr, token sql.NullString
	if m.LastError != "" {
		lastErr = sql.NullString{String: m.LastError, Valid: true}
	}
	if m.ClaimToken != "" {
		token = sql.NullString{String: m.ClaimToken, Valid: true}
	}
	var claimedUntil sql.NullTime
	if m.ClaimedUntil != nil {
		claimedUntil = sql.NullTime{Time: m.ClaimedUntil.UTC(), Valid: true}
	}
	_, err := s.courierExec(ctx, `INSERT INTO courier_messages (id, type, status, recipient, subject, body, template_type, template_data, send_count, last_error, claimed_until, claim_token, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, int(m.Type), int(m.Status), m.Recipient, m.Subject, m.Body, string(m.TemplateType), string(m.TemplateData), m.SendCount,
		lastErr, claimedUntil, token, m.CreatedAt.UTC(), m.UpdatedAt.UTC())
	return err
}

// ClaimMessages claims up to limit messages: first those whose worker's
// lease ran out, then queued ones due by now, oldest first.
func (s *Store) ClaimMessages(ctx context.Context, token string, now, until time.Time, limit int) ([]courier.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	now, until = now.UTC(), until.UTC()
	lock := ""
	if s.dialect != SQLite {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// Two queries, each walking the (status, created_at) index in order,
	// so the database reads (and locks) only the rows it returns.
	stale := "SELECT " + courierCols + " FROM courier_messages WHERE status = ? AND claimed_until <= ? ORDER BY created_at, id LIMIT ?" + lock
	due := "SELECT " + courierCols + " FROM courier_messages WHERE status = ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY created_at, id LIMIT ?" + lock

	var out []courier.Message
	err := s.courierTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		for _, q := range []struct {
			query  string
			status courier.Status
		}{{stale, courier.StatusProcessing}, {due, courier.StatusQueued}} {
			if len(out) >= limit {
				break
			}
			rows, err := tx.QueryContext(ctx, s.q(q.query), int(q.status), now, limit-len(out))
			if err != nil {
				return err
			}
			for rows.Next() {
				m, err := scanCourierMessage(rows)
				if err != nil {
					rows.Close()
					return err
				}
				out = append(out, m)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if len(out) == 0 {
			return nil
		}
		args := []any{int(courier.StatusProcessing), token, until, now}
		marks := make([]string, len(out))
		for k, m := range out {
			marks[k] = "?"
			args = append(args, m.ID)
		}
		_, err := tx.ExecContext(ctx, s.q("UPDATE courier_messages SET status = ?, claim_token = ?, claimed_until = ?, updated_at = ? WHERE id IN ("+strings.Join(marks, ", ")+")"), args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	for k := range out {
		u := until
		out[k].Status, out[k].ClaimToken, out[k].ClaimedUntil, out[k].UpdatedAt = courier.StatusProcessing, token, &u, now
	}
	return out, nil
}

// claimed runs an update of one message claimed with token;
// store.ErrNotFound when it is not.
func (s *Store) claimed(ctx context.Context, set string, id uuid.UUID, token string, args ...any) error {
	args = append(args, id, int(courier.StatusProcessing), token)
	n, err := s.courierExec(ctx, "UPDATE courier_messages SET "+set+" WHERE id = ? AND status = ? AND claim_token = ?", args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// RenewClaim extends the lease of a message still claimed with token.
func (s *Store) RenewClaim(ctx context.Context, id uuid.UUID, token string, now, until time.Time) error {
	return s.claimed(ctx, "claimed_until = ?, updated_at = ?", id, token, until.UTC(), now.UTC())
}

// MarkSent records the delivery of a claimed message.
func (s *Store) MarkSent(ctx context.Context, id uuid.UUID, token string, now time.Time) error {
	return s.claimed(ctx, "status = ?, send_count = send_count + 1, claim_token = NULL, claimed_until = NULL, updated_at = ?", id, token,
		int(courier.StatusSent), now.UTC())
}

// Release puts a claimed message whose delivery failed back in the queue,
// due again at retryAt.
func (s *Store) Release(ctx context.Context, id uuid.UUID, token, errText string, now, retryAt time.Time) error {
	return s.claimed(ctx, "status = ?, send_count = send_count + 1, last_error = ?, claim_token = NULL, claimed_until = ?, updated_at = ?", id, token,
		int(courier.StatusQueued), truncateError(errText), retryAt.UTC(), now.UTC())
}

// Unclaim puts a claimed message that was not attempted back in the queue.
func (s *Store) Unclaim(ctx context.Context, id uuid.UUID, token string, now time.Time) error {
	return s.claimed(ctx, "status = ?, claim_token = NULL, claimed_until = NULL, updated_at = ?", id, token,
		int(courier.StatusQueued), now.UTC())
}

// truncateError keeps stored error texts reasonably short.
func truncateError(s string) string {
	const limit = 4000
	if len(s) <= limit {
		return s
	}
	return strings.ToValidUTF8(s[:limit], "") + "…"
}

// AbandonMessages gives up on messages created before cutoff that are still
// queued, or processing under a lease that ran out by now. (Two statements,
// so that each walks the (status, created_at) index.)
func (s *Store) AbandonMessages(ctx context.Context, cutoff, now time.Time) (int64, error) {
	const set = "UPDATE courier_messages SET status = ?, claim_token = NULL, claimed_until = NULL, updated_at = ? WHERE status = ? AND created_at < ?"
	queued, err := s.courierExec(ctx, set,
		int(courier.StatusAbandoned), now.UTC(), int(courier.StatusQueued), cutoff.UTC())
	if err != nil {
		return 0, err
	}
	stale, err := s.courierExec(ctx, set+" AND claimed_until <= ?",
		int(courier.StatusAbandoned), now.UTC(), int(courier.StatusProcessing), cutoff.UTC(), now.UTC())
	return queued + stale, err
}

// ListMessages lists messages oldest first; status 0 means any and limit 0
// no limit.
func (s *Store) ListMessages(ctx context.Context, status courier.Status, limit int) ([]courier.Message, error) {
	query := "SELECT " + courierCols + " FROM courier_messages"
	var args []any
	if status != 0 {
		query += " WHERE status = ?"
		args = append(args, int(status))
	}
	query += " ORDER BY created_at, id"
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer rows.Close()
	var out []courier.Message
	for rows.Next() {
		m, err := scanCourierMessage(rows)
		if err != nil {
			return nil, s.mapErr(err)
		}
		out = append(out, m)
	}
	return out, s.mapErr(rows.Err())
}

// CountMessages counts the messages in one status (the queue depth for
// StatusQueued).
func (s *Store) CountMessages(ctx context.Context, status courier.Status) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM courier_messages WHERE status = ?"), int(status)).Scan(&n)
	return n, s.mapErr(err)
}
