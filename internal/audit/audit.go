// Package audit records security events (sign-ins, lockouts, revoked
// sessions, password changes, identity changes, recoveries, admin API key
// use) in an append-only table, writes a structured log line for each, and
// serves them on the admin port.
//
// Packages that emit events declare their own one-method interface
// (Record(ctx, audit.Event)) and treat a nil recorder as "not recording";
// internal/app hands them the *Recorder.
package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

// Event types.
const (
	LoginSucceeded  = "login.succeeded"
	LoginFailed     = "login.failed"
	LoginLocked     = "login.locked"
	SessionRevoked  = "session.revoked"
	PasswordChanged = "password.changed"
	IdentityCreated = "identity.created"
	IdentityUpdated = "identity.updated"
	IdentityDeleted = "identity.deleted"
	RecoveryUsed    = "recovery.used"
	// RecoveryLinksRevoked: unused recovery links stopped working
	// (security.credential_changes.invalidate_recovery_links).
	RecoveryLinksRevoked = "recovery.links_revoked"
	AdminAPIKeyUsed      = "admin.api_key_used"
)

// Types lists every event type.
var Types = []string{LoginSucceeded, LoginFailed, LoginLocked, SessionRevoked, PasswordChanged,
	IdentityCreated, IdentityUpdated, IdentityDeleted, RecoveryUsed, RecoveryLinksRevoked, AdminAPIKeyUsed}

// Event is one security event.
type Event struct {
	ID         uuid.UUID      `json:"id"`
	Type       string         `json:"type"`
	IdentityID *uuid.UUID     `json:"identity_id,omitempty"`
	ClientIP   string         `json:"client_ip,omitempty"`
	Details    map[string]any `json:"details"`
	CreatedAt  time.Time      `json:"created_at"`
}

// For returns an event of type t about identity id (uuid.Nil: none).
func For(t string, id uuid.UUID, details map[string]any) Event {
	e := Event{Type: t, Details: details}
	if id != uuid.Nil {
		e.IdentityID = &id
	}
	return e
}

// Filter selects events; zero fields do not filter.
type Filter struct {
	IdentityID uuid.NullUUID
	Type       string
	Since      time.Time // created_at >= Since
	Until      time.Time // created_at < Until
}

// Store keeps events.
type Store interface {
	CreateAuditEvent(ctx context.Context, e *Event) error
	// ListAuditEvents returns a page of matching events, newest first, and
	// the number of all matching events.
	ListAuditEvents(ctx context.Context, f Filter, offset, limit int) ([]Event, int, error)
	PruneAuditEvents(ctx context.Context, before time.Time) (int64, error)
}

// Recorder stores and logs events.
type Recorder struct {
	store  Store
	logger *slog.Logger
	now    func() time.Time
}

// NewRecorder returns a recorder writing to st and logger.
func NewRecorder(st Store, logger *slog.Logger) *Recorder {
	return &Recorder{store: st, logger: logger, now: time.Now}
}

// Record stores e (filling its id, time and the client address from ctx)
// and logs it. An event that cannot be stored is logged as an error; the
// request that caused it goes on: losing an audit row must not lock
// everybody out.
func (r *Recorder) Record(ctx context.Context, e Event) {
	if r == nil {
		return
	}
	e.ID = uuid.New()
	e.CreatedAt = r.now().UTC().Truncate(time.Microsecond)
	if a := httpx.ClientIPFrom(ctx); a.IsValid() {
		e.ClientIP = a.String()
	}
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	attrs := []any{"audit_event", e.Type, "audit_event_id", e.ID.String()}
	if e.IdentityID != nil {
		attrs = append(attrs, "identity_id", e.IdentityID.String())
	}
	if e.ClientIP != "" {
		attrs = append(attrs, "client_ip", e.ClientIP)
	}
	for k, v := range e.Details {
		attrs = append(attrs, k, v)
	}
	r.logger.Info("security event", attrs...)
	// The request may be cancelled right after its outcome is known; the
	// event must still be written.
	if err := r.store.CreateAuditEvent(context.WithoutCancel(ctx), &e); err != nil {
		r.logger.Error("could not store a security event", "audit_event", e.Type, "error", err)
	}
}

// Prune deletes events older than retention (0 keeps everything).
func (r *Recorder) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	if r == nil || retention <= 0 {
		return 0, nil
	}
	return r.store.PruneAuditEvents(ctx, r.now().Add(-retention))
}

// DetailsJSON encodes details for storage.
func DetailsJSON(d map[string]any) string {
	if d == nil {
		return "{}"
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "{}"
	}
	return string(b)
}
