// Package link is the link method: account recovery and address
// verification by a single-use link sent by email.
package link

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/throttle"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Token kinds.
const (
	KindRecovery     = "recovery"
	KindVerification = "verification"
)

// Token is a single-use secret sent in a link. Only its keyed hash is
// stored.
type Token = store.LinkToken

// ErrTokenInvalid means the token is unknown or was used already.
var ErrTokenInvalid = errors.New("link token is unknown or used")

// Store is the storage the link method needs.
type Store interface {
	CreateToken(ctx context.Context, t *Token) error
	// UseToken marks the unused token with this hash and kind as used and
	// returns it, expired or not; store.ErrNotFound when there is none.
	UseToken(ctx context.Context, kind, hash string, now time.Time) (*Token, error)
	// RevokeTokens marks every unused token of this kind issued to the
	// identity as used and reports how many there were.
	RevokeTokens(ctx context.Context, kind string, identityID uuid.UUID, now time.Time) (int64, error)
	FindRecoveryAddress(ctx context.Context, via, value string) (*identity.RecoveryAddress, error)
	FindVerifiableAddress(ctx context.Context, via, value string) (*identity.VerifiableAddress, error)
	UpdateVerifiableAddress(ctx context.Context, a *identity.VerifiableAddress) error
}

// Mailer queues emails.
type Mailer interface {
	QueueEmail(ctx context.Context, t courier.TemplateType, data courier.EmailData) (uuid.UUID, error)
}

// Config are the method's settings.
type Config struct {
	// BaseURL is the base of the links (selfservice.methods.link.config.base_url,
	// else the public base URL).
	BaseURL  *url.URL
	Lifespan time.Duration
	// Clock tells the time for token issue and expiry; nil means
	// time.Now. Tests set it instead of sleeping.
	Clock func() time.Time
}

