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
	return func(w http.ResponseWriter, r *http.Request) {
		if !e.Config.Kinds[Registration].Enabled {
			e.initError(w, r, t, errRegistrationDisabled())
			return
		}
		if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
			e.initError(w, r, t, err)
			return
		}
		sess, err := e.currentSession(r)
		if err != nil {
			e.initError(w, r, t, err)
			return
		}
		if sess != nil {
			if t == TypeBrowser && !httpx.WantsJSON(r) {
				// Unlike login, Kratos v0.9 sends a signed-in browser to the
				// default return URL here, whatever return_to says.
				redirect(w, r, e.Config.DefaultReturnURL, http.StatusSeeOther)
				return
			}
			e.initError(w, r, t, errSessionAlreadyAvailable(registrationAlreadyReason))
			return
		}
		f := e.newFlow(w, r, Registration, t)
		if err := e.populate(r, f, nil); err != nil {
			e.initError(w, r, t, err)
			return
		}
		e.storeNewFlow(w, r, f)
	}
}

// SubmitRegistration serves POST (and GET) /self-service/registration?flow=.
func (e *Engine) SubmitRegistration(w http.ResponseWriter, r *http.Request) {
	if !e.Config.Kinds[Registration].Enabled {
		if httpx.IsJSONRequest(r) {
			httpx.WriteError(w, r, errRegistrationDisabled())
		} else {
			e.ForwardError(w, r, errRegistrationDisabled())
		}
		return
	}
	f := e.loadFlowForSubmit(w, r, Registration)
	if f == nil {
		return
	}
	// The session comes first, before expiry and the anti-CSRF check (see
	// SubmitLogin).
	sess, err := e.currentSession(r)
	if err != nil {
		e.fail(w, r, f, nil, err)
		return
	}
	if sess != nil {
		if isHTML(r, f) {
			to, err := e.returnTo.Target(f, e.Config.DefaultReturnURL)
			if err != nil {
				e.ForwardError(w, r, err)
				return
			}
			redirect(w, r, to, http.StatusFound)
			return
		}
		httpx.WriteError(w, r, errSessionAlreadyAvailable(registrationAlreadyReason))
		return
	}
	if e.answerExpired(w, r, f) {
		return
	}
	b := e.readSubmission(w, r, f)
	if b == nil {
		return
	}
	var res *Result
	used, err := dispatch(e.RegistrationMethods, b.Method(), b, func(m RegistrationMethod) (err error) {
		res, err = m.Register(r.Context(), r, f, b)
		return err
	})
	if used == nil {
		e.fail(w, r, f, b, NewFormError("", ui.ErrNoStrategy(string(Registration))))
		return
	}
	if err != nil {
		e.fail(w, r, f, b, err)
		return
	}
	e.registrationResult(w, r, f, b, used, res)
}

// registrationResult finishes a registration flow with what method m made
// of a submission (or a callback).
func (e *Engine) registrationResult(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result) {
	if e.answerPending(w, r, f, b, res) {
		return
	}
	f.Active = m.ID()
	if res.SignIn {
		// A known social sign-in subject signs in instead, as in Kratos.
		if !res.Identity.IsActive() {
			e.fail(w, r, f, b, errIdentityDisabled())
			return
		}
		e.finishLogin(w, r, f, b, res.Identity, res.authMethod(m), nil)
		return
	}
	e.createAndFinishRegistration(w, r, f, b, m, res)
}

// createAndFinishRegistration stores the identity a method built and
// finishes the flow as a registration.
func (e *Engine) createAndFinishRegistration(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result) {
	i := res.Identity
	if err := e.Identities.Create(r.Context(), i); err != nil {
		if identity.IsConflict(err) {
			err = NewFormError("", ui.ErrDuplicateIdentifier())
		}
		e.fail(w, r, f, b, err)
		return
	}
	e.finishRegistration(w, r, f, b, i, res.authMethod(m))
}

// finishRegistration runs the after-registration hooks (session, web_hook,
// the verification mail) and answers.
func (e *Engine) finishRegistration(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, i *identity.Identity, meth session.AuthenticationMethod) {
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
			e.fail(w, r, f, b, err)
			return
		}
	}
	if s != nil {
		if err := e.Sessions.Persist(ctx, s); err != nil {
			e.fail(w, r, f, b, err)
			return
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
		httpx.WriteJSON(w, http.StatusOK, out)
		return
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
		httpx.WriteJSON(w, http.StatusOK, out)
		return
	}
	to, err := e.returnTo.Target(f, e.Config.ReturnTo(config.FlowRegistration, method))
	if err != nil {
		e.ForwardError(w, r, err)
		return
	}
	redirect(w, r, to, http.StatusSeeOther)
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
