package webauthn

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	wa "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/factor"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

const (
	id = string(identity.CredentialsWebAuthn)

	// Keys of the flow's internal context: the ceremony a form started
	// (challenge and the rest of go-webauthn's session data).
	loginCeremonyKey    = "webauthn_login_ceremony"
	registerCeremonyKey = "webauthn_register_ceremony"

	nodeScript          = "webauthn_script"
	nodeLoginTrigger    = "webauthn_login_trigger"
	nodeLogin           = "webauthn_login"
	nodeRegisterTrigger = "webauthn_register_trigger"
	nodeRegister        = "webauthn_register"
	nodeDisplayName     = "webauthn_register_displayname"
	nodeRemove          = "webauthn_remove"
)

// Config are the method's settings.
type Config struct {
	RPID          string
	RPDisplayName string
	// RPOrigin is the origin pages run the ceremonies on.
	RPOrigin string
	// Passwordless makes new keys first factors (sign-in with an
	// identifier and a key) instead of second factors.
	Passwordless bool
	// Passkeys (beyond Kratos v0.9) makes new keys discoverable
	// credentials that sign in with no identifier typed; they are first
	// factors.
	Passkeys bool
	// ScriptURL and ScriptIntegrity describe /.well-known/ory/webauthn.js.
	ScriptURL       string
	ScriptIntegrity string
}

// Store is the storage the method needs.
type Store interface {
	factor.Store
	FindByCredentialsIdentifier(ctx context.Context, t identity.CredentialsType, identifier string) (*identity.Identity, *identity.Credentials, error)
}

// Method implements flow.LoginMethod and flow.SettingsMethod for browser
// flows (API flows neither show nor take security keys, as in Kratos).
type Method struct {
	store      Store
	identities *identity.Service
	wa         *wa.WebAuthn
	cfg        Config
}

// New wires the method.
func New(st Store, identities *identity.Service, cfg Config) (*Method, error) {
	w, err := wa.New(&wa.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPDisplayName, RPOrigins: []string{cfg.RPOrigin},
	})
	if err != nil {
		return nil, err
	}
	return &Method{store: st, identities: identities, wa: w, cfg: cfg}, nil
}

// ID is "webauthn".
func (m *Method) ID() string { return id }

// ClaimsSubmission: the key forms submit no method field (the script
// submits webauthn_register; the remove buttons submit webauthn_remove).
func (m *Method) ClaimsSubmission(b *flow.Body) bool {
	return b.String(nodeRegister) != "" || b.String(nodeRemove) != "" || b.String(nodeLogin) != ""
}

// ---- stored credentials ----------------------------------------------------

// key is one stored key, in the layout Kratos stores them (byte fields as
// base64) plus Hoplite's additions: the flags go-webauthn checks on every
// assertion and whether the key is a discoverable credential (passkey).
type key struct {
	ID              []byte    `json:"id"`
	PublicKey       []byte    `json:"public_key"`
	AttestationType string    `json:"attestation_type"`
	Authenticator   keyAuthn  `json:"authenticator"`
	DisplayName     string    `json:"display_name"`
	AddedAt         time.Time `json:"added_at"`
	IsPasswordless  bool      `json:"is_passwordless"`
	Flags           *keyFlags `json:"flags,omitempty"`
	Discoverable    bool      `json:"discoverable,omitempty"`
}

type keyAuthn struct {
	AAGUID       []byte `json:"aaguid"`
	SignCount    uint32 `json:"sign_count"`
	CloneWarning bool   `json:"clone_warning"`
}

type keyFlags struct {
	UserPresent    bool `json:"user_present"`
	UserVerified   bool `json:"user_verified"`
	BackupEligible bool `json:"backup_eligible"`
	BackupState    bool `json:"backup_state"`
}

type config struct {
	Credentials []key  `json:"credentials"`
	UserHandle  []byte `json:"user_handle,omitempty"`
}

