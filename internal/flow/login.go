package flow

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

func parseAAL(raw string) (string, error) {
	switch strings.ToLower(raw) {
	case "", identity.AAL1:
		return identity.AAL1, nil
	case identity.AAL2:
		return identity.AAL2, nil
	}
	return "", httpx.BadRequest(fmt.Sprintf("The authenticator assurance level %q is not supported; use aal1 or aal2.", raw))
}

func errSessionAlreadyAvailable(reason string) *httpx.Error {
	return httpx.BadRequest(reason).WithID("session_already_available").WithMessage("you are already logged in")
}

func errAAL1Required() *httpx.Error {
	return httpx.Unauthorized("You can only ask for a second factor (aal2) while signed in with a first factor.").
		WithID("session_aal1_required").WithMessage("aal2 and aal3 can only be requested if a session exists already")
}

const loginAlreadyReason = "A valid session was detected and thus login is not possible. Did you forget to set `?refresh=true`?"

// InitLogin serves GET /self-service/login/{browser,api}.
func (e *Engine) InitLogin(t Type) http.HandlerFunc {
	return e.handle(func(w http.ResponseWriter, r *http.Request) answer {
		q := r.URL.Query()
		refresh := q.Get("refresh") == "true"
		aal, err := parseAAL(q.Get("aal"))
		if err != nil {
			return initFailure(r, t, err)
		}
		if _, err := e.returnTo.Resolve(q.Get("return_to")); err != nil {
			return initFailure(r, t, err)
		}
		sess, err := e.currentSession(r)
		if err != nil {
			return initFailure(r, t, err)
		}
		if aal == identity.AAL2 && sess == nil {
			return initFailure(r, t, errAAL1Required())
		}
		if sess != nil && !refresh && (aal == identity.AAL1 || session.AALSatisfied(sess, aal)) {
			return e.signedInAnswer(r, t, errSessionAlreadyAvailable(loginAlreadyReason), http.StatusSeeOther)
		}
		f := e.newFlow(w, r, Login, t)
		f.Refresh, f.RequestedAAL = refresh, aal
		var forSession *session.Session
		if sess != nil && (refresh || aal == identity.AAL2) {
			forSession = sess
			f.IdentityID.UUID, f.IdentityID.Valid = sess.IdentityID, true
		}
		if err := e.populate(r, f, forSession); err != nil {
			return initFailure(r, t, err)
		}
		// As in Kratos, a flow that asks for a second factor the session
		// lacks says so (1010004) instead of asking to confirm it is you
		// (1010003); a refresh of a session at aal2 asks to confirm.
		switch {
		case forSession != nil && aal == identity.AAL2 && !session.AALSatisfied(forSession, identity.AAL2):
			f.UI.AddMessage(ui.InfoLoginMFA())
		case forSession != nil && refresh:
			f.UI.AddMessage(ui.InfoLoginReauth())
		}
		return e.storeNewFlow(r, f)
	})
}

// SubmitLogin serves POST (and GET) /self-service/login?flow=.
func (e *Engine) SubmitLogin(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.submitLogin(w, r))
}

// submitLogin decides the answer to a login submission.
//
// As in Kratos, the session is looked at first, before the flow's expiry and
// the anti-CSRF check: a browser that signed in elsewhere (which renewed its
// anti-CSRF cookie) and then submits an older form is sent on, not shown a
// CSRF error.
func (e *Engine) submitLogin(w http.ResponseWriter, r *http.Request) answer {
	f, err := e.loadForSubmit(r, Login)
	if err != nil {
		return requestError(r, err)
	}
	sess, err := e.currentSession(r)
	if err != nil {
		return e.failure(r, f, nil, err)
	}
	if sess != nil && !f.Refresh && (f.RequestedAAL != identity.AAL2 || session.AALSatisfied(sess, identity.AAL2)) {
		if isHTML(r, f) {
			return redirectAnswer(e.Config.DefaultReturnURL, http.StatusSeeOther)
		}
		return e.failure(r, f, nil, errSessionAlreadyAvailable(loginAlreadyReason))
	}
	if sess == nil && f.RequestedAAL == identity.AAL2 {
		// The session the second-factor flow was made for has ended.
		return e.failure(r, f, nil, errAAL1Required())
	}
	if f.IsExpired(e.now()) {
		return e.replaceExpired(w, r, f)
	}
	b, err := e.readSubmission(r, f)
	if err != nil {
		return e.failure(r, f, b, err)
	}
	var methodSession *session.Session
	if f.Refresh || f.RequestedAAL == identity.AAL2 {
		methodSession = sess
	}
	var res *Result
	used, err := dispatch(e.LoginMethods, b.Method(), b, func(m LoginMethod) (err error) {
		res, err = m.Login(r.Context(), r, f, b, methodSession)
		return err
	})
	if used == nil {
		return e.failure(r, f, b, NewFormError("", ui.ErrNoStrategy(string(Login))))
	}
	if err != nil {
		return e.failure(r, f, b, err)
	}
	return e.loginResult(w, r, f, b, used, res, sess)
}

