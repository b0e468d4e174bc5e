package session

import (
	"context"

	"github.com/google/uuid"
)

// ListActive returns the identity's active sessions except one (the
// caller's own), newest first, at most limit of them: what a "your devices"
// page shows.
func (m *Manager) ListActive(ctx context.Context, identityID, except uuid.UUID, limit int) ([]*Session, error) {
	active := true
	return m.store.ListSessions(ctx, identityID, ListFilter{Active: &active, Except: except}, 0, limit)
}