func parseConfig(raw json.RawMessage) config {
	var c config
	_ = json.Unmarshal(raw, &c)
	return c
}

func (k key) credential() wa.Credential {
	c := wa.Credential{
		ID: k.ID, PublicKey: k.PublicKey, AttestationType: k.AttestationType,
		Authenticator: wa.Authenticator{AAGUID: k.Authenticator.AAGUID, SignCount: k.Authenticator.SignCount, CloneWarning: k.Authenticator.CloneWarning},
	}
	if k.Flags != nil {
		c.Flags = wa.CredentialFlags{UserPresent: k.Flags.UserPresent, UserVerified: k.Flags.UserVerified, BackupEligible: k.Flags.BackupEligible, BackupState: k.Flags.BackupState}
	}
	return c
}

// user is an identity as go-webauthn sees it: the user handle is the
// identity id (as Kratos makes it), the keys those of one kind.
type user struct {
	handle []byte
	name   string
	keys   []key
}

func (u *user) WebAuthnID() []byte          { return u.handle }
func (u *user) WebAuthnName() string        { return u.name }
func (u *user) WebAuthnDisplayName() string { return u.name }
func (u *user) WebAuthnCredentials() []wa.Credential {
	out := make([]wa.Credential, len(u.keys))
	for k, key := range u.keys {
		out[k] = key.credential()
	}
	return out
}

func handleOf(i *identity.Identity, c config) []byte {
	if len(c.UserHandle) > 0 {
		return c.UserHandle
	}
	return i.ID[:]
}

// userOf is i with its keys of the given kind (first factors or second).
func userOf(i *identity.Identity, passwordless bool) *user {
	c := i.Credentials[identity.CredentialsWebAuthn]
	cfg := parseConfig(c.Config)
	u := &user{handle: handleOf(i, cfg), name: i.ID.String()}
	if len(c.Identifiers) > 0 {
		u.name = c.Identifiers[0]
	}
	for _, k := range cfg.Credentials {
		if k.IsPasswordless == passwordless {
			u.keys = append(u.keys, k)
		}
	}
	return u
}

// ceremony is what a form's options were made for.
type ceremony struct {
	Session    wa.SessionData `json:"session"`
	IdentityID uuid.UUID      `json:"identity_id,omitempty"`
	// Passwordless: the ceremony proves a first factor.
	Passwordless bool `json:"passwordless,omitempty"`
	// Discoverable: any passkey may answer (no identifier known).
	Discoverable bool `json:"discoverable,omitempty"`
}

// ---- nodes -----------------------------------------------------------------

func (m *Method) scriptNode() ui.Node {
	return ui.NewScript(nodeScript, m.cfg.ScriptURL, m.cfg.ScriptIntegrity, uuid.NewString(), ui.GroupWebAuthn)
}

func jsCall(fn string, options any) (string, error) {
	raw, err := json.Marshal(options)
	if err != nil {
		return "", err
	}
	return fn + "(" + string(raw) + ")", nil
}

// addLoginNodes starts an assertion ceremony and renders its trigger.
func (m *Method) addLoginNodes(f *flow.Flow, assertion *protocol.CredentialAssertion, c ceremony, label ui.Text) error {
	if err := f.SetInternal(loginCeremonyKey, c); err != nil {
		return err
	}
	call, err := jsCall("window.__oryWebAuthnLogin", assertion)
	if err != nil {
		return err
	}
	f.UI.Upsert(m.scriptNode())
	f.UI.Upsert(ui.NewInput(nodeLoginTrigger, "", ui.GroupWebAuthn, ui.InputButton, ui.OnClick(call), ui.WithLabel(label)))
	f.UI.Upsert(ui.NewInput(nodeLogin, "", ui.GroupWebAuthn, ui.InputHidden))
	return nil
}

// ---- login -----------------------------------------------------------------