// MailLimit allows one mail per address per cooldown (throttle.Limiter).
type MailLimit interface {
	Take(ctx context.Context, key throttle.Key) (time.Duration, error)
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// Method implements flow.RecoveryMethod, flow.RecoveryLinkMethod,
// flow.RecoveryLinkRevoker and flow.VerificationMethod.
type Method struct {
	store      Store
	identities *identity.Service
	mailer     Mailer
	hasher     *secret.TokenHasher
	cfg        Config
	mailLimit  MailLimit
	audit      Auditor
}

// Guard adds the per-address mail cooldown and security events (either
// may be nil).
func (m *Method) Guard(l MailLimit, a Auditor) *Method {
	m.mailLimit, m.audit = l, a
	return m
}

// cooledDown reports that a mail to address was sent too recently to send
// another. The flow answers as if it sent one: the client must not learn
// more than from a normal answer.
func (m *Method) cooledDown(ctx context.Context, kind, address string) (bool, error) {
	if m.mailLimit == nil {
		return false, nil
	}
	wait, err := m.mailLimit.Take(ctx, throttle.Mail(kind, address))
	if err != nil {
		return false, err
	}
	if wait > 0 {
		httpx.Logger(ctx).Info("mail not sent: the address is cooling down after a recent mail", "retry_after", wait.String())
	}
	return wait > 0, nil
}

// New wires the method. secrets key the stored token hashes.
func New(st Store, identities *identity.Service, mailer Mailer, secrets []string, cfg Config) *Method {
	if cfg.Lifespan <= 0 {
		cfg.Lifespan = time.Hour
	}
	return &Method{store: st, identities: identities, mailer: mailer, hasher: secret.NewTokenHasher("link-token", secrets), cfg: cfg}
}

// now is the method's clock at storage precision.
func (m *Method) now() time.Time {
	if m.cfg.Clock != nil {
		return m.cfg.Clock().UTC().Truncate(time.Microsecond)
	}
	return identity.Now()
}

// ID is "link".
func (m *Method) ID() string { return "link" }

// LinkLifespan is selfservice.methods.link.config.lifespan.
func (m *Method) LinkLifespan() time.Duration { return m.cfg.Lifespan }

// ConsumesLinkTokens: submissions carrying ?token= are this method's links.
func (m *Method) ConsumesLinkTokens() bool { return true }

func emailNode(value any, withLabel bool) ui.Node {
	opts := []ui.InputOption{ui.Required()}
	if withLabel {
		opts = append(opts, ui.WithLabel(ui.InfoNodeLabelEmail()))
	}
	return ui.NewInput("email", value, ui.GroupLink, ui.InputEmail, opts...)
}

func (m *Method) populate(f *flow.Flow) {
	f.UI.Upsert(emailNode(nil, true))
	f.UI.Upsert(ui.NewInput("method", "link", ui.GroupLink, ui.InputSubmit, ui.WithLabel(ui.InfoNodeLabelSubmit())))
}

// PopulateRecovery renders the email input.
func (m *Method) PopulateRecovery(r *http.Request, f *flow.Flow) error { m.populate(f); return nil }

// PopulateVerification renders the email input.
func (m *Method) PopulateVerification(r *http.Request, f *flow.Flow) error {
	m.populate(f)
	return nil
}

// link builds <base>/self-service/<kind>?flow=<id>&token=<token>.
func (m *Method) link(kind string, flowID uuid.UUID, token string) string {
	u := *m.cfg.BaseURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/self-service/" + kind
	u.RawQuery = url.Values{"flow": {flowID.String()}, "token": {token}}.Encode()
	return u.String()
}

// newToken stores a fresh token and returns its plain value.
func (m *Method) newToken(ctx context.Context, kind string, f *flow.Flow, identityID, addressID uuid.UUID, expires time.Time) (string, error) {
	plain := secret.RandomToken(32)
	now := m.now()
	t := &Token{
		ID: uuid.New(), Kind: kind, Hash: m.hasher.Hash(plain), IssuedAt: now, ExpiresAt: expires,
		IdentityID: uuid.NullUUID{UUID: identityID, Valid: identityID != uuid.Nil},
		AddressID:  uuid.NullUUID{UUID: addressID, Valid: addressID != uuid.Nil},
		FlowID:     uuid.NullUUID{UUID: f.ID, Valid: true},
	}
	return plain, m.store.CreateToken(ctx, t)
}

// useToken consumes a token (trying every secret's hash, so rotation does
// not break links in flight).
func (m *Method) useToken(ctx context.Context, kind, plain string) (*Token, error) {
	if plain == "" || len(plain) > 256 {
		return nil, ErrTokenInvalid
	}
	for _, h := range m.hasher.Candidates(plain) {
		t, err := m.store.UseToken(ctx, kind, h, m.now())
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		return t, err
	}
	return nil, ErrTokenInvalid
}

// expired reports a token used after its expiry: the flow answers as for an
// expired flow (a new flow with the "expired" message), not as for an
// unknown link.
func (m *Method) expired(t *Token) error {
	if m.now().Before(t.ExpiresAt) {
		return nil
	}
	return &flow.ExpiredError{ExpiredAt: t.ExpiresAt}
}

// submittedEmail reads and checks the email field.
func submittedEmail(b *flow.Body) (string, error) {
	raw := strings.TrimSpace(b.String("email"))
	if raw == "" {
		return "", flow.NewFormError("email", ui.ErrMissingProperty("email"))
	}
	if a, err := mail.ParseAddress(raw); err != nil || a.Address != raw {
		return "", flow.NewFormError("email", ui.ErrValidation(`"`+raw+`" is not valid "email"`))
	}
	return strings.ToLower(raw), nil
}

// sentEmail moves the flow to sent_email: the email input keeps the value
// (without its label, as Kratos renders it) and msg is shown.
func sentEmail(f *flow.Flow, email string, msg ui.Text) {
	f.State = flow.StateSentEmail
	f.UI.ResetMessages()
	f.UI.Upsert(emailNode(email, false))
	f.UI.AddMessage(msg)
}

func identityData(i *identity.Identity) map[string]any {
	raw, _ := json.Marshal(i.Public())
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// Recover sends a recovery link (POST with email) or consumes one (GET with
// token). Unknown addresses get an email saying someone tried, and the flow
// reports the same sent_email either way, so nobody can probe which
// addresses have accounts.
func (m *Method) Recover(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body) (*flow.Result, error) {
	if token := b.String("token"); token != "" {
		i, err := m.recoverWithToken(ctx, f, token)
		if err != nil {
			return nil, err
		}
		// The session a recovery link opens records it as link_recovery, a
		// first factor, as Kratos does.
		return &flow.Result{Identity: i, AuthMethod: "link_recovery", AAL: identity.AAL1}, nil
	}
	email, err := submittedEmail(b)
	if err != nil {
		return nil, err
	}
	if cool, err := m.cooledDown(ctx, KindRecovery, email); err != nil || cool {
		if err != nil {
			return nil, err
		}
		sentEmail(f, email, ui.InfoRecoveryEmailSent())
		return nil, nil
	}
	addr, err := m.store.FindRecoveryAddress(ctx, "email", email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := m.mailer.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: email}); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		i, err := m.identities.Get(ctx, addr.IdentityID, false)
		if err != nil {
			return nil, err
		}
		token, err := m.newToken(ctx, KindRecovery, f, i.ID, addr.ID, m.now().Add(m.cfg.Lifespan))
		if err != nil {
			return nil, err
		}
		data := courier.EmailData{To: addr.Value, RecoveryURL: m.link(KindRecovery, f.ID, token), Identity: identityData(i)}
		if _, err := m.mailer.QueueEmail(ctx, courier.RecoveryValid, data); err != nil {
			return nil, err
		}
	}
	sentEmail(f, email, ui.InfoRecoveryEmailSent())
	return nil, nil
}

