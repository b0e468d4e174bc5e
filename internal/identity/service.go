package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/store"
)

// Store is the storage the identity service needs.
type Store interface {
	CreateIdentity(ctx context.Context, i *Identity) error
	UpdateIdentity(ctx context.Context, i *Identity) error
	GetIdentity(ctx context.Context, id uuid.UUID, withCredentials bool) (*Identity, error)
	ListIdentities(ctx context.Context, offset, limit int) ([]*Identity, int, error)
	DeleteIdentity(ctx context.Context, id uuid.UUID) error
}

// Schemas is the identity schema registry as the service uses it.
type Schemas interface {
	Get(id string) (*schema.Schema, bool)
	Default() *schema.Schema
}

// Service creates, updates and reads identities, keeping credentials
// identifiers and addresses consistent with the traits and their schema.
type Service struct {
	store     Store
	schemas   Schemas
	publicURL *url.URL
	kinds     []CredentialsKind
	audit     Auditor
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// SetAuditor makes the service record identity changes (nil: none).
func (s *Service) SetAuditor(a Auditor) { s.audit = a }

func (s *Service) record(ctx context.Context, t string, id uuid.UUID) {
	if s.audit != nil {
		s.audit.Record(ctx, audit.For(t, id, nil))
	}
}

// NewService wires the service. publicURL is the public base URL, used for
// schema_url; kinds describe every credentials type the server knows, so
// that an identity's available assurance level can be derived.
func NewService(st Store, schemas Schemas, publicURL *url.URL, kinds ...CredentialsKind) *Service {
	return &Service{store: st, schemas: schemas, publicURL: publicURL, kinds: kinds}
}

// AvailableAAL derives the highest assurance level i's credentials allow.
func (s *Service) AvailableAAL(i *Identity) string { return HighestAAL(i.Credentials, s.kinds) }

// Schemas exposes the registry (for flows that render trait forms).
func (s *Service) Schemas() Schemas { return s.schemas }

// SchemaURL is the public URL of a schema, as Kratos writes schema_url.
func (s *Service) SchemaURL(schemaID string) string {
	u := *s.publicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/schemas/" + schema.EncodeID(schemaID)
	u.RawQuery = ""
	return u.String()
}

// Expose fills in computed fields (schema_url) before an identity is served.
func (s *Service) Expose(i *Identity) *Identity {
	if i != nil {
		i.SchemaURL = s.SchemaURL(i.SchemaID)
	}
	return i
}

// SchemaFor returns the identity's schema, or a 400 naming the unknown id.
func (s *Service) SchemaFor(schemaID string) (*schema.Schema, error) {
	if schemaID == "" {
		return s.schemas.Default(), nil
	}
	sc, ok := s.schemas.Get(schemaID)
	if !ok {
		return nil, invalid(fmt.Sprintf("The identity schema %q does not exist.", schemaID))
	}
	return sc, nil
}

// maxIdentifierLength bounds identifiers and addresses so they fit the
// storage indexes.
const maxIdentifierLength = 512

// storable refuses identifiers and addresses their columns cannot hold:
// longer than maxIdentifierLength bytes, or containing NUL (PostgreSQL text
// cannot store it).
func storable(what, v string) error {
	if len(v) > maxIdentifierLength {
		return invalid(fmt.Sprintf("%s is longer than %d bytes.", what, maxIdentifierLength))
	}
	if strings.ContainsRune(v, 0) {
		return invalid(what + " contains a NUL character.")
	}
	return nil
}

// Prepare validates the traits against the identity's schema and derives
// what the schema's ory.sh/kratos extension says from them: credentials
// identifiers (password, webauthn) and verifiable and recovery addresses.
// Existing addresses with the same via and value keep their id and
// verification state; new ones start unverified and pending.
//
// It returns a *schema.ValidationError when the traits do not validate.
func (s *Service) Prepare(i *Identity) (*schema.Extracted, error) {
	sc, err := s.SchemaFor(i.SchemaID)
	if err != nil {
		return nil, err
	}
	i.SchemaID = sc.ID
	if len(i.Traits) == 0 || string(i.Traits) == "null" {
		i.Traits = json.RawMessage("{}")
	}
	// Traits are stored compact, so they can be copied into answers as is.
	var compact bytes.Buffer
	if json.Compact(&compact, i.Traits) == nil {
		i.Traits = compact.Bytes()
	}
	ex, err := sc.ValidateTraits(i.Traits)
	if err != nil {
		return nil, err
	}
	now := Now()
	if i.Credentials == nil {
		i.Credentials = map[CredentialsType]Credentials{}
	}
	setIdentifiers(i, CredentialsPassword, ex.PasswordIdentifiers, now)
	setIdentifiers(i, CredentialsWebAuthn, ex.WebAuthnIdentifiers, now)
	// Every identifier, derived or supplied (oidc provider:subject), must fit
	// its column.
	for _, c := range i.Credentials {
		for _, v := range c.Identifiers {
			if err := storable("An identifier", v); err != nil {
				return nil, err
			}
		}
	}

	var va []VerifiableAddress
	for _, a := range ex.VerifiableAddresses {
		if err := storable("An address", a.Value); err != nil {
			return nil, err
		}
		if old, ok := findVerifiable(i.VerifiableAddresses, a.Via, a.Value); ok {
			if old.ID == uuid.Nil {
				old.ID = uuid.New()
				old.CreatedAt = now
			}
			old.IdentityID = i.ID
			if old.Status == "" {
				old.Status = AddressStatusPending
				if old.Verified {
					old.Status = AddressStatusCompleted
				}
			}
			if old.CreatedAt.IsZero() {
				old.CreatedAt = now
			}
			if old.UpdatedAt.IsZero() {
				old.UpdatedAt = now
			}
			va = append(va, old)
			continue
		}
		va = append(va, VerifiableAddress{ID: uuid.New(), IdentityID: i.ID, Via: a.Via, Value: a.Value, Status: AddressStatusPending, CreatedAt: now, UpdatedAt: now})
	}
	i.VerifiableAddresses = va

	var ra []RecoveryAddress
	for _, a := range ex.RecoveryAddresses {
		if err := storable("An address", a.Value); err != nil {
			return nil, err
		}
		if old, ok := findRecovery(i.RecoveryAddresses, a.Via, a.Value); ok {
			if old.ID == uuid.Nil {
				old.ID = uuid.New()
				old.CreatedAt = now
			}
			if old.CreatedAt.IsZero() {
				old.CreatedAt = now
			}
			old.IdentityID = i.ID
			if old.UpdatedAt.IsZero() {
				old.UpdatedAt = now
			}
			ra = append(ra, old)
			continue
		}
		ra = append(ra, RecoveryAddress{ID: uuid.New(), IdentityID: i.ID, Via: a.Via, Value: a.Value, CreatedAt: now, UpdatedAt: now})
	}
	i.RecoveryAddresses = ra
	i.AvailableAAL = s.AvailableAAL(i)
	return ex, nil
}

// setIdentifiers gives the credentials of type t exactly the identifiers the
// schema derived. As in Kratos, an identity whose schema declares such
// identifiers gets credentials of that type even before a secret is set (with
// an empty config): this is what makes identifiers unique across identities.
func setIdentifiers(i *Identity, t CredentialsType, identifiers []string, now time.Time) {
	c, ok := i.Credentials[t]
	if !ok {
		if len(identifiers) == 0 {
			return
		}
		c = Credentials{Type: t, Config: json.RawMessage("{}"), CreatedAt: now, UpdatedAt: now}
		if t == CredentialsWebAuthn {
			c.Version = 1
		}
	}
	c.Type = t
	c.Identifiers = append([]string{}, identifiers...)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.UpdatedAt = now
	i.Credentials[t] = c
}

func findVerifiable(list []VerifiableAddress, via, value string) (VerifiableAddress, bool) {
	for _, a := range list {
		if a.Via == via && strings.EqualFold(strings.TrimSpace(a.Value), value) {
			a.Value = value
			return a, true
		}
	}
	return VerifiableAddress{}, false
}

func findRecovery(list []RecoveryAddress, via, value string) (RecoveryAddress, bool) {
	for _, a := range list {
		if (a.Via == via || a.Via == "") && strings.EqualFold(strings.TrimSpace(a.Value), value) {
			a.Via, a.Value = via, value
			return a, true
		}
	}
	return RecoveryAddress{}, false
}

// Create validates and stores a new identity. A taken identifier or address
// is reported as store.ErrConflict.
func (s *Service) Create(ctx context.Context, i *Identity) error {
	if i.ID == uuid.Nil {
		i.ID = uuid.New()
	}
	if i.State == "" {
		i.State = StateActive
	}
	if !i.State.Valid() {
		return invalid(fmt.Sprintf("The identity state %q is not valid; use active or inactive.", i.State))
	}
	now := Now()
	i.CreatedAt, i.UpdatedAt = now, now
	// As in Kratos, every new identity records when it got its state.
	i.StateChangedAt = &now
	if _, err := s.Prepare(i); err != nil {
		return err
	}
	if err := s.store.CreateIdentity(ctx, i); err != nil {
		return err
	}
	s.record(ctx, audit.IdentityCreated, i.ID)
	s.Expose(i)
	return nil
}

// Update validates and stores an identity's new state.
func (s *Service) Update(ctx context.Context, i *Identity) error {
	if !i.State.Valid() {
		return invalid(fmt.Sprintf("The identity state %q is not valid; use active or inactive.", i.State))
	}
	i.UpdatedAt = Now()
	if _, err := s.Prepare(i); err != nil {
		return err
	}
	if err := s.store.UpdateIdentity(ctx, i); err != nil {
		return err
	}
	s.record(ctx, audit.IdentityUpdated, i.ID)
	s.Expose(i)
	return nil
}

// Get loads an identity (with credentials when asked).
func (s *Service) Get(ctx context.Context, id uuid.UUID, withCredentials bool) (*Identity, error) {
	i, err := s.store.GetIdentity(ctx, id, withCredentials)
	if err != nil {
		return nil, err
	}
	return s.Expose(i), nil
}

// List returns a page of identities and the total number.
func (s *Service) List(ctx context.Context, offset, limit int) ([]*Identity, int, error) {
	list, total, err := s.store.ListIdentities(ctx, offset, limit)
	if err != nil {
		return nil, 0, err
	}
	for _, i := range list {
		s.Expose(i)
	}
	return list, total, nil
}

// Delete removes an identity and everything that belongs to it.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := s.store.DeleteIdentity(ctx, id); err != nil {
		return err
	}
	s.record(ctx, audit.IdentityDeleted, id)
	return nil
}

// InvalidError is an identity the caller got wrong (an unknown schema, a
// bad state, an identifier that cannot be stored).
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return e.Reason }

// InvalidReason tells the HTTP edge to answer 400 with the reason.
func (e *InvalidError) InvalidReason() string { return e.Reason }

func invalid(reason string) error { return &InvalidError{Reason: reason} }

// IsConflict reports whether err is a uniqueness conflict.
func IsConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// IsNotFound reports whether err means the record does not exist.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