// PopulateLogin renders, on browser flows: the security-key step of a
// second-factor flow (2FA keys); the identifier step of a passwordless
// sign-in; a passkey button; or, for a refresh, the identity's keys.
func (m *Method) PopulateLogin(r *http.Request, f *flow.Flow, sess *session.Session) error {
	if f.Type != flow.TypeBrowser {
		return nil
	}
	firstFactor := m.cfg.Passwordless || m.cfg.Passkeys
	switch {
	case f.RequestedAAL == identity.AAL2:
		if sess == nil || firstFactor {
			return nil
		}
		return m.populateKnown(r.Context(), f, sess.IdentityID, false, ui.InfoLoginWebAuthnTrigger())
	case sess != nil && f.Refresh:
		if !firstFactor {
			return nil
		}
		return m.populateKnown(r.Context(), f, sess.IdentityID, true, ui.InfoLoginWebAuthnTrigger())
	}
	if m.cfg.Passwordless {
		f.UI.Upsert(ui.NewInput("identifier", "", ui.GroupDefault, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoNodeLabelID())))
		f.UI.Upsert(ui.NewInput("method", id, ui.GroupWebAuthn, ui.InputSubmit, ui.WithLabel(ui.InfoLoginWithSecurityKey())))
	}
	if m.cfg.Passkeys {
		assertion, sd, err := m.wa.BeginDiscoverableLogin(wa.WithUserVerification(protocol.VerificationPreferred))
		if err != nil {
			return err
		}
		return m.addLoginNodes(f, assertion, ceremony{Session: *sd, Passwordless: true, Discoverable: true}, ui.InfoLoginWebAuthnTrigger())
	}
	return nil
}

// populateKnown renders the keys of a known identity.
func (m *Method) populateKnown(ctx context.Context, f *flow.Flow, identityID uuid.UUID, passwordless bool, label ui.Text) error {
	i, err := m.store.GetIdentity(ctx, identityID, true)
	if err != nil {
		return err
	}
	u := userOf(i, passwordless)
	if len(u.keys) == 0 {
		return nil
	}
	assertion, sd, err := m.wa.BeginLogin(u, wa.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return err
	}
	if ids := i.Credentials[identity.CredentialsWebAuthn].Identifiers; len(ids) > 0 {
		f.UI.Upsert(ui.NewInput("identifier", ids[0], ui.GroupDefault, ui.InputHidden))
	}
	return m.addLoginNodes(f, assertion, ceremony{Session: *sd, IdentityID: identityID, Passwordless: passwordless}, label)
}

func invalidKey() error { return flow.NewFormError("", ui.ErrInvalidTOTPCode()) }

// Login checks an assertion (webauthn_login) against the ceremony the form
// started, or, for a passwordless sign-in, takes the identifier and starts
// the ceremony for its keys (a second step).
func (m *Method) Login(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, sess *session.Session) (*flow.Result, error) {
	if f.Type != flow.TypeBrowser {
		return nil, flow.ErrNotResponsible
	}
	if raw := b.String(nodeLogin); raw != "" {
		return m.finishLogin(ctx, f, raw, sess)
	}
	if !m.cfg.Passwordless || f.RequestedAAL == identity.AAL2 {
		return nil, flow.NewFormError(nodeLogin, ui.ErrMissingProperty(nodeLogin))
	}
	identifier := strings.TrimSpace(b.String("identifier"))
	if identifier == "" {
		return nil, flow.NewFormError("identifier", ui.ErrMissingProperty("identifier"))
	}
	i, c, err := m.store.FindByCredentialsIdentifier(ctx, identity.CredentialsWebAuthn, identifier)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidText) {
		return nil, flow.NewFormError("", ui.ErrNoSuchWebAuthnUser())
	}
	if err != nil {
		return nil, err
	}
	i.Credentials = map[identity.CredentialsType]identity.Credentials{identity.CredentialsWebAuthn: *c}
	u := userOf(i, true)
	if len(u.keys) == 0 {
		return nil, flow.NewFormError("", ui.ErrNoSuchWebAuthnUser())
	}
	assertion, sd, err := m.wa.BeginLogin(u, wa.WithUserVerification(protocol.VerificationDiscouraged))
	if err != nil {
		return nil, err
	}
	// The second step: the form now holds only the identifier and the key
	// ceremony, as in Kratos.
	csrf := f.UI.Find("csrf_token", "")
	f.UI.Nodes = nil
	if csrf != nil {
		f.UI.Nodes = append(f.UI.Nodes, *csrf)
	}
	f.UI.Messages = nil
	f.UI.Upsert(ui.NewInput("identifier", identifier, ui.GroupDefault, ui.InputHidden, ui.Required()))
	if err := m.addLoginNodes(f, assertion, ceremony{Session: *sd, IdentityID: i.ID, Passwordless: true}, ui.InfoLoginWebAuthnContinue()); err != nil {
		return nil, err
	}
	f.UI.AddMessage(ui.InfoLoginWebAuthnPrepare())
	return flow.Continue(), nil
}

