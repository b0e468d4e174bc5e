// Package password is the password method: sign up with traits and a
// password, sign in with an identifier and a password, change the password
// in settings.
package password

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/passwordpolicy"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/throttle"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Store is the storage the password method needs.
type Store interface {
	FindByCredentialsIdentifier(ctx context.Context, t identity.CredentialsType, identifier string) (*identity.Identity, *identity.Credentials, error)
	UpdateCredentialsConfig(ctx context.Context, identityID uuid.UUID, t identity.CredentialsType, config json.RawMessage) error
	GetIdentity(ctx context.Context, id uuid.UUID, withCredentials bool) (*identity.Identity, error)
}

// Policy checks new passwords.
type Policy interface {
	Validate(ctx context.Context, identifier, password string) error
}

// Hasher creates and checks password hashes (hash.Limited: the configured
// hasher behind a bound on concurrent hashing).
type Hasher interface {
	Generate(ctx context.Context, password []byte) ([]byte, error)
	Understands(hash []byte) bool
	Compare(ctx context.Context, password, encoded []byte) error
}

// Throttle counts failed sign-ins per account and client address
// (throttle.Limiter).
type Throttle interface {
	Check(ctx context.Context, keys ...throttle.Key) (time.Duration, error)
	Failure(ctx context.Context, keys ...throttle.Key) (locked bool, err error)
	Success(ctx context.Context, keys ...throttle.Key) error
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// Method implements flow.LoginMethod, flow.RegistrationMethod and
// flow.SettingsMethod.
type Method struct {
	store      Store
	identities *identity.Service
	hasher     Hasher
	policy     Policy
	throttle   Throttle
	audit      Auditor

	// dummyHash is compared against when an identifier is unknown, so that
	// unknown identifiers cost the same time as wrong passwords. It is made
	// on first use: an argon2 hash costs its whole memory, which an idle
	// server should not hold.
	dummyOnce sync.Once
	dummyHash []byte
}

// New wires the method.
func New(st Store, identities *identity.Service, hasher Hasher, policy Policy) *Method {
	return &Method{store: st, identities: identities, hasher: hasher, policy: policy}
}

// Guard adds brute-force throttling and security events (either may be
// nil).
func (m *Method) Guard(t Throttle, a Auditor) *Method {
	m.throttle, m.audit = t, a
	return m
}

func (m *Method) record(ctx context.Context, t string, identityID uuid.UUID, details map[string]any) {
	if m.audit != nil {
		m.audit.Record(ctx, audit.For(t, identityID, details))
	}
}

// compareDummy spends the time of one password check on a hash made with
// the configured hasher. Only an error that must reach the client (a full
// hash queue, a cancelled request) is returned: a known identifier would
// get it from its real comparison too.
func (m *Method) compareDummy(ctx context.Context, password string) error {
	m.dummyOnce.Do(func() {
		// Generating only fails for inputs far from this one (passwords over
		// bcrypt's 72 bytes), so the error is not expected.
		m.dummyHash, _ = m.hasher.Generate(context.Background(), []byte(secret.RandomToken(24)))
	})
	return hashFailure(m.hasher.Compare(ctx, []byte(password), m.dummyHash))
}

// hashFailure keeps the errors of a password comparison that are not a
// wrong password.
func hashFailure(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, hash.ErrBusy) {
		return err
	}
	return nil
}

const id = string(identity.CredentialsPassword)

// ID is "password".
func (m *Method) ID() string { return id }

func passwordNode() ui.Node {
	return ui.NewInput("password", nil, ui.GroupPassword, ui.InputPassword, ui.Required(), ui.WithLabel(ui.InfoNodeLabelPassword()))
}

func submitNode(label ui.Text) ui.Node {
	return ui.NewInput("method", id, ui.GroupPassword, ui.InputSubmit, ui.WithLabel(label))
}

// PopulateLogin renders identifier and password. A refresh flow fixes the
// identifier to the signed-in identity's; a second-factor flow has no
// password step.
func (m *Method) PopulateLogin(r *http.Request, f *flow.Flow, sess *session.Session) error {
	if f.RequestedAAL == identity.AAL2 {
		return nil
	}
	if sess != nil && f.Refresh {
		i, err := m.store.GetIdentity(r.Context(), sess.IdentityID, true)
		if err != nil {
			return err
		}
		c, ok := i.Credentials[identity.CredentialsPassword]
		if !ok || !hasPassword(c) || len(c.Identifiers) == 0 {
			return nil
		}
		f.UI.Upsert(ui.NewInput("identifier", c.Identifiers[0], ui.GroupDefault, ui.InputHidden, ui.Required()))
	} else {
		f.UI.Upsert(ui.NewInput("identifier", "", ui.GroupDefault, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoNodeLabelID())))
	}
	f.UI.Upsert(passwordNode())
	f.UI.Upsert(submitNode(ui.InfoLogin()))
	return nil
}

