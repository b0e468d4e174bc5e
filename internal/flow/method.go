package flow

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Method is a self-service method plug-in. A method implements the
// interfaces of the flow kinds it takes part in (LoginMethod,
// RegistrationMethod, …) and, optionally, the capability interfaces below
// (SecretInputs, LinkConsumer, CallbackMethod). internal/app hands every
// enabled method to the engine in one list; the engine sorts them by the
// interfaces they implement and never names one.
type Method interface {
	// ID is the method's name: the value of the "method" field that
	// addresses it, and the node group it owns.
	ID() string
}

// Result is what a method made of a submission. It is one of:
//
//   - done: Identity is set (and, for logins, AAL says what the method
//     proved);
//   - continue: Continue is set; the method changed the flow (new nodes or
//     messages) and needs another submission;
//   - redirect: RedirectTo is set; the browser must go there to go on (a
//     social sign-in provider). JSON clients get 422
//     browser_location_change_required with redirect_browser_to.
//
// A failed submission is an error, not a Result: a *FormError (shown on the
// flow), ErrPrivilegeRequired, or any other error (an error document).
type Result struct {
	// Identity is the identity the submission signed in (login), created
	// (registration, not stored yet), changed (settings) or recovered.
	Identity *identity.Identity
	// AuthMethod is the name recorded in the session's
	// authentication_methods; empty means the method's ID.
	AuthMethod string
	// AAL is the assurance level the method proved: aal1 for a first
	// factor, aal2 for a second. Empty means aal1. In settings, a non-empty
	// AAL records the method on the current session (setting up a second
	// factor upgrades the session that set it up, as in Kratos).
	AAL string
	// Continue asks the engine to store the flow and answer with it.
	Continue bool
	// RedirectTo sends the browser elsewhere to go on.
	RedirectTo string
	// Register marks a login whose Identity is new (a social sign-in of an
	// unknown subject): the engine creates it and finishes the flow as a
	// registration, as Kratos does.
	Register bool
	// SignIn marks a registration whose Identity exists already (a social
	// sign-in of a known subject): the engine signs it in, as Kratos does.
	SignIn bool
	// Incomplete, on a Register result, means the new identity needs more
	// input before it can be created (a social sign-in whose mapped traits
	// fail the identity schema). The engine continues on a new registration
	// flow: Incomplete builds that flow's form and returns the problem (a
	// form or schema validation error), which the engine shows there as on
	// any failed registration. A registration flow's own method can do the
	// same by building its form and returning the error.
	Incomplete func(f *Flow) error
	// Cookies are set on the answer, whatever it is (a social sign-in keeps
	// its state in a cookie while the browser is at the provider).
	Cookies []*http.Cookie
	// SecretChanged, on a settings result, says the method replaced a
	// secret the identity signs in with (a new password). Once the change
	// is stored, the engine applies security.credential_changes: other
	// sessions end, the owner is mailed, open recovery links are revoked.
	SecretChanged bool
}

// Done is the result of a completed step that proved aal for i.
func Done(i *identity.Identity, aal string) *Result { return &Result{Identity: i, AAL: aal} }

// Continue is the result of a step after which the flow needs another one.
func Continue() *Result { return &Result{Continue: true} }

// Redirect is the result of a step that continues at url in the browser.
func Redirect(url string) *Result { return &Result{RedirectTo: url} }

// authMethod is the session's record of the step r completed for method m.
func (r *Result) authMethod(m Method) session.AuthenticationMethod {
	name := r.AuthMethod
	if name == "" {
		name = m.ID()
	}
	aal := r.AAL
	if aal == "" {
		aal = identity.AAL1
	}
	return session.AuthenticationMethod{Method: name, AAL: aal}
}

// LoginMethod authenticates identities.
type LoginMethod interface {
	Method
	// PopulateLogin adds the method's nodes to a new login flow. sess is the
	// current session for refresh and second-factor (f.RequestedAAL aal2)
	// flows, else nil. A method that cannot serve the flow (a first factor
	// on an aal2 flow, a browser-only method on an API flow) adds nothing.
	PopulateLogin(r *http.Request, f *Flow, sess *session.Session) error
	// Login checks a submission. sess is as for PopulateLogin.
	Login(ctx context.Context, r *http.Request, f *Flow, b *Body, sess *session.Session) (*Result, error)
}

// RegistrationMethod signs new identities up.
type RegistrationMethod interface {
	Method
	PopulateRegistration(r *http.Request, f *Flow) error
	// Register turns a submission into a new identity (with credentials),
	// returned in the Result and stored by the engine.
	Register(ctx context.Context, r *http.Request, f *Flow, b *Body) (*Result, error)
}

