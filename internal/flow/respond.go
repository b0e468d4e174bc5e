package flow

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
)

// kindAnswers are the per-kind differences in how a method's "continue"
// is answered. Everything else about continue and redirect results is the
// same for every kind (answerPending).
var kindAnswers = map[Kind]struct {
	// continueMovesBrowser: a JSON request on a browser flow is told to
	// move the browser to the flow's UI (422 browser_location_change_required)
	// instead of getting the flow; Kratos answers a passwordless login's
	// second step so.
	continueMovesBrowser bool
}{
	Login:        {continueMovesBrowser: true},
	Registration: {},
	Settings:     {},
	Recovery:     {},
	Verification: {},
}

// errBrowserLocationChange asks a JSON client to send the browser to url.
func errBrowserLocationChange(url string) *httpx.Error {
	return httpx.New(http.StatusUnprocessableEntity).
		WithID("browser_location_change_required").
		WithMessage("browser location change required").
		WithReason("In order to complete this flow please redirect the browser to: "+url).
		WithExtra("redirect_browser_to", url)
}

// answerPending answers a result that does not complete the flow (continue
// or redirect) and reports whether it did.
func (e *Engine) answerPending(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, res *Result) bool {
	switch {
	case res == nil:
		e.fail(w, r, f, b, errors.New("the method returned no result"))
		return true
	case res.RedirectTo != "":
		if isHTML(r, f) {
			redirect(w, r, res.RedirectTo, http.StatusSeeOther)
		} else {
			httpx.WriteError(w, r, errBrowserLocationChange(res.RedirectTo))
		}
		return true
	case res.Continue:
		e.setCSRF(w, r, f)
		f.UpdatedAt = e.stamp()
		if err := e.Store.UpdateFlow(r.Context(), f); err != nil {
			e.fail(w, r, f, b, err)
			return true
		}
		ui := e.UIRedirectURL(f.Kind, f.ID)
		switch {
		case isHTML(r, f):
			redirect(w, r, ui, http.StatusSeeOther)
		case f.Type == TypeBrowser && kindAnswers[f.Kind].continueMovesBrowser:
			httpx.WriteError(w, r, errBrowserLocationChange(ui))
		default:
			httpx.WriteJSON(w, http.StatusOK, f)
		}
		return true
	case res.Identity == nil && f.Kind != Settings:
		e.fail(w, r, f, b, errors.New("the method returned a result without an identity"))
		return true
	}
	return false
}

// CallbackRoutes lists the routes methods serve themselves, with the
// handler the engine wraps around each (routes.go registers them).
func (e *Engine) CallbackRoutes() []Route {
	var out []Route
	for _, m := range e.callbackMethods {
		for _, p := range m.CallbackRoutes() {
			out = append(out, Route{Pattern: p, Handler: e.callback(m)})
		}
	}
	return out
}

// Route is a route pattern and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// callback serves a method's callback route: it loads the flow the request
// names, checks it as a submission of its kind would be checked, and
// finishes it with what the method made of the request.
func (e *Engine) callback(m CallbackMethod) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := m.CallbackFlow(r)
		if err != nil {
			e.ForwardError(w, r, err)
			return
		}
		f, err := e.Store.GetFlow(r.Context(), id)
		if err != nil {
			if identity.IsNotFound(err) {
				err = errFlowNotFound()
			}
			e.ForwardError(w, r, err)
			return
		}
		if f.Kind != Login && f.Kind != Registration && f.Kind != Settings {
			e.ForwardError(w, r, errFlowNotFound())
			return
		}
		if e.answerExpired(w, r, f) {
			return
		}
		sess, err := e.currentSession(r)
		if err != nil {
			e.fail(w, r, f, nil, err)
			return
		}
		var req *SettingsRequest
		if f.Kind == Settings {
			if sess == nil {
				e.answerNoSettingsSession(w, r, f)
				return
			}
			if !f.IdentityID.Valid || f.IdentityID.UUID != sess.IdentityID {
				e.ForwardError(w, r, errIdentityMismatch(http.StatusBadRequest))
				return
			}
			i, err := e.Identities.Get(r.Context(), sess.IdentityID, true)
			if err != nil {
				e.fail(w, r, f, nil, err)
				return
			}
			sess.Identity = i
			req = &SettingsRequest{Session: sess, Identity: i, Privileged: e.privileged(sess)}
		}
		res, err := m.Callback(r.Context(), w, r, f, req)
		switch f.Kind {
		case Settings:
			e.settingsResult(w, r, f, nil, m, res, err, req)
		case Login:
			if err != nil {
				e.fail(w, r, f, nil, err)
				return
			}
			var current *session.Session
			if f.Refresh || f.RequestedAAL == identity.AAL2 {
				current = sess
			}
			e.loginResult(w, r, f, nil, m, res, current)
		case Registration:
			if err != nil {
				e.fail(w, r, f, nil, err)
				return
			}
			e.registrationResult(w, r, f, nil, m, res)
		}
	}
}

// View returns flow id of kind k as a UI would render it, checked as
// fetching it over HTTP is (the browser's anti-CSRF cookie, or for
// settings the owner's session; expiry): the engine's API for pages
// rendered by the server itself. It writes nothing to w except cookies a
// check may renew.
func (e *Engine) View(r *http.Request, k Kind, id uuid.UUID) (*Flow, error) {
	f, err := e.loadFlow(r.Context(), id, k)
	if err != nil {
		return nil, err
	}
	if k == Settings {
		if err := e.checkSettingsOwner(r, f); err != nil {
			return nil, err
		}
	} else if f.Type == TypeBrowser && !e.CSRF.MatchesHash(r, f.CSRFTokenHash) {
		return nil, csrfViolationOnFetch(r)
	}
	if k == Registration && !e.Config.Kinds[Registration].Enabled {
		return nil, errRegistrationDisabled()
	}
	if f.IsExpired(e.now()) {
		return nil, e.errFetchExpired(f)
	}
	return f, nil
}