func (m *Method) recoverWithToken(ctx context.Context, f *flow.Flow, plain string) (*identity.Identity, error) {
	t, err := m.useToken(ctx, KindRecovery, plain)
	if errors.Is(err, ErrTokenInvalid) || (err == nil && (!t.IdentityID.Valid || (t.FlowID.Valid && t.FlowID.UUID != f.ID))) {
		return nil, &flow.RetryError{Text: ui.ErrRecoveryTokenInvalid()}
	}
	if err != nil {
		return nil, err
	}
	if err := m.expired(t); err != nil {
		return nil, err
	}
	i, err := m.identities.Get(ctx, t.IdentityID.UUID, false)
	if identity.IsNotFound(err) {
		return nil, &flow.RetryError{Text: ui.ErrRecoveryTokenInvalid()}
	}
	if err != nil {
		return nil, err
	}
	// Opening the link proves control of the recovery address: the matching
	// verifiable address counts as verified.
	if t.AddressID.Valid {
		var value string
		for _, a := range i.RecoveryAddresses {
			if a.ID == t.AddressID.UUID {
				value = a.Value
			}
		}
		for k := range i.VerifiableAddresses {
			a := &i.VerifiableAddresses[k]
			if a.Value == value && !a.Verified {
				if err := m.markVerified(ctx, a); err != nil {
					return nil, err
				}
			}
		}
	}
	if m.audit != nil {
		m.audit.Record(ctx, audit.For(audit.RecoveryUsed, i.ID, map[string]any{"method": "link", "admin_link": !t.AddressID.Valid}))
	}
	return i, nil
}

// RevokeRecoveryLinks makes every unused recovery link of the identity
// (mailed or made by the admin API) stop working: opening one answers as a
// used link does.
func (m *Method) RevokeRecoveryLinks(ctx context.Context, identityID uuid.UUID) error {
	n, err := m.store.RevokeTokens(ctx, KindRecovery, identityID, m.now())
	if err != nil {
		return err
	}
	if n > 0 && m.audit != nil {
		m.audit.Record(ctx, audit.For(audit.RecoveryLinksRevoked, identityID, map[string]any{"method": "link", "count": n}))
	}
	return nil
}

func (m *Method) markVerified(ctx context.Context, a *identity.VerifiableAddress) error {
	now := m.now()
	a.Verified, a.Status, a.VerifiedAt, a.UpdatedAt = true, identity.AddressStatusCompleted, &now, now
	return m.store.UpdateVerifiableAddress(ctx, a)
}