func (m *Method) finishLogin(ctx context.Context, f *flow.Flow, raw string, sess *session.Session) (*flow.Result, error) {
	var c ceremony
	if ok, _ := f.GetInternal(loginCeremonyKey, &c); !ok {
		return nil, flow.NewFormError("", ui.ErrValidation("No security key step was started on this flow; reload the form."))
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(raw))
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrValidation("Unable to parse the WebAuthn response."))
	}
	var i *identity.Identity
	switch {
	case c.Discoverable:
		var found *identity.Identity
		_, err = m.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (wa.User, error) {
			idv, err := uuid.FromBytes(userHandle)
			if err != nil {
				return nil, err
			}
			found, err = m.store.GetIdentity(ctx, idv, true)
			if err != nil {
				return nil, err
			}
			return m.prepared(userOf(found, true), parsed), nil
		}, c.Session, parsed)
		i = found
	default:
		if f.RequestedAAL == identity.AAL2 || f.Refresh {
			// The ceremony is the session's; another session's cannot use it.
			if sess == nil || sess.IdentityID != c.IdentityID {
				return nil, invalidKey()
			}
		}
		i, err = m.store.GetIdentity(ctx, c.IdentityID, true)
		if err != nil {
			return nil, err
		}
		_, err = m.wa.ValidateLogin(m.prepared(userOf(i, c.Passwordless), parsed), c.Session, parsed)
	}
	if err != nil || i == nil {
		return nil, invalidKey()
	}
	if err := m.recordUse(ctx, i, parsed); err != nil {
		return nil, err
	}
	f.DeleteInternal(loginCeremonyKey)
	aal := identity.AAL2
	if c.Passwordless {
		aal = identity.AAL1
	}
	return flow.Done(i, aal), nil
}

// prepared fills in, for keys stored without flags (imported from
// Kratos), the backup flags the assertion reports, which go-webauthn
// otherwise compares with the flags recorded at registration.
func (m *Method) prepared(u *user, parsed *protocol.ParsedCredentialAssertionData) *user {
	fl := parsed.Response.AuthenticatorData.Flags
	for k := range u.keys {
		if u.keys[k].Flags == nil {
			u.keys[k].Flags = &keyFlags{UserPresent: true, BackupEligible: fl.HasBackupEligible(), BackupState: fl.HasBackupState()}
		}
	}
	return u
}

