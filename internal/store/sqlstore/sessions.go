package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
)

const sessionCols = "s.id, s.identity_id, s.active, s.aal, s.authentication_methods, s.issued_at, s.expires_at, s.authenticated_at, s.created_at, s.updated_at, s.last_seen_at"

type sessionRow struct {
	s        session.Session
	methods  string
	lastSeen sql.NullTime
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.IdentityID, &s.Active, &s.AAL, &r.methods, &s.IssuedAt, &s.ExpiresAt, &s.AuthenticatedAt, &s.CreatedAt, &s.UpdatedAt, &r.lastSeen}
}

func (r *sessionRow) session() (*session.Session, error) {
	s := r.s
	s.IssuedAt, s.ExpiresAt, s.AuthenticatedAt = s.IssuedAt.UTC(), s.ExpiresAt.UTC(), s.AuthenticatedAt.UTC()
	if r.lastSeen.Valid {
		s.LastSeenAt = r.lastSeen.Time.UTC()
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(r.methods), &s.AuthenticationMethods); err != nil {
		return nil, err
	}
	for k := range s.AuthenticationMethods {
		s.AuthenticationMethods[k].CompletedAt = s.AuthenticationMethods[k].CompletedAt.UTC()
	}
	return &s, nil
}

func methodsJSON(s *session.Session) string {
	m := s.AuthenticationMethods
	if m == nil {
		m = []session.AuthenticationMethod{}
	}
	raw, _ := json.Marshal(m)
	return string(raw)
}

// CreateSession stores a new session (by token hashes only).
func (s *Store) CreateSession(ctx context.Context, sess *session.Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sessions (id, identity_id, token_hash, active, aal, authentication_methods, issued_at, expires_at, authenticated_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		sess.ID, sess.IdentityID, sess.TokenHash, sess.Active, sess.AAL, methodsJSON(sess),
		sess.IssuedAt, sess.ExpiresAt, sess.AuthenticatedAt, sess.CreatedAt, sess.UpdatedAt)
	return s.mapErr(err)
}

// SessionByTokenHash loads a session and its identity (with addresses) in
// one query through the unique token_hash index.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (*session.Session, error) {
	return s.sessionBy(ctx, "s.token_hash", tokenHash)
}

func (s *Store) sessionBy(ctx context.Context, column, value string) (*session.Session, error) {
	var row sessionRow
	i, err := s.queryIdentityExtra(ctx, stmtQuerier{s}, "SELECT "+identityCols+", "+addressJoinCols+", "+sessionCols+
		" FROM sessions s JOIN identities i ON i.id = s.identity_id"+addressJoins+" WHERE "+column+" = "+s.arg(), row.dest(), value)
	if err != nil {
		return nil, err
	}
	sess, err := row.session()
	if err != nil {
		return nil, err
	}
	sess.Identity = i
	return sess, nil
}

// UpdateSession stores a refreshed session.
func (s *Store) UpdateSession(ctx context.Context, sess *session.Session) error {
	// Only an active session is updated: a revocation that committed while
	// this request held the session in memory wins, and the copy in memory
	// (still active) never turns it back on. A new token hash (rotation)
	// is written when the caller set one.
	return s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE sessions SET token_hash = COALESCE(NULLIF(?, ''), token_hash), active = ?, aal = ?, authentication_methods = ?, issued_at = ?, expires_at = ?, authenticated_at = ?, updated_at = ? WHERE id = ? AND active = ?`),
			sess.TokenHash, sess.Active, sess.AAL, methodsJSON(sess), sess.IssuedAt, sess.ExpiresAt, sess.AuthenticatedAt, sess.UpdatedAt, sess.ID, true)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, store.ErrNotFound
		}
		return []uuid.UUID{sess.IdentityID}, nil
	})
}

// TouchSession records a use of an active session (for
// session.idle_timeout); store.ErrNotFound when it is not active. Cached
// copies of the identity's sessions are dropped everywhere, so that no
// instance keeps judging idleness by the previous use.
func (s *Store) TouchSession(ctx context.Context, id, identityID uuid.UUID, at time.Time) error {
	return s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE sessions SET last_seen_at = ? WHERE id = ? AND active = ?`), at.UTC(), id, true)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, store.ErrNotFound
		}
		return []uuid.UUID{identityID}, nil
	})
}

