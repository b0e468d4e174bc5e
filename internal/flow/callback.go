package flow

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
)

// CallbackRoutes lists the routes methods serve themselves, with the
// handler the engine wraps around each (routes.go registers them).
func (e *Engine) CallbackRoutes() []Route {
	var out []Route
	for _, m := range e.callbackMethods {
		for _, p := range m.CallbackRoutes() {
			out = append(out, Route{Pattern: p, Handler: e.handle(e.callback(m))})
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
func (e *Engine) callback(m CallbackMethod) func(http.ResponseWriter, *http.Request) answer {
	return func(w http.ResponseWriter, r *http.Request) answer {
		id, err := m.CallbackFlow(r)
		var moved *CallbackRedirect
		if errors.As(err, &moved) {
			return redirectAnswer(moved.URL, http.StatusFound)
		}
		if err != nil {
			return errorUIAnswer(err)
		}
		f, err := e.Store.GetFlow(r.Context(), id)
		if err != nil {
			if identity.IsNotFound(err) {
				err = errFlowNotFound()
			}
			return errorUIAnswer(err)
		}
		if f.Kind != Login && f.Kind != Registration && f.Kind != Settings {
			return errorUIAnswer(errFlowNotFound())
		}
		if f.IsExpired(e.now()) {
			return e.replaceExpired(w, r, f)
		}
		sess, err := e.currentSession(r)
		if err != nil {
			return e.failure(r, f, nil, err)
		}
		var req *SettingsRequest
		if f.Kind == Settings {
			if sess == nil {
				return e.noSettingsSession(r, f)
			}
			if !f.IdentityID.Valid || f.IdentityID.UUID != sess.IdentityID {
				return errorUIAnswer(errIdentityMismatch(http.StatusBadRequest))
			}
			i, err := e.Identities.Get(r.Context(), sess.IdentityID, true)
			if err != nil {
				return e.failure(r, f, nil, err)
			}
			sess.Identity = i
			req = &SettingsRequest{Session: sess, Identity: i, Privileged: e.privileged(sess)}
		}
		res, err := m.Callback(r.Context(), w, r, f, req)
		if f.Kind == Settings {
			return e.settingsResult(w, r, f, nil, m, res, err, req)
		}
		if err != nil {
			return e.failure(r, f, nil, err)
		}
		if f.Kind == Registration {
			return e.registrationResult(w, r, f, nil, m, res)
		}
		var current *session.Session
		if f.Refresh || f.RequestedAAL == identity.AAL2 {
			current = sess
		}
		return e.loginResult(w, r, f, nil, m, res, current)
	}
}

// continueAsRegistration moves a login whose method met an unknown subject
// with incomplete details (Result.Incomplete) on to a new registration flow
// that asks for them, as Kratos does.
func (e *Engine) continueAsRegistration(w http.ResponseWriter, r *http.Request, login *Flow, m Method, res *Result) answer {
	f := e.newFlow(w, r, Registration, login.Type)
	f.RequestURL = login.RequestURL // keeps return_to
	f.Active = m.ID()
	formErr := res.Incomplete(f)
	if formErr == nil {
		formErr = errors.New("the method reported incomplete details without saying which")
	}
	if _, isForm := FormItems(formErr); !isForm {
		return e.failure(r, login, nil, formErr)
	}
	if err := e.Store.CreateFlow(r.Context(), f); err != nil {
		return e.failure(r, login, nil, err)
	}
	return e.failure(r, f, nil, formErr)
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