// CreateRecoveryLink makes an admin recovery link for i on flow f (expiring
// with the flow).
func (m *Method) CreateRecoveryLink(ctx context.Context, f *flow.Flow, i *identity.Identity) (string, error) {
	token, err := m.newToken(ctx, KindRecovery, f, i.ID, uuid.Nil, f.ExpiresAt)
	if err != nil {
		return "", err
	}
	return m.link(KindRecovery, f.ID, token), nil
}

// Verify sends a verification link (POST with email) or consumes one (GET
// with token).
func (m *Method) Verify(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, verified flow.VerifiedFunc) error {
	if token := b.String("token"); token != "" {
		return m.verifyWithToken(ctx, f, token, verified)
	}
	email, err := submittedEmail(b)
	if err != nil {
		return err
	}
	if cool, err := m.cooledDown(ctx, KindVerification, email); err != nil || cool {
		if err != nil {
			return err
		}
		sentEmail(f, email, ui.InfoVerificationEmailSent())
		return nil
	}
	addr, err := m.store.FindVerifiableAddress(ctx, "email", email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := m.mailer.QueueEmail(ctx, courier.VerificationInvalid, courier.EmailData{To: email}); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		i, err := m.identities.Get(ctx, addr.IdentityID, false)
		if err != nil {
			return err
		}
		if err := m.sendVerification(ctx, f, i, addr); err != nil {
			return err
		}
	}
	sentEmail(f, email, ui.InfoVerificationEmailSent())
	return nil
}

// SendVerification sends the verification link for one address (the
// verification hook after registration and settings).
func (m *Method) SendVerification(ctx context.Context, r *http.Request, f *flow.Flow, i *identity.Identity, a *identity.VerifiableAddress) error {
	return m.sendVerification(ctx, f, i, a)
}

func (m *Method) sendVerification(ctx context.Context, f *flow.Flow, i *identity.Identity, a *identity.VerifiableAddress) error {
	token, err := m.newToken(ctx, KindVerification, f, i.ID, a.ID, m.now().Add(m.cfg.Lifespan))
	if err != nil {
		return err
	}
	data := courier.EmailData{To: a.Value, VerificationURL: m.link(KindVerification, f.ID, token), Identity: identityData(i)}
	if _, err := m.mailer.QueueEmail(ctx, courier.VerificationValid, data); err != nil {
		return err
	}
	if a.Status == identity.AddressStatusPending {
		a.Status, a.UpdatedAt = identity.AddressStatusSent, m.now()
		return m.store.UpdateVerifiableAddress(ctx, a)
	}
	return nil
}

func (m *Method) verifyWithToken(ctx context.Context, f *flow.Flow, plain string, verified flow.VerifiedFunc) error {
	t, err := m.useToken(ctx, KindVerification, plain)
	if errors.Is(err, ErrTokenInvalid) || (err == nil && (!t.AddressID.Valid || !t.IdentityID.Valid)) {
		return &flow.RetryError{Text: ui.ErrVerificationTokenInvalid()}
	}
	if err != nil {
		return err
	}
	if err := m.expired(t); err != nil {
		return err
	}
	i, err := m.identities.Get(ctx, t.IdentityID.UUID, false)
	if identity.IsNotFound(err) {
		return &flow.RetryError{Text: ui.ErrVerificationTokenInvalid()}
	}
	if err != nil {
		return err
	}
	var addr *identity.VerifiableAddress
	for k := range i.VerifiableAddresses {
		if i.VerifiableAddresses[k].ID == t.AddressID.UUID {
			addr = &i.VerifiableAddresses[k]
		}
	}
	if addr == nil {
		// The address changed since the link was sent.
		return &flow.RetryError{Text: ui.ErrVerificationTokenInvalid()}
	}
	f.State = flow.StatePassedChallenge
	f.UI.ResetMessages()
	f.UI.AddMessage(ui.InfoVerificationSuccessful())
	// The after-verification hooks see the identity before its address is
	// marked verified; a failing hook leaves the address as it was.
	if verified != nil {
		if err := verified(ctx, i); err != nil {
			return err
		}
	}
	return m.markVerified(ctx, addr)
}