func hasPassword(c identity.Credentials) bool {
	var cfg identity.PasswordConfig
	return json.Unmarshal(c.Config, &cfg) == nil && cfg.HashedPassword != ""
}

func invalidCredentials() error { return flow.NewFormError("", ui.ErrInvalidCredentials()) }

// Login checks identifier and password. A throttled account or client
// address is refused before anything is looked up or hashed; every wrong
// attempt counts, for unknown identifiers as for known ones, so that a
// lockout does not tell which accounts exist.
func (m *Method) Login(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, sess *session.Session) (*flow.Result, error) {
	if f.RequestedAAL == identity.AAL2 {
		// A second-factor flow takes second factors only, as in Kratos.
		return nil, flow.ErrNotResponsible
	}
	if err := checkLoginFields(b); err != nil {
		return nil, err
	}
	identifier := b.String("identifier")
	if identifier == "" {
		identifier = b.String("password_identifier")
	}
	password := b.String("password")
	identifier = strings.ToLower(strings.TrimSpace(identifier))

	account := throttle.Account(id, identifier)
	keys := []throttle.Key{account}
	if ip := httpx.ClientIPFrom(ctx); ip.IsValid() {
		keys = append(keys, throttle.IP(ip))
	}
	if m.throttle != nil {
		wait, err := m.throttle.Check(ctx, keys...)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return nil, &flow.FormError{Items: []flow.FormErrorItem{{Text: ui.ErrTooManyAttempts(wait)}}, RetryAfter: wait}
		}
	}
	failed := func(identityID uuid.UUID) (*flow.Result, error) {
		details := map[string]any{"method": id, "identifier": identifier}
		m.record(ctx, audit.LoginFailed, identityID, details)
		if m.throttle != nil {
			locked, err := m.throttle.Failure(ctx, keys...)
			if err != nil {
				return nil, err
			}
			if locked {
				m.record(ctx, audit.LoginLocked, identityID, details)
			}
		}
		return nil, invalidCredentials()
	}

	i, c, err := m.store.FindByCredentialsIdentifier(ctx, identity.CredentialsPassword, identifier)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidText) {
		if err := m.compareDummy(ctx, password); err != nil {
			return nil, err
		}
		return failed(uuid.Nil)
	}
	if err != nil {
		return nil, err
	}
	var cfg identity.PasswordConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil || cfg.HashedPassword == "" {
		if err := m.compareDummy(ctx, password); err != nil {
			return nil, err
		}
		return failed(i.ID)
	}
	if err := m.hasher.Compare(ctx, []byte(password), []byte(cfg.HashedPassword)); err != nil {
		if err := hashFailure(err); err != nil {
			return nil, err
		}
		return failed(i.ID)
	}
	if m.throttle != nil {
		// Only the account's count is forgotten: a client that owns one
		// valid account must not wipe its address's count by using it.
		if err := m.throttle.Success(ctx, account); err != nil {
			return nil, err
		}
	}
	m.record(ctx, audit.LoginSucceeded, i.ID, map[string]any{"method": id})
	if !m.hasher.Understands([]byte(cfg.HashedPassword)) {
		m.rehash(ctx, i.ID, password)
	}
	return flow.Done(i, identity.AAL1), nil
}

// checkLoginFields checks a login submission the way Kratos' login payload
// schema does, reporting every field at once: a field that is absent is
// missing (4000002), one that is sent empty fails the minimum length of one
// character (4000001). The identifier may come as the legacy
// password_identifier instead.
func checkLoginFields(b *flow.Body) error {
	fe := &flow.FormError{}
	add := func(field string, t ui.Text) { fe.Items = append(fe.Items, flow.FormErrorItem{Field: field, Text: t}) }
	tooShort := ui.ErrValidation("length must be >= 1, but got 0")
	switch {
	case b.Has("identifier"):
		if b.String("identifier") == "" {
			add("identifier", tooShort)
		}
	case b.String("password_identifier") == "":
		add("identifier", ui.ErrMissingProperty("identifier"))
	}
	switch {
	case !b.Has("password"):
		add("password", ui.ErrMissingProperty("password"))
	case b.String("password") == "":
		add("password", tooShort)
	}
	if len(fe.Items) > 0 {
		return fe
	}
	return nil
}

// rehash moves a password hash made with another algorithm or cost (an
// import, or older settings) to the configured hasher. Failure only means
// the next login tries again.
func (m *Method) rehash(ctx context.Context, identityID uuid.UUID, password string) {
	h, err := m.hasher.Generate(ctx, []byte(password))
	if err != nil {
		httpx.Logger(ctx).Warn("could not re-hash a password after login", "error", err)
		return
	}
	raw, _ := json.Marshal(identity.PasswordConfig{HashedPassword: string(h)})
	if err := m.store.UpdateCredentialsConfig(ctx, identityID, identity.CredentialsPassword, raw); err != nil {
		httpx.Logger(ctx).Warn("could not store a re-hashed password", "error", err)
	}
}