// ListSessions lists an identity's sessions, newest first, each carrying the
// identity (loaded once).
func (s *Store) ListSessions(ctx context.Context, identityID uuid.UUID, f session.ListFilter, offset, limit int) ([]*session.Session, error) {
	query := "SELECT " + sessionCols + " FROM sessions s WHERE s.identity_id = ?"
	args := []any{identityID}
	if f.Active != nil {
		// The filter is on the active flag alone, as in Kratos: a session
		// that expired without being revoked is still listed as active
		// (and serialized with "active": true).
		query += " AND s.active = ?"
		args = append(args, *f.Active)
	}
	if f.Except != uuid.Nil {
		query += " AND s.id <> ?"
		args = append(args, f.Except)
	}
	query += " ORDER BY s.created_at DESC, s.id LIMIT ? OFFSET ?"
	args = append(args, limit, offset)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.mapErr(err)
	}
	var out []*session.Session
	for rows.Next() {
		var row sessionRow
		if err := rows.Scan(row.dest()...); err != nil {
			rows.Close()
			return nil, err
		}
		sess, err := row.session()
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, sess)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.mapErr(err)
	}
	if len(out) == 0 {
		return out, nil
	}
	i, err := s.GetIdentity(ctx, identityID, false)
	if err != nil {
		return nil, err
	}
	for _, sess := range out {
		sess.Identity = i
	}
	return out, nil
}

// RevokeSession deactivates one session of an identity.
func (s *Store) RevokeSession(ctx context.Context, identityID, sessionID uuid.UUID) error {
	return s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		res, err := tx.ExecContext(ctx, s.q("UPDATE sessions SET active = ?, updated_at = ? WHERE id = ? AND identity_id = ?"), false, identity.Now(), sessionID, identityID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, store.ErrNotFound
		}
		return []uuid.UUID{identityID}, nil
	})
}

// RevokeSessionsExcept deactivates every session of the identity but keep.
// The count it returns covers all those sessions, revoked before or not:
// that is the count Kratos answers DELETE /sessions with.
func (s *Store) RevokeSessionsExcept(ctx context.Context, identityID, keep uuid.UUID) (int, error) {
	var n int64
	err := s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		res, err := tx.ExecContext(ctx, s.q("UPDATE sessions SET active = ?, updated_at = ? WHERE identity_id = ? AND id <> ?"), false, identity.Now(), identityID, keep)
		if err != nil {
			return nil, err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil, nil
		}
		return []uuid.UUID{identityID}, nil
	})
	return int(n), err
}

// RevokeSessionByTokenHash deactivates the session with the token hash.
func (s *Store) RevokeSessionByTokenHash(ctx context.Context, tokenHash string) (bool, error) {
	found := false
	err := s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		var identityID uuid.UUID
		err := tx.QueryRowContext(ctx, s.q("SELECT identity_id FROM sessions WHERE token_hash = ?"), tokenHash).Scan(&identityID)
		if errors.Is(err, sql.ErrNoRows) {
			found = false
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE sessions SET active = ?, updated_at = ? WHERE token_hash = ?"), false, identity.Now(), tokenHash); err != nil {
			return nil, err
		}
		found = true
		return []uuid.UUID{identityID}, nil
	})
	return found, err
}

// DeleteSessionsOfIdentity removes every session row of the identity.
func (s *Store) DeleteSessionsOfIdentity(ctx context.Context, identityID uuid.UUID) (int, error) {
	var n int64
	err := s.txInvalidating(ctx, func(tx *sql.Tx) ([]uuid.UUID, error) {
		res, err := tx.ExecContext(ctx, s.q("DELETE FROM sessions WHERE identity_id = ?"), identityID)
		if err != nil {
			return nil, err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil, nil
		}
		return []uuid.UUID{identityID}, nil
	})
	return int(n), err
}
