package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
)

// CreateToken stores a link token (by its hash).
func (s *Store) CreateToken(ctx context.Context, t *store.LinkToken) error {
	now := identity.Now()
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO selfservice_tokens (id, kind, token_hash, identity_id, address_id, flow_id, used, used_at, expires_at, issued_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Kind, t.Hash, t.IdentityID, t.AddressID, t.FlowID, false, nil, t.ExpiresAt.UTC(), t.IssuedAt.UTC(), now, now)
	return s.mapErr(err)
}

// UseToken consumes a token exactly once: the update only succeeds for an
// unused token, so two concurrent clicks cannot both use it. An expired
// token is consumed and returned too (as Kratos does), so that the caller
// can tell an expired link from an unknown or used one.
func (s *Store) UseToken(ctx context.Context, kind, hash string, now time.Time) (*store.LinkToken, error) {
	var t store.LinkToken
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT id, kind, token_hash, identity_id, address_id, flow_id, expires_at, issued_at FROM selfservice_tokens WHERE token_hash = ? AND kind = ? AND used = ?`), hash, kind, false).
			Scan(&t.ID, &t.Kind, &t.Hash, &t.IdentityID, &t.AddressID, &t.FlowID, &t.ExpiresAt, &t.IssuedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE selfservice_tokens SET used = ?, used_at = ?, updated_at = ? WHERE id = ? AND used = ?`), true, now.UTC(), identity.Now(), t.ID, false)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.ExpiresAt, t.IssuedAt = t.ExpiresAt.UTC(), t.IssuedAt.UTC()
	return &t, nil
}

// RevokeTokens marks every unused token of this kind issued to the identity
// as used (at now), so that none of its links works any more, and reports
// how many there were.
func (s *Store) RevokeTokens(ctx context.Context, kind string, identityID uuid.UUID, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE selfservice_tokens SET used = ?, used_at = ?, updated_at = ? WHERE identity_id = ? AND kind = ? AND used = ?`),
		true, now.UTC(), identity.Now(), identityID, kind, false)
	if err != nil {
		return 0, s.mapErr(err)
	}
	n, err := res.RowsAffected()
	return n, s.mapErr(err)
}