// loginResult finishes a login flow with what method m made of a
// submission (or a callback).
func (e *Engine) loginResult(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result, sess *session.Session) answer {
	if a, ok := e.pending(w, r, f, b, res); ok {
		return a
	}
	f.Active = m.ID()
	if res.Register {
		// An unknown social sign-in subject signs up instead, as in Kratos.
		if !e.Config.Kinds[Registration].Enabled {
			return e.failure(r, f, b, errRegistrationDisabled())
		}
		if res.Incomplete != nil {
			return e.continueAsRegistration(w, r, f, m, res)
		}
		return e.createAndFinishRegistration(w, r, f, b, m, res)
	}
	i := res.Identity
	if !i.IsActive() {
		return e.failure(r, f, b, errIdentityDisabled())
	}
	return e.finishLogin(w, r, f, b, i, res.authMethod(m), sess)
}

func errIdentityDisabled() *httpx.Error {
	return httpx.Unauthorized("This account was disabled.").WithMessage("identity is disabled")
}

// finishLogin runs the after-login hooks, issues or refreshes the session
// and answers.
func (e *Engine) finishLogin(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, i *identity.Identity, meth session.AuthenticationMethod, current *session.Session) answer {
	ctx := r.Context()
	method := f.Active
	metrics.NoteFlow(ctx, method, "")
	var s *session.Session
	refreshing := current != nil && current.IdentityID == i.ID && (f.Refresh || f.RequestedAAL == identity.AAL2)
	rotate := false
	if refreshing {
		s = current
		// A browser's session gets a new token when it is stored
		// (Reauthenticate), set in the cookie below, so a cookie that leaked
		// before does not carry the new authentication. A token presented
		// by a native app is kept, as Kratos keeps it: apps go on using the
		// token they hold after a refresh or a second factor.
		token, fromCookie := e.Sessions.TokenFromRequest(r)
		rotate = fromCookie
		if !rotate {
			s.Token = token
		}
	} else {
		s = e.Sessions.New(i, meth)
	}
	hooks := e.Config.AfterHooks(config.FlowLogin, method)
	if err := e.runBuiltinHooks(r, f, i, s, method, hooks); err != nil {
		return e.failure(r, f, b, err)
	}
	if e.Hooks != nil {
		if err := e.Hooks.After(ctx, r, f, method, i, hooks); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	var err error
	switch {
	case refreshing && rotate:
		err = e.Sessions.Reauthenticate(ctx, s, meth)
	case refreshing:
		err = e.Sessions.Refresh(ctx, s, meth)
	default:
		err = e.Sessions.Persist(ctx, s)
	}
	if errors.Is(err, store.ErrNotFound) {
		// The identity was deleted while it signed in: answer as a moment
		// later, when it would not have been found.
		err = NewFormError("", ui.ErrInvalidCredentials())
	}
	if err != nil {
		return e.failure(r, f, b, err)
	}
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(ctx, f); err != nil {
		e.Logger.Warn("could not record the login method on the flow", "error", err)
	}
	s.Identity = e.Identities.Expose(i).Public()
	aalMet := session.AALSatisfied(s, session.RequiredAAL(e.Sessions.Config().WhoamiRequiredAAL, i))

	if f.Type == TypeAPI {
		out := map[string]any{"session": s, "session_token": s.Token}
		if !aalMet {
			s.Identity = nil
		}
		return documentAnswer(out)
	}
	// A refreshed session is re-issued too: its cookie lives as long as the
	// session's new expiry.
	e.Sessions.SetCookie(w, s)
	if current == nil || current.IdentityID != i.ID {
		e.CSRF.Regenerate(w)
	}
	if httpx.IsJSONRequest(r) {
		if !aalMet {
			s.Identity = nil
		}
		return documentAnswer(map[string]any{"session": s})
	}
	if !aalMet {
		q := map[string][]string{"aal": {identity.AAL2}}
		if rt := f.ReturnTo(); rt != "" {
			q["return_to"] = []string{rt}
		}
		return redirectAnswer(e.PublicURL("/self-service/login/browser", q), http.StatusSeeOther)
	}
	to, err := e.returnTo.Target(f, e.Config.ReturnTo(config.FlowLogin, method))
	if err != nil {
		return errorUIAnswer(err)
	}
	return redirectAnswer(to, http.StatusSeeOther)
}

// sortLogin orders login nodes: social buttons first, then the default
// group (csrf_token, identifier), then each method's group, each group's
// submit last.
func sortLogin(c *ui.Container) {
	c.Sort(ui.SortOrder{
		Groups: []string{ui.GroupOIDC, ui.GroupDefault, ui.GroupWebAuthn, ui.GroupPassword, ui.GroupTOTP, ui.GroupLookupSecret},
		First:  []string{ui.CSRFTokenName, ui.NodeIdentifier, ui.NodePassword},
	})
}
