package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Hooks runs the configured web hooks around flows (package hook). A nil
// Hooks runs none.
type Hooks interface {
	// Before runs the "before" hooks of a flow kind when a flow is created.
	Before(ctx context.Context, r *http.Request, f *Flow) error
	// After runs the web hooks configured after a flow kind and method
	// completed for identity i.
	After(ctx context.Context, r *http.Request, f *Flow, method string, i *identity.Identity, hooks []config.Hook) error
}

// CredentialChange says what happened to an identity's sign-in that its
// owner is told about (security.credential_changes.notify).
type CredentialChange string

const (
	// SecretReplaced: a settings method replaced a secret the identity
	// signs in with (Result.SecretChanged).
	SecretReplaced CredentialChange = "secret_replaced"
	// AccountRecovered: a recovery completed and signed the identity in.
	AccountRecovered CredentialChange = "account_recovered"
)

// Notifier tells an identity's owner about a changed sign-in (package
// hook's Notifier mails them through the courier).
type Notifier interface {
	// NotifyCredentialChange reports change to i's owner.
	NotifyCredentialChange(ctx context.Context, i *identity.Identity, change CredentialChange) error
}

// Deps are the engine's dependencies.
type Deps struct {
	Config     Config
	Store      Store
	Sessions   *session.Manager
	Identities *identity.Service
	CSRF       *csrf.Manager
	Logger     *slog.Logger
	Hooks      Hooks
	// Notifier mails owners about changed sign-ins when
	// security.credential_changes.notify is on; nil sends nothing.
	Notifier Notifier

	// Methods are the enabled methods, in the order their nodes appear.
	Methods []Method
	// Clock tells the time for expiry and privilege checks; nil means
	// time.Now. Tests set it instead of sleeping.
	Clock func() time.Time
}

// Engine serves every self-service flow.
type Engine struct {
	Deps
	publicURL *url.URL
	returnTo  *ReturnTo
	now       func() time.Time

	// The methods sorted by the flow kinds they take part in.
	LoginMethods        []LoginMethod
	RegistrationMethods []RegistrationMethod
	SettingsMethods     []SettingsMethod
	RecoveryMethods     []RecoveryMethod
	VerificationMethods []VerificationMethod
	callbackMethods     []CallbackMethod
	linkRevokers        []RecoveryLinkRevoker
	secretInputs        []string
}

// NewEngine wires the engine.
func NewEngine(d Deps) *Engine {
	public := d.Config.PublicURL
	def, err := url.Parse(d.Config.DefaultReturnURL)
	if err != nil || def.Host == "" {
		def = public
	}
	now := d.Clock
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		Deps:      d,
		publicURL: public,
		returnTo:  NewReturnTo(d.Config.AllowedReturnURLs, def, public),
		now:       now,

		LoginMethods:        methodsOf[LoginMethod](d.Methods),
		RegistrationMethods: methodsOf[RegistrationMethod](d.Methods),
		SettingsMethods:     methodsOf[SettingsMethod](d.Methods),
		RecoveryMethods:     methodsOf[RecoveryMethod](d.Methods),
		VerificationMethods: methodsOf[VerificationMethod](d.Methods),
		callbackMethods:     methodsOf[CallbackMethod](d.Methods),
		linkRevokers:        methodsOf[RecoveryLinkRevoker](d.Methods),
	}
	for _, m := range methodsOf[SecretInputs](d.Methods) {
		e.secretInputs = append(e.secretInputs, m.SecretInputs()...)
	}
	return e
}

// ReturnToChecker exposes the return_to validator (logout uses it too).
func (e *Engine) ReturnToChecker() *ReturnTo { return e.returnTo }

// PublicURL builds an absolute URL on the public port.
func (e *Engine) PublicURL(path string, query url.Values) string {
	u := *e.publicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	return u.String()
}

func (e *Engine) uiURL(k Kind) string { return e.Config.Kinds[k].UIURL }

func (e *Engine) lifespan(k Kind) time.Duration {
	if d := e.Config.Kinds[k].Lifespan; d > 0 {
		return d
	}
	return time.Hour
}

// UIRedirectURL is ui_url with flow=<id> added to its query (fragments and
// relative ui_urls are kept).
func (e *Engine) UIRedirectURL(k Kind, id uuid.UUID) string {
	return addQuery(e.uiURL(k), "flow", id.String())
}