// PopulateRegistration renders the traits (in the password group), the
// password and the submit button.
func (m *Method) PopulateRegistration(r *http.Request, f *flow.Flow) error {
	for _, n := range flow.TraitNodes(m.identities.Schemas().Default(), ui.GroupPassword, nil) {
		f.UI.Upsert(n)
	}
	f.UI.Upsert(passwordNode())
	f.UI.Upsert(submitNode(ui.InfoRegistration()))
	return nil
}

// Register builds the new identity from traits and password.
func (m *Method) Register(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body) (*flow.Result, error) {
	sc := m.identities.Schemas().Default()
	traits, err := b.Traits(sc.FormFields())
	if err != nil {
		return nil, err
	}
	password := b.String("password")
	if password == "" {
		// Kratos looks at the password before it validates the traits, so
		// this is the only message of such a submission.
		return nil, flow.NewFormError("password", ui.ErrMissingProperty("password"))
	}
	i := &identity.Identity{ID: uuid.New(), SchemaID: sc.ID, Traits: traits, State: identity.StateActive}
	ex, err := m.identities.Prepare(i)
	if err != nil {
		return nil, err
	}
	if len(ex.PasswordIdentifiers) == 0 {
		return nil, flow.NewFormError("", ui.ErrNoIdentifier())
	}
	hashed, err := m.newHash(ctx, ex.PasswordIdentifiers, password)
	if err != nil {
		return nil, err
	}
	now := identity.Now()
	cfg, _ := json.Marshal(identity.PasswordConfig{HashedPassword: string(hashed)})
	i.Credentials = map[identity.CredentialsType]identity.Credentials{
		identity.CredentialsPassword: {Type: identity.CredentialsPassword, Identifiers: ex.PasswordIdentifiers, Config: cfg, CreatedAt: now, UpdatedAt: now},
	}
	return flow.Done(i, identity.AAL1), nil
}

// newHash checks a new password against the policy and hashes it. The
// password must not resemble any of the identity's identifiers (an identity
// without identifiers is checked against "").
func (m *Method) newHash(ctx context.Context, identifiers []string, password string) ([]byte, error) {
	if len(identifiers) == 0 {
		identifiers = []string{""}
	}
	for _, identifier := range identifiers {
		if err := m.policy.Validate(ctx, identifier, password); err != nil {
			var pe *passwordpolicy.PolicyError
			if errors.As(err, &pe) {
				return nil, flow.NewFormError("password", ui.ErrPasswordPolicy(pe.Reason))
			}
			return nil, err
		}
	}
	h, err := m.hasher.Generate(ctx, []byte(password))
	if errors.Is(err, hash.ErrPasswordTooLong) {
		return nil, flow.NewFormError("password", ui.ErrPasswordPolicy("passwords are limited to a maximum length of 72 characters"))
	}
	return h, err
}

// PopulateSettings renders the new-password input.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	f.UI.Upsert(passwordNode())
	f.UI.Upsert(ui.NewInput("method", id, ui.GroupPassword, ui.InputSubmit, ui.WithLabel(ui.InfoNodeLabelSave())))
	return nil
}

// Settings sets a new password; it needs a recent login. The result says
// a sign-in secret changed.
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	password := b.String("password")
	if password == "" {
		return nil, flow.NewFormError("password", ui.ErrMissingProperty("password"))
	}
	if !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	i := req.Identity
	hashed, err := m.newHash(ctx, i.Credentials[identity.CredentialsPassword].Identifiers, password)
	if err != nil {
		return nil, err
	}
	now := identity.Now()
	cfg, _ := json.Marshal(identity.PasswordConfig{HashedPassword: string(hashed)})
	c := i.Credentials[identity.CredentialsPassword]
	c.Type, c.Config, c.UpdatedAt = identity.CredentialsPassword, cfg, now
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if i.Credentials == nil {
		i.Credentials = map[identity.CredentialsType]identity.Credentials{}
	}
	i.Credentials[identity.CredentialsPassword] = c
	m.record(ctx, audit.PasswordChanged, i.ID, map[string]any{"method": id})
	// A new password is a new sign-in secret (security.credential_changes).
	return &flow.Result{SecretChanged: true}, nil
}

// SecretInputs names the input never shown again after a failed
// submission.
func (m *Method) SecretInputs() []string { return []string{"password"} }

// Credentials describes password credentials to the identity service.
type Credentials struct{}

// CredentialsType is "password".
func (Credentials) CredentialsType() identity.CredentialsType { return identity.CredentialsPassword }

// Factors: a password is a first factor once it has a hash and an
// identifier to sign in with.
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	if hasPassword(c) && len(c.Identifiers) > 0 {
		return []identity.Factor{identity.FirstFactor}
	}
	return nil
}