// recordUse stores the key's new signature counter, refusing a counter
// that did not grow (a cloned key), atomically with other sign-ins.
func (m *Method) recordUse(ctx context.Context, i *identity.Identity, parsed *protocol.ParsedCredentialAssertionData) error {
	c := i.Credentials[identity.CredentialsWebAuthn]
	cfg := parseConfig(c.Config)
	counter := parsed.Response.AuthenticatorData.Counter
	for k := range cfg.Credentials {
		key := &cfg.Credentials[k]
		if !bytes.Equal(key.ID, parsed.RawID) {
			continue
		}
		if counter <= key.Authenticator.SignCount && (counter != 0 || key.Authenticator.SignCount != 0) {
			// Another copy of the key signed with this counter (or a later
			// one) already.
			return invalidKey()
		}
		key.Authenticator.SignCount = counter
		if key.Flags == nil {
			fl := parsed.Response.AuthenticatorData.Flags
			key.Flags = &keyFlags{UserPresent: fl.HasUserPresent(), UserVerified: fl.HasUserVerified(), BackupEligible: fl.HasBackupEligible(), BackupState: fl.HasBackupState()}
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		if err := m.store.SwapCredentialsConfig(ctx, i.ID, identity.CredentialsWebAuthn, c.Config, raw); err != nil {
			if factor.Spent(err) {
				return invalidKey()
			}
			return err
		}
		return nil
	}
	return invalidKey()
}

// ---- settings --------------------------------------------------------------

// newKeysPasswordless: keys added now are first factors.
func (m *Method) newKeysPasswordless() bool { return m.cfg.Passwordless || m.cfg.Passkeys }

// PopulateSettings lists the identity's keys with a remove button each and
// starts the ceremony that adds one.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	if f.Type != flow.TypeBrowser || i == nil {
		return nil
	}
	c := i.Credentials[identity.CredentialsWebAuthn]
	cfg := parseConfig(c.Config)
	lastFirstFactor := m.firstFactors(i) <= 1
	for _, k := range cfg.Credentials {
		if k.IsPasswordless && lastFirstFactor {
			continue
		}
		f.UI.Upsert(ui.NewInput(nodeRemove, hex.EncodeToString(k.ID), ui.GroupWebAuthn, ui.InputSubmit, ui.WithLabel(ui.InfoSettingsWebAuthnRemove(k.DisplayName, k.AddedAt))))
	}
	u := userOf(i, m.newKeysPasswordless())
	// Every key of the identity is excluded, whatever its kind.
	var exclude []protocol.CredentialDescriptor
	for _, k := range cfg.Credentials {
		exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: k.ID})
	}
	creation, sd, err := m.wa.BeginRegistration(u, m.registrationOptions(exclude)...)
	if err != nil {
		return err
	}
	if err := f.SetInternal(registerCeremonyKey, ceremony{Session: *sd, IdentityID: i.ID, Passwordless: m.newKeysPasswordless(), Discoverable: m.cfg.Passkeys}); err != nil {
		return err
	}
	call, err := jsCall("window.__oryWebAuthnRegistration", creation)
	if err != nil {
		return err
	}
	f.UI.Upsert(m.scriptNode())
	f.UI.Upsert(ui.NewInput(nodeDisplayName, "", ui.GroupWebAuthn, ui.InputText, ui.WithLabel(ui.InfoSettingsWebAuthnName())))
	f.UI.Upsert(ui.NewInput(nodeRegisterTrigger, "", ui.GroupWebAuthn, ui.InputButton, ui.OnClick(call), ui.WithLabel(ui.InfoSettingsWebAuthnAdd())))
	f.UI.Upsert(ui.NewInput(nodeRegister, "", ui.GroupWebAuthn, ui.InputHidden))
	return nil
}

// registrationOptions asks for a discoverable credential when passkeys are
// on; user verification is discouraged otherwise, as in Kratos.
func (m *Method) registrationOptions(exclude []protocol.CredentialDescriptor) []wa.RegistrationOption {
	opts := []wa.RegistrationOption{wa.WithExclusions(exclude)}
	if m.cfg.Passkeys {
		return append(opts, wa.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationPreferred,
		}))
	}
	return append(opts, wa.WithAuthenticatorSelection(protocol.AuthenticatorSelection{UserVerification: protocol.VerificationDiscouraged}))
}

// newKey is the stored form of a key go-webauthn registered.
func newKey(cred *wa.Credential, name string, now time.Time, passwordless, discoverable bool) key {
	return key{
		ID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
		Authenticator: keyAuthn{AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount},
		DisplayName:   name, AddedAt: now, IsPasswordless: passwordless,
		Flags:        &keyFlags{UserPresent: cred.Flags.UserPresent, UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState},
		Discoverable: discoverable,
	}
}