func addQuery(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		sep := "?"
		if strings.Contains(raw, "?") {
			sep = "&"
		}
		return raw + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// requestURL reconstructs the URL a flow was created from: path and query of
// the request, host from the Host header, https only for TLS connections.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// newFlow creates (but does not store) a flow of kind k and type t, with its
// form's action and anti-CSRF token.
func (e *Engine) newFlow(w http.ResponseWriter, r *http.Request, k Kind, t Type) *Flow {
	now := e.stamp()
	f := &Flow{
		ID: uuid.New(), Kind: k, Type: t, IssuedAt: now, ExpiresAt: now.Add(e.lifespan(k)),
		RequestURL: requestURL(r), CreatedAt: now, UpdatedAt: now, RequestedAAL: identity.AAL1,
	}
	switch k {
	case Settings:
		f.State = StateShowForm
	case Recovery, Verification:
		f.State = StateChooseMethod
	}
	f.UI = ui.NewContainer(e.PublicURL("/self-service/"+string(k), url.Values{"flow": {f.ID.String()}}))
	e.setCSRF(w, r, f)
	return f
}

// setCSRF binds a browser flow to the browser's anti-CSRF cookie and
// renders a fresh masked token; API flows carry an empty token.
func (e *Engine) setCSRF(w http.ResponseWriter, r *http.Request, f *Flow) {
	if f.Type != TypeBrowser {
		f.UI.SetCSRF("")
		return
	}
	token := e.CSRF.EnsureToken(w, r)
	if f.CSRFTokenHash == "" {
		f.CSRFTokenHash = csrf.Hash(token)
	}
	f.UI.SetCSRF(csrf.Mask(token))
}

// isHTML reports whether the answer to a browser flow should be a redirect
// rather than JSON.
func isHTML(r *http.Request, f *Flow) bool {
	return f.Type == TypeBrowser && !httpx.IsJSONRequest(r)
}

// newFlowAnswer answers a flow init: browsers go to the UI, everything
// else gets the flow as JSON.
func (e *Engine) newFlowAnswer(r *http.Request, f *Flow) answer {
	if f.Type == TypeBrowser && !httpx.WantsJSON(r) {
		return redirectAnswer(e.UIRedirectURL(f.Kind, f.ID), http.StatusSeeOther)
	}
	return flowAnswer(f, http.StatusOK)
}

// signedInAnswer answers an init request from someone signed in already:
// browsers go on to the validated return_to (or the default return URL)
// with code; API and JSON clients get err.
func (e *Engine) signedInAnswer(r *http.Request, t Type, err *httpx.Error, code int) answer {
	if t == TypeBrowser && !httpx.WantsJSON(r) {
		to, rerr := e.returnTo.Target(&Flow{RequestURL: requestURL(r)}, e.Config.DefaultReturnURL)
		if rerr != nil {
			return initFailure(r, t, rerr)
		}
		return redirectAnswer(to, code)
	}
	return initFailure(r, t, err)
}

// storeNewFlow runs the "before" hooks of a new login or registration flow,
// stores it and answers the init request.
func (e *Engine) storeNewFlow(r *http.Request, f *Flow) answer {
	if e.Hooks != nil {
		if err := e.Hooks.Before(r.Context(), r, f); err != nil {
			return initFailure(r, f.Type, err)
		}
	}
	if err := e.Store.CreateFlow(r.Context(), f); err != nil {
		return initFailure(r, f.Type, err)
	}
	return e.newFlowAnswer(r, f)
}

// initFailure answers a failed flow init.
func initFailure(r *http.Request, t Type, err error) answer {
	// A failed "before" web hook says which hook failed and how.
	var pr interface{ PublicReason() string }
	var he *httpx.Error
	if !errors.As(err, &he) && errors.As(err, &pr) {
		err = httpx.Internal(err).WithReason(pr.PublicReason())
	}
	return errorAnswer(t == TypeAPI || httpx.WantsJSON(r), err)
}

// parseFlowID reads ?flow= (submit) or ?id= (fetch).
func parseFlowID(r *http.Request, param string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.URL.Query().Get(param))
	if err != nil {
		return uuid.Nil, httpx.BadRequest("The flow query parameter is missing or malformed.")
	}
	return id, nil
}

