package store

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// The records below are what storage keeps for packages above it (the
// flow engine, the link method): plain data, so that storage imports none
// of them.

// FlowRecord is a stored self-service flow of any kind.
type FlowRecord struct {
	ID            uuid.UUID
	Kind          string
	Type          string
	RequestURL    string
	IssuedAt      time.Time
	ExpiresAt     time.Time
	Active        string
	CSRFTokenHash string
	State         string
	// UI is the flow's form as JSON.
	UI           json.RawMessage
	IdentityID   uuid.NullUUID
	Refresh      bool
	RequestedAAL string
	// Internal is the flow's method and kind state as a JSON object.
	Internal  json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrorRecord is a stored self-service error, shown by the error UI.
type ErrorRecord struct {
	ID        uuid.UUID
	Error     json.RawMessage
	CSRFHash  string
	WasSeen   bool
	SeenAt    *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LinkToken is a single-use token mailed in a recovery or verification
// link, stored by its keyed hash.
type LinkToken struct {
	ID         uuid.UUID
	Kind       string
	Hash       string
	IdentityID uuid.NullUUID
	AddressID  uuid.NullUUID
	FlowID     uuid.NullUUID
	ExpiresAt  time.Time
	IssuedAt   time.Time
}
