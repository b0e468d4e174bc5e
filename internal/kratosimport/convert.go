package kratosimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/session"
)

// convertIdentity turns a Kratos identity into a Hoplite one, keeping ids,
// timestamps, identifiers and address states. It returns an error (the
// identity is then reported and skipped, never half-moved) when the traits
// fail the configured schema or a credential cannot be carried over.
func (m *mover) convertIdentity(src *srcIdentity) (*identity.Identity, error) {
	sc, err := m.target.SchemaFor(src.SchemaID)
	if err != nil {
		return nil, fmt.Errorf("identity schema %q is not configured in Hoplite", src.SchemaID)
	}
	traits, err := compactJSON(src.Traits, "{}")
	if err != nil {
		return nil, errors.New("traits are not valid JSON")
	}
	if _, err := sc.ValidateTraits(traits); err != nil {
		var ve *schema.ValidationError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("traits fail identity schema %q: %v", sc.ID, ve)
		}
		return nil, fmt.Errorf("traits fail identity schema %q: %v", sc.ID, err)
	}
	state := identity.State(src.State)
	if state == "" {
		state = identity.StateActive
	}
	if !state.Valid() {
		return nil, fmt.Errorf("unknown identity state %q", src.State)
	}
	i := &identity.Identity{
		ID: src.ID, SchemaID: sc.ID, Traits: traits, State: state, StateChangedAt: src.StateChangedAt,
		CreatedAt: src.CreatedAt, UpdatedAt: src.UpdatedAt,
		Credentials: map[identity.CredentialsType]identity.Credentials{},
	}
	if i.MetadataPublic, err = compactJSON(src.MetadataPublic, ""); err != nil {
		return nil, errors.New("metadata_public is not valid JSON")
	}
	if i.MetadataAdmin, err = compactJSON(src.MetadataAdmin, ""); err != nil {
		return nil, errors.New("metadata_admin is not valid JSON")
	}
	for _, c := range src.Credentials {
		t := identity.CredentialsType(c.Type)
		if !slices.Contains(knownTypes, t) {
			return nil, fmt.Errorf("unknown credentials type %q", c.Type)
		}
		if _, dup := i.Credentials[t]; dup {
			return nil, fmt.Errorf("more than one set of %s credentials", c.Type)
		}
		config, err := compactJSON(c.Config, "{}")
		if err != nil {
			return nil, fmt.Errorf("%s credentials config is not valid JSON", c.Type)
		}
		if config, err = m.convertConfig(t, config); err != nil {
			return nil, err
		}
		i.Credentials[t] = identity.Credentials{
			ID: c.ID, Type: t, Identifiers: normalizeIdentifiers(t, c.Identifiers), Config: config, Version: c.Version,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		}
	}
	for _, a := range src.Verifiable {
		status := a.Status
		if status == "" {
			status = identity.AddressStatusPending
			if a.Verified {
				status = identity.AddressStatusCompleted
			}
		}
		i.VerifiableAddresses = append(i.VerifiableAddresses, identity.VerifiableAddress{
			ID: a.ID, IdentityID: i.ID, Via: a.Via, Value: a.Value, Verified: a.Verified, Status: status,
			VerifiedAt: a.VerifiedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		})
	}
	for _, a := range src.Recovery {
		via := a.Via
		if via == "" {
			via = "email"
		}
		i.RecoveryAddresses = append(i.RecoveryAddresses, identity.RecoveryAddress{
			ID: a.ID, IdentityID: i.ID, Via: via, Value: a.Value, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		})
	}
	i.AvailableAAL = m.target.AvailableAAL(i)
	return i, nil
}

// knownTypes are the credentials types Kratos v0.9 writes.
var knownTypes = []identity.CredentialsType{
	identity.CredentialsPassword, identity.CredentialsOIDC, identity.CredentialsTOTP,
	identity.CredentialsLookupSecret, identity.CredentialsWebAuthn,
}

// methodAAL is the level Kratos assumes for an authentication method
// recorded without one: second factors are aal2, everything else aal1.
func methodAAL(method string) string {
	switch method {
	case string(identity.CredentialsTOTP), string(identity.CredentialsLookupSecret), string(identity.CredentialsWebAuthn):
		return identity.AAL2
	}
	return identity.AAL1
}