// errFlowNotFound is the 404 of unknown flows.
func errFlowNotFound() *httpx.Error {
	return httpx.NotFound("The flow does not exist or belongs to another flow kind.").WithMessage("Unable to locate the resource")
}

// loadFlow fetches a flow of kind k.
func (e *Engine) loadFlow(ctx context.Context, id uuid.UUID, k Kind) (*Flow, error) {
	f, err := e.Store.GetFlow(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && f.Kind != k) {
		return nil, errFlowNotFound()
	}
	return f, err
}

// Fetch serves GET /self-service/<kind>/flows?id=.
func (e *Engine) Fetch(k Kind) http.HandlerFunc {
	return e.handle(func(w http.ResponseWriter, r *http.Request) answer {
		id, err := uuid.Parse(r.URL.Query().Get("id"))
		if err != nil {
			return envelopeAnswer(errFlowNotFound().WithReason("The id query parameter is missing or is not a valid flow id."))
		}
		f, err := e.View(r, k, id)
		var ns *settingsNoSessionError
		if errors.As(err, &ns) && ns.browser && !httpx.WantsJSON(r) {
			return redirectAnswer(e.Config.Kinds[Login].UIURL, http.StatusFound)
		}
		if err != nil {
			return envelopeAnswer(err)
		}
		return flowAnswer(f, http.StatusOK)
	})
}

func csrfViolationOnFetch(r *http.Request) error {
	return csrf.Violation(r, "The anti-CSRF cookie is missing or belongs to another flow; send the browser's cookies along when fetching a browser flow.")
}

func (e *Engine) errFetchExpired(f *Flow) *httpx.Error {
	err := httpx.Gone(fmt.Sprintf("The %s flow has expired. Redirect the user to %s to start a new one.", f.Kind, e.PublicURL("/self-service/"+string(f.Kind)+"/"+string(f.Type), nil)))
	if f.Type == TypeBrowser {
		err = err.WithDetail("redirect_to", e.PublicURL("/self-service/"+string(f.Kind)+"/browser", nil))
	} else {
		err = err.WithDetail("api", e.PublicURL("/self-service/"+string(f.Kind)+"/api", nil))
	}
	if kindAnswers[f.Kind].expiredErrorID {
		err = err.WithID("self_service_flow_expired")
	}
	return err
}

// loadForSubmit loads the flow a submission of kind k addresses, expired
// or not. Without a flow the answer depends on the request alone
// (requestError).
func (e *Engine) loadForSubmit(r *http.Request, k Kind) (*Flow, error) {
	id, err := parseFlowID(r, "flow")
	if err != nil {
		return nil, err
	}
	return e.loadFlow(r.Context(), id, k)
}

// readSubmission decodes a submission to f and applies the request checks
// (anti-CSRF for browser flows, no browser traits for API flows). The body
// is returned with a failed check, to fill the form again.
func (e *Engine) readSubmission(r *http.Request, f *Flow) (*Body, error) {
	b, err := e.decode(r)
	if err != nil {
		return nil, err
	}
	return b, e.checkSubmitOrigin(r, f, b)
}

// replaceExpired answers a submission to an expired flow with a new flow of
// the same kind carrying an "expired" message.
func (e *Engine) replaceExpired(w http.ResponseWriter, r *http.Request, old *Flow) answer {
	inBrowser := kindAnswers[old.Kind].expiredContinuesInBrowser
	t := old.Type
	if inBrowser {
		t = TypeBrowser
	}
	f := e.newFlow(w, r, old.Kind, t)
	f.RequestURL = old.RequestURL
	f.Refresh, f.RequestedAAL = old.Refresh, old.RequestedAAL
	f.IdentityID = old.IdentityID
	// A refresh or second-factor login is shown for the session it was
	// made for, as when it was created.
	var sess *session.Session
	if old.Kind == Login && (old.Refresh || old.RequestedAAL == identity.AAL2) {
		if s, err := e.currentSession(r); err == nil && s != nil && old.IdentityID.Valid && s.IdentityID == old.IdentityID.UUID {
			sess = s
		}
	}
	if err := e.populate(r, f, sess); err != nil {
		return e.failure(r, old, nil, err)
	}
	f.UI.AddMessage(ui.ErrFlowExpired(string(old.Kind), old.ExpiresAt))
	if err := e.Store.CreateFlow(r.Context(), f); err != nil {
		return e.failure(r, old, nil, err)
	}
	wantsJSON := old.Type == TypeAPI || httpx.IsJSONRequest(r)
	switch {
	case inBrowser && wantsJSON:
		return redirectAnswer(e.PublicURL("/self-service/"+string(old.Kind)+"/flows", url.Values{"id": {f.ID.String()}}), http.StatusSeeOther)
	case wantsJSON && !inBrowser:
		since := e.now().Sub(old.ExpiresAt)
		return envelopeAnswer(httpx.Gone(fmt.Sprintf("The self-service flow expired %.2f minutes ago, initialize a new one.", since.Minutes())).
			WithID("self_service_flow_expired").
			WithMessage("self-service flow expired").
			WithExtra("since", since.Nanoseconds()).
			WithExtra("use_flow_id", f.ID.String()))
	}
	return redirectAnswer(e.UIRedirectURL(f.Kind, f.ID), http.StatusSeeOther)
}

