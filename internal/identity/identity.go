// Package identity holds identities — their traits, credentials and
// addresses — and the service that creates and updates them consistently with
// their identity schema.
package identity

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
)

// State is an identity's state.
type State string

const (
	StateActive   State = "active"
	StateInactive State = "inactive"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s == StateActive || s == StateInactive }

// CredentialsType names a kind of credentials.
type CredentialsType string

// The types the admin API and the identity schema's ory.sh/kratos
// extension name on the wire (credentials.password.identifier, an imported
// oidc link, …). Everything else about a type belongs to its method.
const (
	CredentialsPassword     CredentialsType = "password"
	CredentialsOIDC         CredentialsType = "oidc"
	CredentialsTOTP         CredentialsType = "totp"
	CredentialsLookupSecret CredentialsType = "lookup_secret"
	CredentialsWebAuthn     CredentialsType = "webauthn"
)

// SetCredentials gives i new credentials of type t (created now), keyed by
// the identity's own id, as second factors are: their config is all they
// hold.
func (i *Identity) SetCredentials(t CredentialsType, config json.RawMessage, now time.Time) {
	if i.Credentials == nil {
		i.Credentials = map[CredentialsType]Credentials{}
	}
	i.Credentials[t] = Credentials{Type: t, Identifiers: []string{i.ID.String()}, Config: config, CreatedAt: now, UpdatedAt: now}
}

// CredentialsTypes lists the types of i's credentials in a stable (sorted)
// order. Storage keeps every type it is given, known to this build or not.
func (i *Identity) CredentialsTypes() []CredentialsType {
	out := make([]CredentialsType, 0, len(i.Credentials))
	for t := range i.Credentials {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Identity is an actor that can authenticate.
type Identity struct {
	ID                  uuid.UUID                       `json:"id"`
	Credentials         map[CredentialsType]Credentials `json:"credentials,omitempty"`
	SchemaID            string                          `json:"schema_id"`
	SchemaURL           string                          `json:"schema_url"`
	State               State                           `json:"state"`
	StateChangedAt      *time.Time                      `json:"state_changed_at,omitempty"`
	Traits              json.RawMessage                 `json:"traits"`
	VerifiableAddresses []VerifiableAddress             `json:"verifiable_addresses,omitempty"`
	RecoveryAddresses   []RecoveryAddress               `json:"recovery_addresses,omitempty"`
	MetadataPublic      json.RawMessage                 `json:"metadata_public,omitempty"`
	MetadataAdmin       json.RawMessage                 `json:"metadata_admin,omitempty"`
	CreatedAt           time.Time                       `json:"created_at"`
	UpdatedAt           time.Time                       `json:"updated_at"`

	// AvailableAAL is the highest authenticator assurance level the
	// identity's credentials allow (see HighestAAL). It is derived whenever
	// credentials change and stored with the identity, so that session checks
	// need not load credentials.
	AvailableAAL string `json:"-"`
}

// Authenticator assurance levels.
const (
	AAL0 = "aal0"
	AAL1 = "aal1"
	AAL2 = "aal2"
)

// IsActive reports whether the identity may hold sessions.
func (i *Identity) IsActive() bool { return i.State == StateActive }

// Public returns a copy safe for self-service responses: no credentials and
// no admin metadata.
func (i *Identity) Public() *Identity {
	c := *i
	c.Credentials = nil
	c.MetadataAdmin = nil
	return &c
}

// Credentials are one kind of credentials of an identity.
type Credentials struct {
	ID          uuid.UUID       `json:"-"`
	Type        CredentialsType `json:"type"`
	Identifiers []string        `json:"identifiers"`
	Config      json.RawMessage `json:"config,omitempty"`
	Version     int             `json:"version"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// VerifiableAddress is an address (email or phone) the identity can prove it
// controls.
type VerifiableAddress struct {
	ID         uuid.UUID  `json:"id"`
	Value      string     `json:"value"`
	Verified   bool       `json:"verified"`
	Via        string     `json:"via"`
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	IdentityID uuid.UUID  `json:"-"`
}

// Verifiable address statuses.
const (
	AddressStatusPending   = "pending"
	AddressStatusSent      = "sent"
	AddressStatusCompleted = "completed"
)

// RecoveryAddress is an address recovery messages may be sent to.
type RecoveryAddress struct {
	ID         uuid.UUID `json:"id"`
	Value      string    `json:"value"`
	Via        string    `json:"via"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	IdentityID uuid.UUID `json:"-"`
}

// Now is the storage-precision timestamp used for every record: UTC,
// truncated to microseconds, which all three databases keep exactly.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