// Settings adds a key (webauthn_register) or removes one (webauthn_remove);
// both need a recent login, as in Kratos. Adding a key records it on the
// session that added it.
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	if f.Type != flow.TypeBrowser {
		return nil, flow.ErrNotResponsible
	}
	register, remove := b.String(nodeRegister), b.String(nodeRemove)
	if register == "" && remove == "" {
		return nil, flow.ErrNotResponsible
	}
	if !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	i := req.Identity
	c := i.Credentials[identity.CredentialsWebAuthn]
	cfg := parseConfig(c.Config)
	if remove != "" {
		return nil, m.remove(i, c, cfg, remove)
	}
	var cer ceremony
	if ok, _ := f.GetInternal(registerCeremonyKey, &cer); !ok || cer.IdentityID != i.ID {
		return nil, flow.NewFormError("", ui.ErrValidation("No security key registration was started on this flow; reload the form."))
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(register))
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrValidation("Unable to parse the WebAuthn response."))
	}
	u := userOf(i, cer.Passwordless)
	cred, err := m.wa.CreateCredential(u, cer.Session, parsed)
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrValidation("The security key could not be registered: the response did not match this form's challenge, origin or relying party."))
	}
	now := identity.Now()
	cfg.Credentials = append(cfg.Credentials, newKey(cred, strings.TrimSpace(b.String(nodeDisplayName)), now, cer.Passwordless, cer.Discoverable))
	cfg.UserHandle = u.handle
	if err := m.setConfig(i, c, cfg, now); err != nil {
		return nil, err
	}
	f.DeleteInternal(registerCeremonyKey)
	aal := identity.AAL2
	if cer.Passwordless {
		aal = identity.AAL1
	}
	return &flow.Result{Identity: i, AAL: aal}, nil
}

// remove drops the key whose hex id is given, unless it is the identity's
// last way to sign in.
func (m *Method) remove(i *identity.Identity, c identity.Credentials, cfg config, hexID string) error {
	rawID, err := hex.DecodeString(hexID)
	if err != nil {
		return flow.NewFormError(nodeRemove, ui.ErrValidation("There is no such security key."))
	}
	kept := cfg.Credentials[:0:0]
	var removed *key
	for k := range cfg.Credentials {
		if bytes.Equal(cfg.Credentials[k].ID, rawID) && removed == nil {
			removed = &cfg.Credentials[k]
			continue
		}
		kept = append(kept, cfg.Credentials[k])
	}
	if removed == nil {
		return flow.NewFormError(nodeRemove, ui.ErrValidation("There is no such security key."))
	}
	if removed.IsPasswordless && m.firstFactors(i) <= 1 {
		return flow.NewFormError(nodeRemove, ui.ErrValidation("This security key is the last way to sign in to this account; add a password or another key before removing it."))
	}
	cfg.Credentials = kept
	return m.setConfig(i, c, cfg, identity.Now())
}

// setConfig puts cfg on i's webauthn credentials (stored by the engine).
func (m *Method) setConfig(i *identity.Identity, c identity.Credentials, cfg config, now time.Time) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	c.Type, c.Config, c.Version, c.UpdatedAt = identity.CredentialsWebAuthn, raw, 1, now
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if i.Credentials == nil {
		i.Credentials = map[identity.CredentialsType]identity.Credentials{}
	}
	i.Credentials[identity.CredentialsWebAuthn] = c
	return nil
}

// ---- registration ----------------------------------------------------------

