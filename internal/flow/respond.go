package flow

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
)

// The engine's handlers decide and respond writes. Every handler builds an
// answer value (the flow, a success document, a redirect, a form error, an
// error envelope or the error UI) and returns it; respond is the one place
// that turns an answer into status, headers and body. Failures become
// answers through failure, which sorts an error into a form error, an
// envelope or the error UI.
//
// Cookies are the exception: a step that issues one (the anti-CSRF cookie,
// a session) sets it on the ResponseWriter as it issues it, because the
// cookie belongs to that step whatever the answer turns out to be.

// answerKind says which of the answers an answer is.
type answerKind uint8

const (
	answerFlow      answerKind = iota + 1 // the flow as JSON, with status
	answerDocument                        // another JSON document (a session, an identity), with status
	answerRedirect                        // the browser goes to location, with status
	answerFormError                       // a failed submission shown on the flow's form
	answerEnvelope                        // the JSON error envelope of err
	answerErrorUI                         // err stored, and the browser sent to the error UI
	answerNoContent                       // 204
)

// answer is what a handler made of a request; the zero answer is no answer
// (respond treats it as a bug of the engine).
type answer struct {
	kind     answerKind
	status   int
	flow     *Flow // answerFlow, answerFormError
	body     *Body // answerFormError: the submission, to fill the form again
	doc      any   // answerDocument
	location string
	err      error           // answerEnvelope, answerErrorUI
	items    []FormErrorItem // answerFormError
	// retryAfter is how long a throttled form asks the client to wait
	// (answerFormError; FormError.RetryAfter).
	retryAfter time.Duration
}

func flowAnswer(f *Flow, status int) answer {
	return answer{kind: answerFlow, status: status, flow: f}
}

func documentAnswer(v any) answer {
	return answer{kind: answerDocument, status: http.StatusOK, doc: v}
}

// redirectAnswer sends the browser to url with code (303 when 0).
func redirectAnswer(url string, code int) answer {
	if code == 0 {
		code = http.StatusSeeOther
	}
	return answer{kind: answerRedirect, status: code, location: url}
}

func envelopeAnswer(err error) answer { return answer{kind: answerEnvelope, err: err} }

func errorUIAnswer(err error) answer { return answer{kind: answerErrorUI, err: err} }

// errorAnswer is err as an envelope for clients that read JSON, and on the
// error UI for browsers.
func errorAnswer(wantsJSON bool, err error) answer {
	if wantsJSON {
		return envelopeAnswer(err)
	}
	return errorUIAnswer(err)
}

// requestError answers err where there is no flow to show it on: the
// outcome depends on the request alone.
func requestError(r *http.Request, err error) answer {
	return errorAnswer(httpx.IsJSONRequest(r), err)
}

// kindAnswer holds the ways one flow kind's answers differ from the
// others'. They are Kratos' behaviour, quirks included, and they all sit
// in kindAnswers instead of in switches across the handlers.
type kindAnswer struct {
	// continueMovesBrowser: a JSON request on a browser flow is told to
	// move the browser to the flow's UI (422 browser_location_change_required)
	// instead of getting the flow; Kratos answers a passwordless login's
	// second step so.
	continueMovesBrowser bool
	// formErrorRedirect is the status of the redirect that takes a browser
	// back to a form with errors.
	formErrorRedirect int
	// expiredContinuesInBrowser: a submission to an expired flow continues
	// in a new browser flow whatever the old flow's type, and API and JSON
	// clients are sent to the new flow's JSON document.
	expiredContinuesInBrowser bool
	// expiredErrorID: the 410 of fetching an expired flow carries the id
	// self_service_flow_expired.
	expiredErrorID bool
}