// populate asks every method of the flow's kind to add its nodes.
func (e *Engine) populate(r *http.Request, f *Flow, sess *session.Session) error {
	switch f.Kind {
	case Login:
		for _, m := range e.LoginMethods {
			if err := m.PopulateLogin(r, f, sess); err != nil {
				return err
			}
		}
		sortLogin(f.UI)
	case Registration:
		for _, m := range e.RegistrationMethods {
			if err := m.PopulateRegistration(r, f); err != nil {
				return err
			}
		}
		e.sortRegistration(f.UI)
	case Settings:
		i := f.Identity
		if i == nil && f.IdentityID.Valid {
			var err error
			if i, err = e.Identities.Get(r.Context(), f.IdentityID.UUID, true); err != nil {
				return err
			}
			f.Identity = i
		}
		for _, m := range e.SettingsMethods {
			if err := m.PopulateSettings(r, f, i); err != nil {
				return err
			}
		}
		e.sortSettings(f.UI, i)
	case Recovery:
		for _, m := range e.RecoveryMethods {
			if err := m.PopulateRecovery(r, f); err != nil {
				return err
			}
		}
	case Verification:
		for _, m := range e.VerificationMethods {
			if err := m.PopulateVerification(r, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSubmitOrigin applies the per-type request checks Kratos makes before
// a method does any work: browser flows must pass the anti-CSRF check; API
// flows must not come from a browser (no cookies, no Origin), so a stolen
// API flow cannot be driven by another site.
func (e *Engine) checkSubmitOrigin(r *http.Request, f *Flow, b *Body) error {
	if f.Type == TypeBrowser {
		token := b.String(ui.CSRFTokenName)
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		return e.CSRF.Check(r, token)
	}
	if e.apiFlowChecksDisabled() {
		return nil
	}
	if r.Header.Get("Origin") != "" {
		return httpx.BadRequest(`The HTTP request carried an "Origin" header, which is not allowed for API flows (they are meant for native apps); the request has been blocked. Use the browser flow endpoints from browsers.`)
	}
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, "__cf") {
			return httpx.BadRequest(`The HTTP request carried a "Cookie" header, which is not allowed for API flows (they are meant for native apps); the request has been blocked. Use the browser flow endpoints from browsers.`)
		}
	}
	return nil
}

// apiFlowChecksDisabled reports whether the browser checks of API flows are
// off (see Deps.APIFlowChecksDisabled).
func (e *Engine) apiFlowChecksDisabled() bool { return e.Config.APIFlowChecksDisabled }

// currentSession returns the request's session, or nil when there is none.
// Storage failures are returned.
func (e *Engine) currentSession(r *http.Request) (*session.Session, error) {
	s, err := e.Sessions.FromRequest(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	return s, err
}

// stamp is the engine clock's time at storage precision (see identity.Now).
func (e *Engine) stamp() time.Time { return e.now().UTC().Truncate(time.Microsecond) }

// decode reads a submission (DecodeBody). The methods' secret inputs
// (passwords, one-time codes) are never taken from a query string: a URL
// ends up in proxy and server logs, browser history and Referer headers.
func (e *Engine) decode(r *http.Request) (*Body, error) {
	b, err := DecodeBody(r)
	if err != nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return b, err
	}
	for _, name := range e.secretInputs {
		delete(b.values, name)
	}
	return b, nil
}
