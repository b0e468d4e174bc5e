package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/store"
)

func internalJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// CreateFlow stores a new flow.
func (s *Store) CreateFlow(ctx context.Context, f *store.FlowRecord) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO selfservice_flows (id, kind, type, request_url, issued_at, expires_at, active_method, csrf_token_hash, state, ui, identity_id, refresh, requested_aal, internal_context, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		f.ID, f.Kind, f.Type, f.RequestURL, f.IssuedAt, f.ExpiresAt, f.Active, f.CSRFTokenHash, f.State, string(f.UI),
		f.IdentityID, f.Refresh, f.RequestedAAL, internalJSON(f.Internal), f.CreatedAt, f.UpdatedAt)
	return s.mapErr(err)
}

// GetFlow loads a flow of any kind.
func (s *Store) GetFlow(ctx context.Context, id uuid.UUID) (*store.FlowRecord, error) {
	var f store.FlowRecord
	var u, in string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, kind, type, request_url, issued_at, expires_at, active_method, csrf_token_hash, state, ui, identity_id, refresh, requested_aal, internal_context, created_at, updated_at
		FROM selfservice_flows WHERE id = ?`), id).Scan(
		&f.ID, &f.Kind, &f.Type, &f.RequestURL, &f.IssuedAt, &f.ExpiresAt, &f.Active, &f.CSRFTokenHash, &f.State, &u,
		&f.IdentityID, &f.Refresh, &f.RequestedAAL, &in, &f.CreatedAt, &f.UpdatedAt)
	if err != nil {
		return nil, s.mapErr(err)
	}
	f.IssuedAt, f.ExpiresAt, f.CreatedAt, f.UpdatedAt = f.IssuedAt.UTC(), f.ExpiresAt.UTC(), f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	f.UI, f.Internal = json.RawMessage(u), json.RawMessage(in)
	return &f, nil
}

// UpdateFlow stores a changed flow.
func (s *Store) UpdateFlow(ctx context.Context, f *store.FlowRecord) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE selfservice_flows SET type = ?, request_url = ?, expires_at = ?, active_method = ?, csrf_token_hash = ?, state = ?, ui = ?, identity_id = ?, refresh = ?, requested_aal = ?, internal_context = ?, updated_at = ? WHERE id = ?`),
		f.Type, f.RequestURL, f.ExpiresAt, f.Active, f.CSRFTokenHash, f.State, string(f.UI), f.IdentityID, f.Refresh, f.RequestedAAL, internalJSON(f.Internal), f.UpdatedAt, f.ID)
	if err != nil {
		return s.mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// CreateSelfServiceError stores an error for the error UI.
func (s *Store) CreateSelfServiceError(ctx context.Context, e *store.ErrorRecord) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO selfservice_errors (id, error, csrf_token_hash, was_seen, seen_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		e.ID, string(e.Error), e.CSRFHash, false, nil, e.CreatedAt, e.UpdatedAt)
	return s.mapErr(err)
}

// GetSelfServiceError loads a stored error and marks it seen.
func (s *Store) GetSelfServiceError(ctx context.Context, id uuid.UUID) (*store.ErrorRecord, error) {
	var e store.ErrorRecord
	var body string
	var seenAt sql.NullTime
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, error, csrf_token_hash, was_seen, seen_at, created_at, updated_at FROM selfservice_errors WHERE id = ?`), id).
		Scan(&e.ID, &body, &e.CSRFHash, &e.WasSeen, &seenAt, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return nil, s.mapErr(err)
	}
	e.Error = json.RawMessage(body)
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	if !e.WasSeen {
		now := identity.Now()
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE selfservice_errors SET was_seen = ?, seen_at = ? WHERE id = ?`), true, now, id); err != nil {
			return nil, s.mapErr(err)
		}
		e.WasSeen, e.SeenAt = true, &now
	} else if seenAt.Valid {
		t := seenAt.Time.UTC()
		e.SeenAt = &t
	}
	return &e, nil
}