var kindAnswers = map[Kind]kindAnswer{
	Login:        {continueMovesBrowser: true, formErrorRedirect: http.StatusSeeOther, expiredErrorID: true},
	Registration: {formErrorRedirect: http.StatusFound, expiredErrorID: true},
	Settings:     {formErrorRedirect: http.StatusSeeOther},
	Recovery:     {formErrorRedirect: http.StatusSeeOther, expiredContinuesInBrowser: true},
	Verification: {formErrorRedirect: http.StatusSeeOther, expiredContinuesInBrowser: true},
}

// handle adapts a handler that returns its answer to net/http.
func (e *Engine) handle(h func(http.ResponseWriter, *http.Request) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { e.respond(w, r, h(w, r)) }
}

// respond writes answer a.
func (e *Engine) respond(w http.ResponseWriter, r *http.Request, a answer) {
	switch a.kind {
	case answerFlow:
		httpx.WriteJSON(w, a.status, a.flow)
	case answerDocument:
		httpx.WriteJSON(w, a.status, a.doc)
	case answerRedirect:
		http.Redirect(w, r, a.location, a.status)
	case answerNoContent:
		w.WriteHeader(http.StatusNoContent)
	case answerEnvelope:
		httpx.WriteError(w, r, a.err)
	case answerErrorUI:
		e.respond(w, r, e.storeForErrorUI(r, a.err))
	case answerFormError:
		if a.retryAfter > 0 {
			w.Header().Set("Retry-After", httpx.RetryAfterValue(a.retryAfter))
		}
		e.respond(w, r, e.showOnForm(w, r, a.flow, a.body, a.items))
	default:
		httpx.WriteError(w, r, httpx.Internal(errors.New("the flow engine decided on no answer")))
	}
}

// failure is the answer to a failed submission of flow f (b is the decoded
// body, or nil). Form errors are shown on the flow: 400 with the flow for
// API and JSON clients, a redirect back to the form for browsers. Other
// errors are answered as JSON errors, or shown on the error UI.
func (e *Engine) failure(r *http.Request, f *Flow, b *Body, err error) answer {
	method := f.Active
	if method == "" && b != nil {
		method = b.Method()
	}
	metrics.NoteFlow(r.Context(), method, metrics.Failure)
	if f.Kind == Settings && identity.IsNotFound(err) {
		// The identity was deleted while the submission ran, and its
		// sessions and flows with it: answer as to a request without a
		// session.
		return e.noSettingsSession(r, f)
	}
	items, isForm := FormItems(err)
	if isForm {
		a := answer{kind: answerFormError, flow: f, body: b, items: items}
		if fe := (*FormError)(nil); errors.As(err, &fe) {
			a.retryAfter = fe.RetryAfter
		}
		return a
	}
	// Errors that carry a safe reason but no status (a failed web hook) are
	// answered as Kratos does: 400 on API flows, 500 otherwise.
	var pr interface{ PublicReason() string }
	var he *httpx.Error
	if !errors.As(err, &he) && errors.As(err, &pr) {
		code := http.StatusInternalServerError
		if f.Type == TypeAPI {
			code = http.StatusBadRequest
		}
		err = httpx.New(code).WithReason(pr.PublicReason()).WithCause(err)
		if f.Type == TypeAPI {
			// A 400 would be shown on the form; this one is an error document.
			return envelopeAnswer(err)
		}
	}
	return errorAnswer(f.Type == TypeAPI || httpx.IsJSONRequest(r), err)
}