// normalizeIdentifiers lower-cases and trims the identifiers a login looks
// up case-insensitively (Kratos v0.9 already stores them so), and drops
// duplicates.
func normalizeIdentifiers(t identity.CredentialsType, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, v := range ids {
		if t == identity.CredentialsPassword || t == identity.CredentialsWebAuthn {
			v = strings.ToLower(strings.TrimSpace(v))
		}
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// convertConfig carries one credentials config over.
func (m *mover) convertConfig(t identity.CredentialsType, config json.RawMessage) (json.RawMessage, error) {
	switch t {
	case identity.CredentialsPassword:
		var cfg identity.PasswordConfig
		if err := json.Unmarshal(config, &cfg); err != nil {
			return nil, errors.New("password credentials config is malformed")
		}
		// An empty hash is an identity that never set a password (Kratos
		// keeps the identifiers anyway); any other hash must be one that a
		// login can check, or the user could never sign in with it.
		if cfg.HashedPassword != "" && !hash.IsKnownFormat([]byte(cfg.HashedPassword)) {
			return nil, errors.New("the password hash is in an unknown format")
		}
		return config, nil
	case identity.CredentialsTOTP:
		return totpConfig(config)
	case identity.CredentialsLookupSecret:
		return m.lookupConfig(config)
	default:
		// oidc ({"providers":[…]}, initial tokens as Kratos' cipher left
		// them) and webauthn ({"credentials":[…],"user_handle"}) are kept
		// as Kratos wrote them.
		return config, nil
	}
}

// totpConfig carries a TOTP config over as Kratos stored it
// ({"totp_url":"otpauth://…"}). This is the one place to change if TOTP
// secrets come to be encrypted at rest: encrypt totp_url here.
func totpConfig(config json.RawMessage) (json.RawMessage, error) {
	var cfg struct {
		TOTPURL string `json:"totp_url"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, errors.New("totp credentials config is malformed")
	}
	return config, nil
}

// LookupConfig is how lookup codes (recovery codes) are stored: each code
// only as its keyed hash, with the time it was used. Kratos stores them in
// plain text ({"recovery_codes":[{"code","used_at"}]}).
type LookupConfig struct {
	RecoveryCodes []LookupCode `json:"recovery_codes"`
}

// LookupCode is one stored lookup code.
type LookupCode struct {
	// CodeHash is LookupCodeHasher(secrets).Hash(code): hex HMAC-SHA256.
	CodeHash string          `json:"code_hash"`
	UsedAt   json.RawMessage `json:"used_at,omitempty"`
}

// LookupCodeHasher returns the keyed hasher of lookup codes. Keys derive
// from secrets.default as session tokens' do (purpose "lookup-code"); a
// login checks a submitted code against every key's hash (Candidates), so
// secrets can rotate. Codes are compared exactly (case-sensitive), as in
// Kratos.
func LookupCodeHasher(secrets []string) *secret.TokenHasher {
	return secret.NewTokenHasher("lookup-code", secrets)
}

func (m *mover) lookupConfig(config json.RawMessage) (json.RawMessage, error) {
	var in struct {
		RecoveryCodes []struct {
			Code     string          `json:"code"`
			CodeHash string          `json:"code_hash"`
			UsedAt   json.RawMessage `json:"used_at"`
		} `json:"recovery_codes"`
	}
	if err := json.Unmarshal(config, &in); err != nil {
		return nil, errors.New("lookup_secret credentials config is malformed")
	}
	out := LookupConfig{RecoveryCodes: []LookupCode{}}
	for _, c := range in.RecoveryCodes {
		h := c.CodeHash
		if h == "" {
			if c.Code == "" {
				continue
			}
			h = m.lookup.Hash(c.Code)
		}
		used := c.UsedAt
		if t := bytes.TrimSpace(used); len(t) == 0 || string(t) == "null" || string(t) == `""` || string(t) == `"0001-01-01T00:00:00Z"` {
			used = nil
		}
		out.RecoveryCodes = append(out.RecoveryCodes, LookupCode{CodeHash: h, UsedAt: used})
	}
	return json.Marshal(out)
}

// convertSession turns a Kratos session into a Hoplite one stored under the
// keyed hash of its token.
func (m *mover) convertSession(src srcSession) (*session.Session, error) {
	if src.Token == "" {
		return nil, errors.New("the session has no token")
	}
	s := &session.Session{
		ID: src.ID, IdentityID: src.IdentityID, Active: src.Active, AAL: src.AAL,
		IssuedAt: src.IssuedAt, ExpiresAt: src.ExpiresAt, AuthenticatedAt: src.AuthenticatedAt,
		CreatedAt: src.CreatedAt, UpdatedAt: src.UpdatedAt,
		TokenHash: m.target.TokenHash(src.Token),
	}
	methods, err := compactJSON(src.Methods, "[]")
	if err != nil {
		return nil, errors.New("authentication_methods is not valid JSON")
	}
	var raw []struct {
		Method      string   `json:"method"`
		AAL         string   `json:"aal"`
		CompletedAt flexJSON `json:"completed_at"`
	}
	if err := json.Unmarshal(methods, &raw); err != nil {
		return nil, errors.New("authentication_methods is malformed")
	}
	for _, x := range raw {
		meth := session.AuthenticationMethod{Method: x.Method, AAL: x.AAL, CompletedAt: x.CompletedAt.t}
		if meth.AAL == "" {
			meth.AAL = methodAAL(meth.Method)
		}
		s.AuthenticationMethods = append(s.AuthenticationMethods, meth)
	}
	if s.AAL == "" {
		s.AAL = s.ComputeAAL()
	}
	if s.AuthenticatedAt.IsZero() {
		s.AuthenticatedAt = s.IssuedAt
	}
	return s, nil
}

// flexJSON reads a JSON time that may be missing, null or empty.
type flexJSON struct{ flexTime }

func (f *flexJSON) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil || s == nil || *s == "" {
		return nil
	}
	_ = f.parse(*s)
	return nil
}
