package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
)

// CreateAuditEvent appends a security event.
func (s *Store) CreateAuditEvent(ctx context.Context, e *audit.Event) error {
	var ip any
	if e.ClientIP != "" {
		ip = e.ClientIP
	}
	var identityID uuid.NullUUID
	if e.IdentityID != nil {
		identityID = uuid.NullUUID{UUID: *e.IdentityID, Valid: true}
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO audit_events (id, type, identity_id, client_ip, details, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		e.ID, e.Type, identityID, ip, audit.DetailsJSON(e.Details), e.CreatedAt.UTC())
	return s.mapErr(err)
}

// ListAuditEvents returns a page of matching events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, f audit.Filter, offset, limit int) ([]audit.Event, int, error) {
	var conds []string
	var args []any
	if f.IdentityID.Valid {
		conds, args = append(conds, "identity_id = ?"), append(args, f.IdentityID)
	}
	if f.Type != "" {
		conds, args = append(conds, "type = ?"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "created_at >= ?"), append(args, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "created_at < ?"), append(args, f.Until.UTC())
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM audit_events`+where), args...).Scan(&total); err != nil {
		return nil, 0, s.mapErr(err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, type, identity_id, client_ip, details, created_at FROM audit_events`+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`),
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, s.mapErr(err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var identityID uuid.NullUUID
		var ip sql.NullString
		var details string
		if err := rows.Scan(&e.ID, &e.Type, &identityID, &ip, &details, &e.CreatedAt); err != nil {
			return nil, 0, s.mapErr(err)
		}
		if identityID.Valid {
			id := identityID.UUID
			e.IdentityID = &id
		}
		e.ClientIP = ip.String
		e.CreatedAt = e.CreatedAt.UTC()
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil || e.Details == nil {
			e.Details = map[string]any{}
		}
		out = append(out, e)
	}
	return out, total, s.mapErr(rows.Err())
}

// PruneAuditEvents deletes events created before t.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM audit_events WHERE created_at < ?`), before.UTC())
	if err != nil {
		return 0, s.mapErr(err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
