package flow

import (
	"net/http"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

func errRegistrationDisabled() *httpx.Error {
	return httpx.BadRequest("Registration is not allowed because it was disabled.").
		WithID("self_service_flow_disabled").WithMessage("registration flow disabled")
}

const registrationAlreadyReason = "A valid session was detected and thus registration is not possible."

// InitRegistration serves GET /self-service/registration/{browser,api}.
func (e *Engine) InitRegistration(t Type) http.HandlerFunc {
	return e.handle(func(w http.ResponseWriter, r *http.Request) answer {
		if !e.Config.Kinds[Registration].Enabled {
			return initFailure(r, t, errRegistrationDisabled())
		}
		if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
			return initFailure(r, t, err)
		}
		sess, err := e.currentSession(r)
		if err != nil {
			return initFailure(r, t, err)
		}
		if sess != nil {
			if t == TypeBrowser && !httpx.WantsJSON(r) {
				// Unlike login, Kratos v0.9 sends a signed-in browser to the
				// default return URL here, whatever return_to says.
				return redirectAnswer(e.Config.DefaultReturnURL, http.StatusSeeOther)
			}
			return initFailure(r, t, errSessionAlreadyAvailable(registrationAlreadyReason))
		}
		f := e.newFlow(w, r, Registration, t)
		if err := e.populate(r, f, nil); err != nil {
			return initFailure(r, t, err)
		}
		return e.storeNewFlow(r, f)
	})
}

// SubmitRegistration serves POST (and GET) /self-service/registration?flow=.
func (e *Engine) SubmitRegistration(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.submitRegistration(w, r))
}

// submitRegistration decides the answer to a registration submission.
func (e *Engine) submitRegistration(w http.ResponseWriter, r *http.Request) answer {
	if !e.Config.Kinds[Registration].Enabled {
		return requestError(r, errRegistrationDisabled())
	}
	f, err := e.loadForSubmit(r, Registration)
	if err != nil {
		return requestError(r, err)
	}
	// The session comes first, before expiry and the anti-CSRF check (see
	// submitLogin).
	sess, err := e.currentSession(r)
	if err != nil {
		return e.failure(r, f, nil, err)
	}
	if sess != nil {
		if isHTML(r, f) {
			to, err := e.returnTo.Target(f, e.Config.DefaultReturnURL)
			if err != nil {
				return errorUIAnswer(err)
			}
			return redirectAnswer(to, http.StatusFound)
		}
		return envelopeAnswer(errSessionAlreadyAvailable(registrationAlreadyReason))
	}
	if f.IsExpired(e.now()) {
		return e.replaceExpired(w, r, f)
	}
	b, err := e.readSubmission(r, f)
	if err != nil {
		return e.failure(r, f, b, err)
	}
	var res *Result
	used, err := dispatch(e.RegistrationMethods, b.Method(), b, func(m RegistrationMethod) (err error) {
		res, err = m.Register(r.Context(), r, f, b)
		return err
	})
	if used == nil {
		return e.failure(r, f, b, NewFormError("", ui.ErrNoStrategy(string(Registration))))
	}
	if err != nil {
		return e.failure(r, f, b, err)
	}
	return e.registrationResult(w, r, f, b, used, res)
}

// registrationResult finishes a registration flow with what method m made
// of a submission (or a callback).
func (e *Engine) registrationResult(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result) answer {
	if a, ok := e.pending(w, r, f, b, res); ok {
		return a
	}
	f.Active = m.ID()
	if res.SignIn {
		// A known social sign-in subject signs in instead, as in Kratos.
		if !res.Identity.IsActive() {
			return e.failure(r, f, b, errIdentityDisabled())
		}
		return e.finishLogin(w, r, f, b, res.Identity, res.authMethod(m), nil)
	}
	return e.createAndFinishRegistration(w, r, f, b, m, res)
}

// createAndFinishRegistration stores the identity a method built and
// finishes the flow as a registration.
func (e *Engine) createAndFinishRegistration(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result) answer {
	i := res.Identity
	if err := e.Identities.Create(r.Context(), i); err != nil {
		if identity.IsConflict(err) {
			err = NewFormError("", ui.ErrDuplicateIdentifier())
		}
		return e.failure(r, f, b, err)
	}
	return e.finishRegistration(w, r, f, b, i, res.authMethod(m))
}

// finishRegistration runs the after-registration hooks (session, web_hook,
// the verification mail) and answers.
func (e *Engine) finishRegistration(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, i *identity.Identity, meth session.AuthenticationMethod) answer {
	ctx := r.Context()
	method := f.Active
	metrics.NoteFlow(ctx, method, "")
	hooks := e.Config.AfterHooks(config.FlowRegistration, method)
	var s *session.Session
	for _, h := range hooks {
		if h.Hook == config.HookSession {
			s = e.Sessions.New(i, meth)
		}
	}
	// The verification mail goes out first, as Kratos' built-in
	// verification hook runs before the configured ones: a failing web hook
	// leaves an identity that can still verify its address.
	e.sendVerification(ctx, r, i, f)
	if e.Hooks != nil {
		if err := e.Hooks.After(ctx, r, f, method, i, hooks); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	if s != nil {
		if err := e.Sessions.Persist(ctx, s); err != nil {
			return e.failure(r, f, b, err)
		}
		s.Identity = i.Public()
	}
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(ctx, f); err != nil {
		e.Logger.Warn("could not record the registration method on the flow", "error", err)
	}
	pub := i.Public()
	if f.Type == TypeAPI {
		out := map[string]any{"identity": pub}
		if s != nil {
			out["session"] = s
			out["session_token"] = s.Token
		}
		return documentAnswer(out)
	}
	if s != nil {
		e.Sessions.SetCookie(w, s)
		e.CSRF.Regenerate(w)
	}
	if httpx.IsJSONRequest(r) {
		out := map[string]any{"identity": pub}
		if s != nil {
			out["session"] = s
		}
		return documentAnswer(out)
	}
	to, err := e.returnTo.Target(f, e.Config.ReturnTo(config.FlowRegistration, method))
	if err != nil {
		return errorUIAnswer(err)
	}
	return redirectAnswer(to, http.StatusSeeOther)
}

// sortRegistration orders registration nodes: csrf_token, social buttons,
// then the traits in schema order with the password right after the first
// trait, each group's submit last.
func (e *Engine) sortRegistration(c *ui.Container) {
	var order []string
	for k, fld := range e.Identities.Schemas().Default().FormFields() {
		order = append(order, fld.Name)
		if k == 0 {
			order = append(order, ui.NodePassword)
		}
	}
	c.Sort(ui.SortOrder{
		Groups:      []string{ui.GroupDefault, ui.GroupOIDC, ui.GroupWebAuthn, ui.GroupPassword},
		First:       []string{ui.CSRFTokenName},
		SchemaOrder: order,
	})
}

// sortSettings orders settings nodes by group (profile, password, …), the
// traits in schema order, each group's submit last.
func (e *Engine) sortSettings(c *ui.Container, i *identity.Identity) {
	var order []string
	if i != nil {
		if sc, err := e.Identities.SchemaFor(i.SchemaID); err == nil {
			for _, fld := range sc.FormFields() {
				order = append(order, fld.Name)
			}
		}
	}
	c.Sort(ui.SortOrder{
		Groups:      []string{ui.GroupDefault, ui.GroupProfile, ui.GroupPassword, ui.GroupOIDC, ui.GroupLookupSecret, ui.GroupWebAuthn, ui.GroupTOTP},
		First:       []string{ui.CSRFTokenName},
		SchemaOrder: order,
	})
}