// PopulateRegistration renders, on browser flows with passwordless keys,
// the sign-up with a security key: the traits (moved to the default group,
// shared with the other methods, as Kratos does) and the key ceremony for
// the identity id the new identity will get.
func (m *Method) PopulateRegistration(r *http.Request, f *flow.Flow) error {
	if f.Type != flow.TypeBrowser || !m.newKeysPasswordless() {
		return nil
	}
	traits := flow.TraitNodes(m.identities.Schemas().Default(), ui.GroupDefault, nil)
	for _, n := range traits {
		f.UI.Remove(n.ID())
	}
	for _, n := range traits {
		f.UI.Upsert(n)
	}
	newID := uuid.New()
	u := &user{handle: newID[:], name: newID.String()}
	creation, sd, err := m.wa.BeginRegistration(u, m.registrationOptions(nil)...)
	if err != nil {
		return err
	}
	if err := f.SetInternal(registerCeremonyKey, ceremony{Session: *sd, IdentityID: newID, Passwordless: true, Discoverable: m.cfg.Passkeys}); err != nil {
		return err
	}
	call, err := jsCall("window.__oryWebAuthnRegistration", creation)
	if err != nil {
		return err
	}
	f.UI.Upsert(m.scriptNode())
	f.UI.Upsert(ui.NewInput(nodeDisplayName, "", ui.GroupWebAuthn, ui.InputText, ui.WithLabel(ui.InfoSettingsWebAuthnName())))
	f.UI.Upsert(ui.NewInput(nodeRegister, "", ui.GroupWebAuthn, ui.InputHidden))
	f.UI.Upsert(ui.NewInput(nodeRegisterTrigger, "", ui.GroupWebAuthn, ui.InputButton, ui.OnClick(call), ui.WithLabel(ui.InfoRegistrationWithSecurityKey())))
	return nil
}

// Register signs a new identity up with the traits and the key the form's
// ceremony created.
func (m *Method) Register(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body) (*flow.Result, error) {
	if f.Type != flow.TypeBrowser || !m.newKeysPasswordless() {
		return nil, flow.ErrNotResponsible
	}
	raw := b.String(nodeRegister)
	if raw == "" {
		return nil, flow.NewFormError(nodeRegister, ui.ErrMissingProperty(nodeRegister))
	}
	var cer ceremony
	if ok, _ := f.GetInternal(registerCeremonyKey, &cer); !ok || cer.IdentityID == uuid.Nil {
		return nil, flow.NewFormError("", ui.ErrValidation("No security key registration was started on this flow; reload the form."))
	}
	sc := m.identities.Schemas().Default()
	traits, err := b.Traits(sc.FormFields())
	if err != nil {
		return nil, err
	}
	i := &identity.Identity{ID: cer.IdentityID, SchemaID: sc.ID, Traits: traits, State: identity.StateActive}
	ex, err := m.identities.Prepare(i)
	if err != nil {
		return nil, err
	}
	if len(ex.WebAuthnIdentifiers) == 0 {
		return nil, flow.NewFormError("", ui.ErrNoIdentifier())
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(raw))
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrValidation("Unable to parse the WebAuthn response."))
	}
	u := &user{handle: cer.IdentityID[:], name: cer.IdentityID.String()}
	cred, err := m.wa.CreateCredential(u, cer.Session, parsed)
	if err != nil {
		return nil, flow.NewFormError("", ui.ErrValidation("The security key could not be registered: the response did not match this form's challenge, origin or relying party."))
	}
	now := identity.Now()
	cfg := config{UserHandle: u.handle, Credentials: []key{newKey(cred, strings.TrimSpace(b.String(nodeDisplayName)), now, true, cer.Discoverable)}}
	c := i.Credentials[identity.CredentialsWebAuthn]
	c.Identifiers = ex.WebAuthnIdentifiers
	if err := m.setConfig(i, c, cfg, now); err != nil {
		return nil, err
	}
	f.DeleteInternal(registerCeremonyKey)
	return flow.Done(i, identity.AAL1), nil
}

// firstFactors counts the ways i can sign in on its own, over every kind of
// credentials (each passwordless key counts): removing the last is refused.
func (m *Method) firstFactors(i *identity.Identity) int {
	return m.identities.CountFactors(i, identity.FirstFactor)
}
