package flow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Method is a self-service method plug-in. A method implements the
// interfaces of the flow kinds it takes part in; the engine asks it to add
// its nodes to new flows and hands it the submissions addressed to it.
type Method interface {
	// ID is the method's name ("password", "profile", "link", …), the value
	// of the "method" field that addresses it, and the node group it owns.
	ID() string
}

// LoginMethod authenticates identities.
type LoginMethod interface {
	Method
	// PopulateLogin adds the method's nodes to a new login flow. sess is the
	// current session for refresh and second-factor flows, else nil.
	PopulateLogin(r *http.Request, f *Flow, sess *session.Session) error
	// Login checks a submission and returns the authenticated identity.
	Login(ctx context.Context, r *http.Request, f *Flow, b *Body, sess *session.Session) (*identity.Identity, error)
}

// RegistrationMethod signs new identities up.
type RegistrationMethod interface {
	Method
	PopulateRegistration(r *http.Request, f *Flow) error
	// Register turns a submission into a new identity (with credentials)
	// that the engine then stores.
	Register(ctx context.Context, r *http.Request, f *Flow, b *Body) (*identity.Identity, error)
}

// SettingsMethod changes an identity.
type SettingsMethod interface {
	Method
	PopulateSettings(r *http.Request, f *Flow, i *identity.Identity) error
	// Settings applies a submission to req.Identity (loaded with
	// credentials), which the engine then stores. It returns
	// ErrPrivilegeRequired when the change is sensitive and
	// req.Privileged is false.
	Settings(ctx context.Context, r *http.Request, f *Flow, b *Body, req *SettingsRequest) error
}

// SettingsRequest is what a settings method works on.
type SettingsRequest struct {
	Session  *session.Session
	Identity *identity.Identity
	// Privileged is true while the session's last authentication is within
	// selfservice.flows.settings.privileged_session_max_age.
	Privileged bool
}

// RecoveryMethod recovers accounts.
type RecoveryMethod interface {
	Method
	PopulateRecovery(r *http.Request, f *Flow) error
	// Recover handles a submission (or a link's token). When the account is
	// recovered it returns the identity; otherwise it updates the flow (for
	// example to sent_email) and returns nil.
	Recover(ctx context.Context, r *http.Request, f *Flow, b *Body) (*identity.Identity, error)
}

// VerificationMethod verifies addresses.
type VerificationMethod interface {
	Method
	PopulateVerification(r *http.Request, f *Flow) error
	// Verify handles a submission (or a link's token), updating the flow.
	// When a link proved control of an address of identity i, it calls
	// verified(i) before it marks the address verified; an error from
	// verified stops the verification and is returned.
	Verify(ctx context.Context, r *http.Request, f *Flow, b *Body, verified VerifiedFunc) error
	// SendVerification sends the verification message for one address of
	// i, on the verification flow f made for it (after registration and
	// after settings changes).
	SendVerification(ctx context.Context, r *http.Request, f *Flow, i *identity.Identity, a *identity.VerifiableAddress) error
}

// VerifiedFunc runs the after-verification hooks for the identity whose
// address a verification link proved.
type VerifiedFunc func(ctx context.Context, i *identity.Identity) error

// RecoveryLinkMethod creates recovery links for the admin API.
type RecoveryLinkMethod interface {
	RecoveryMethod
	// CreateRecoveryLink returns a link that recovers i on flow f.
	CreateRecoveryLink(ctx context.Context, f *Flow, i *identity.Identity) (string, error)
}

// RetryError makes the engine answer with a new flow of the same kind
// carrying Text (an invalid or used link, for example).
type RetryError struct {
	Text ui.Text
}

func (e *RetryError) Error() string { return "retry the flow: " + e.Text.Text }

// ExpiredError makes the engine answer as it does for an expired flow: a
// new flow of the same kind carrying the "expired" message for ExpiredAt
// (a link whose token expired before its flow, for example).
type ExpiredError struct {
	ExpiredAt time.Time
}

func (e *ExpiredError) Error() string {
	return "expired at " + e.ExpiredAt.UTC().Format(time.RFC3339)
}

// ErrNotResponsible is returned by methods that do not handle a submission
// (the engine tries the next method).
var ErrNotResponsible = errors.New("method is not responsible for this submission")

// ErrPrivilegeRequired asks for a fresh login before a sensitive change.
var ErrPrivilegeRequired = errors.New("the session is too old for this change")

// FormError is a validation problem shown on the flow's form: messages on
// named nodes, or on the whole form when Field is empty. It answers 400 with
// the flow (or a redirect back to the form).
type FormError struct {
	Items []FormErrorItem
	// RetryAfter, when set, is sent as the Retry-After header (a throttled
	// attempt).
	RetryAfter time.Duration
}

// FormErrorItem is one message, optionally attached to a field.
type FormErrorItem struct {
	Field string
	Text  ui.Text
}

func (e *FormError) Error() string {
	var parts []string
	for _, it := range e.Items {
		if it.Field != "" {
			parts = append(parts, it.Field+": "+it.Text.Text)
		} else {
			parts = append(parts, it.Text.Text)
		}
	}
	return "form error: " + strings.Join(parts, "; ")
}

// NewFormError builds a FormError with one message.
func NewFormError(field string, t ui.Text) *FormError {
	return &FormError{Items: []FormErrorItem{{Field: field, Text: t}}}
}

// dispatch hands a submission to the method it names. It returns the id of
// the method that took it ("" when none did) and that method's error; a
// method answering ErrNotResponsible passes it on to the next.
func dispatch[M Method](methods []M, name string, call func(M) error) (string, error) {
	for _, m := range methods {
		if m.ID() != name {
			continue
		}
		err := call(m)
		if errors.Is(err, ErrNotResponsible) {
			continue
		}
		return m.ID(), err
	}
	return "", nil
}