// SettingsMethod changes an identity.
type SettingsMethod interface {
	Method
	PopulateSettings(r *http.Request, f *Flow, i *identity.Identity) error
	// Settings applies a submission to req.Identity (loaded with
	// credentials), which the engine then stores; a nil Result means just
	// that. A Continue result stores only the flow (a multi-step setup). It
	// returns ErrPrivilegeRequired when the change is sensitive and
	// req.Privileged is false.
	Settings(ctx context.Context, r *http.Request, f *Flow, b *Body, req *SettingsRequest) (*Result, error)
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
	// recovered it returns a done Result (whose AuthMethod names the step
	// recorded on the new session); otherwise it updates the flow (for
	// example to sent_email) and returns nil.
	Recover(ctx context.Context, r *http.Request, f *Flow, b *Body) (*Result, error)
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
	// LinkLifespan is how long its links stay valid unless asked otherwise.
	LinkLifespan() time.Duration
}

// RecoveryLinkRevoker is a recovery method whose mailed links can be
// revoked: after a new sign-in secret or a completed recovery, when
// security.credential_changes.invalidate_recovery_links is on, the engine
// asks it to make every unused link of the identity stop working.
type RecoveryLinkRevoker interface {
	RecoveryMethod
	RevokeRecoveryLinks(ctx context.Context, identityID uuid.UUID) error
}

// LinkConsumer is a recovery or verification method that takes the token
// of a link it mailed. A submission that carries ?token= goes to it, whatever
// its "method" field says, and is checked by the token instead of the
// anti-CSRF cookie.
type LinkConsumer interface {
	Method
	ConsumesLinkTokens() bool
}

// SecretInputs is a method whose inputs must never be echoed back on a
// form shown again after a failed submission (passwords, one-time codes).
type SecretInputs interface {
	Method
	SecretInputs() []string
}

// CallbackMethod is a method that continues a flow on a route of its own,
// where the browser comes back from elsewhere (a social sign-in provider's
// redirect). The engine registers its routes, loads and checks the flow the
// callback names, hands it to Callback, and finishes the flow with the
// Result like a submission of that flow's kind.
type CallbackMethod interface {
	Method
	// CallbackRoutes are the route patterns (Go ServeMux syntax, with the
	// HTTP method: "GET /self-service/methods/oidc/callback/{provider}").
	CallbackRoutes() []string
	// CallbackFlow names the flow a callback request continues.
	CallbackFlow(r *http.Request) (uuid.UUID, error)
	// Callback handles the request for flow f (login, registration or
	// settings). For settings, req is the signed-in owner's request, as for
	// Settings; it is nil for other kinds.
	Callback(ctx context.Context, w http.ResponseWriter, r *http.Request, f *Flow, req *SettingsRequest) (*Result, error)
}

// CallbackRedirect, returned by CallbackFlow, sends the browser to URL
// (302) before the callback is handled: a provider's callback made with a
// cross-site POST (response_mode=form_post) carries no SameSite=Lax cookies,
// so it is moved to a GET of the same route first, as Kratos does.
type CallbackRedirect struct {
	URL string
}

func (e *CallbackRedirect) Error() string { return "continue the callback at " + e.URL }

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

// SubmissionClaimer is a method that recognises its submissions by their
// fields when the body names no method: a social sign-in button sends
// provider=<id>, a lookup-code button lookup_secret_regenerate=true, the
// security-key script only webauthn_login or webauthn_register, as Kratos'
// forms do.
type SubmissionClaimer interface {
	Method
	ClaimsSubmission(b *Body) bool
}

// dispatch hands a submission to the method name names (the body's
// "method" field, or the link consumer for a link) or, when none takes it, to the first method that claims it by its fields. It
// returns the method that took it (nil when none did) and that method's
// error; a method answering ErrNotResponsible passes it on to the next.
func dispatch[M Method](methods []M, name string, b *Body, call func(M) error) (Method, error) {
	for _, m := range methods {
		if m.ID() != name {
			continue
		}
		err := call(m)
		if errors.Is(err, ErrNotResponsible) {
			continue
		}
		return m, err
	}
	for _, m := range methods {
		c, ok := any(m).(SubmissionClaimer)
		if !ok || m.ID() == name || !c.ClaimsSubmission(b) {
			continue
		}
		err := call(m)
		if errors.Is(err, ErrNotResponsible) {
			continue
		}
		return m, err
	}
	return nil, nil
}

// methodsOf returns the methods that implement M, in order.
func methodsOf[M any](all []Method) []M {
	var out []M
	for _, m := range all {
		if x, ok := m.(M); ok {
			out = append(out, x)
		}
	}
	return out
}