// showOnForm puts form errors onto flow f (with the submitted values b
// filled in again, secrets left out), stores it and answers it: the flow
// with 400 for API and JSON clients, a redirect back to the form for
// browsers.
func (e *Engine) showOnForm(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, items []FormErrorItem) answer {
	f.UI.ResetMessages()
	if b != nil {
		refill(f.UI, b)
	}
	f.UI.ClearSecrets(e.secretInputs...)
	for _, it := range items {
		if it.Field == "" {
			f.UI.AddMessage(it.Text)
		} else {
			f.UI.AddNodeMessage(it.Field, it.Text)
		}
	}
	e.setCSRF(w, r, f)
	if f.Kind == Settings && f.Identity == nil && f.IdentityID.Valid && !isHTML(r, f) {
		// A settings flow always carries its identity (required by the
		// API's selfServiceSettingsFlow model; SDKs reject null). Show the
		// identity as stored, not as the failed submission would have
		// changed it, as Kratos does.
		i, err := e.Identities.Get(r.Context(), f.IdentityID.UUID, false)
		if identity.IsNotFound(err) {
			return e.noSettingsSession(r, f) // deleted meanwhile, as above
		}
		if err != nil {
			return envelopeAnswer(err)
		}
		f.Identity = i
	}
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(r.Context(), f); err != nil {
		if f.Kind == Settings && identity.IsNotFound(err) {
			return e.noSettingsSession(r, f) // deleted meanwhile, as above
		}
		return envelopeAnswer(err)
	}
	if isHTML(r, f) {
		return redirectAnswer(e.UIRedirectURL(f.Kind, f.ID), kindAnswers[f.Kind].formErrorRedirect)
	}
	return flowAnswer(f, http.StatusBadRequest)
}

// storeForErrorUI stores err for the error UI and sends the browser there.
func (e *Engine) storeForErrorUI(r *http.Request, err error) answer {
	he := httpx.As(err)
	if he.Code >= 500 {
		e.Logger.Error("self-service request failed", "path", r.URL.Path, "error", err.Error())
	}
	body, _ := json.Marshal(he.Body(r.Header.Get("X-Request-Id")))
	now := e.stamp()
	ec := &ErrorContainer{ID: uuid.New(), Error: body, CreatedAt: now, UpdatedAt: now}
	if t, ok := e.CSRF.CookieToken(r); ok {
		ec.CSRFHash = csrf.Hash(t)
	}
	if serr := e.Store.CreateSelfServiceError(r.Context(), ec); serr != nil {
		return envelopeAnswer(serr)
	}
	return redirectAnswer(addQuery(e.Config.ErrorUIURL, "id", ec.ID.String()), http.StatusSeeOther)
}

// errBrowserLocationChange asks a JSON client to send the browser to url.
func errBrowserLocationChange(url string) *httpx.Error {
	return httpx.New(http.StatusUnprocessableEntity).
		WithID("browser_location_change_required").
		WithMessage("browser location change required").
		WithReason("In order to complete this flow please redirect the browser to: "+url).
		WithExtra("redirect_browser_to", url)
}

// pending answers a method's result that does not complete the flow
// (continue or redirect); ok is false when the result completes it.
func (e *Engine) pending(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, res *Result) (a answer, ok bool) {
	if res != nil {
		for _, c := range res.Cookies {
			http.SetCookie(w, c)
		}
	}
	switch {
	case res == nil:
		return e.failure(r, f, b, errors.New("the method returned no result")), true
	case res.RedirectTo != "":
		if isHTML(r, f) {
			return redirectAnswer(res.RedirectTo, http.StatusSeeOther), true
		}
		return envelopeAnswer(errBrowserLocationChange(res.RedirectTo)), true
	case res.Continue:
		e.setCSRF(w, r, f)
		f.UpdatedAt = e.stamp()
		if err := e.Store.UpdateFlow(r.Context(), f); err != nil {
			return e.failure(r, f, b, err), true
		}
		ui := e.UIRedirectURL(f.Kind, f.ID)
		switch {
		case isHTML(r, f):
			return redirectAnswer(ui, http.StatusSeeOther), true
		case f.Type == TypeBrowser && kindAnswers[f.Kind].continueMovesBrowser:
			return envelopeAnswer(errBrowserLocationChange(ui)), true
		default:
			return flowAnswer(f, http.StatusOK), true
		}
	case res.Identity == nil && f.Kind != Settings:
		return e.failure(r, f, b, errors.New("the method returned a result without an identity")), true
	}
	return answer{}, false
}
