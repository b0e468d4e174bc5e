package flow

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

func errIdentityMismatch(code int) *httpx.Error {
	return httpx.New(code).WithID("security_identity_mismatch").
		WithReason("The settings flow belongs to another identity; start a new settings flow.").
		WithMessage("the request was made for another identity and has been blocked for security reasons")
}

// privileged reports whether the session authenticated recently enough for
// sensitive changes.
func (e *Engine) privileged(s *session.Session) bool {
	max := e.Config.PrivilegedSessionMaxAge
	if max <= 0 {
		max = time.Hour
	}
	return e.now().Before(s.AuthenticatedAt.Add(max))
}

// settingsAAL checks selfservice.flows.settings.required_aal.
func (e *Engine) settingsAAL(s *session.Session) error {
	if !session.AALSatisfied(s, session.RequiredAAL(e.Config.SettingsRequiredAAL, s.Identity)) {
		return e.Sessions.ErrAAL2Required("")
	}
	return nil
}

// InitSettings serves GET /self-service/settings/{browser,api}. A session is
// required.
func (e *Engine) InitSettings(t Type) http.HandlerFunc {
	return e.handle(func(w http.ResponseWriter, r *http.Request) answer {
		sess, err := e.currentSession(r)
		if err != nil {
			return initFailure(r, t, err)
		}
		if sess == nil {
			if t == TypeBrowser && !httpx.WantsJSON(r) {
				return redirectAnswer(e.Config.Kinds[Login].UIURL, http.StatusSeeOther)
			}
			reason := "No active session was found in this request."
			if t == TypeAPI {
				reason = "This endpoint can only be accessed with a valid session. Please log in and try again."
			}
			return initFailure(r, t, session.ErrSessionInactive().WithReason(reason))
		}
		if err := e.settingsAAL(sess); err != nil {
			if t == TypeBrowser && !httpx.WantsJSON(r) {
				return redirectAnswer(e.secondFactorLoginURL(), http.StatusSeeOther)
			}
			return initFailure(r, t, err)
		}
		if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
			return initFailure(r, t, err)
		}
		f, err := e.newSettingsFlow(w, r, t, sess.IdentityID)
		if err != nil {
			return initFailure(r, t, err)
		}
		return e.newFlowAnswer(r, f)
	})
}

// secondFactorLoginURL starts a login that asks for a second factor.
func (e *Engine) secondFactorLoginURL() string {
	return e.PublicURL("/self-service/login/browser", url.Values{"aal": {identity.AAL2}})
}

// newSettingsFlow creates and stores a settings flow for an identity (also
// used by recovery, which opens one).
func (e *Engine) newSettingsFlow(w http.ResponseWriter, r *http.Request, t Type, identityID uuid.UUID) (*Flow, error) {
	f := e.newFlow(w, r, Settings, t)
	f.IdentityID.UUID, f.IdentityID.Valid = identityID, true
	if err := e.populate(r, f, nil); err != nil {
		return nil, err
	}
	return f, e.Store.CreateFlow(r.Context(), f)
}

// settingsNoSessionError is a settings flow fetched without a session:
// Kratos answers 401, or sends a browser to sign in.
type settingsNoSessionError struct{ browser bool }

func (e *settingsNoSessionError) Error() string { return "no session" }

// HTTPError is the 401 that JSON clients get.
func (e *settingsNoSessionError) HTTPError() *httpx.Error {
	return httpx.Unauthorized("A valid session cookie or session token is missing.")
}

// checkSettingsOwner applies the session rules to fetching a settings flow
// and loads the flow's identity. A settings flow is guarded by the session
// that owns it, not by the anti-CSRF cookie: Kratos answers 401 without a
// session and 403 security_identity_mismatch for another identity's flow,
// and UIs branch on those.
func (e *Engine) checkSettingsOwner(r *http.Request, f *Flow) error {
	sess, err := e.currentSession(r)
	if err != nil {
		return err
	}
	if sess == nil {
		return &settingsNoSessionError{browser: f.Type == TypeBrowser}
	}
	if !f.IdentityID.Valid || f.IdentityID.UUID != sess.IdentityID {
		return errIdentityMismatch(http.StatusForbidden)
	}
	if err := e.settingsAAL(sess); err != nil {
		return err
	}
	i, err := e.Identities.Get(r.Context(), sess.IdentityID, false)
	if err != nil {
		return err
	}
	f.Identity = i
	return nil
}

// settingsResume is a submission paused until the user signed in again.
type settingsResume struct {
	Method string         `json:"method"`
	Values map[string]any `json:"values"`
	Form   bool           `json:"form"`
}

const resumeKey = "settings_resume"

// SubmitSettings serves POST (and GET) /self-service/settings?flow=.
func (e *Engine) SubmitSettings(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.submitSettings(w, r))
}

// submitSettings decides the answer to a settings submission.
func (e *Engine) submitSettings(w http.ResponseWriter, r *http.Request) answer {
	f, err := e.loadForSubmit(r, Settings)
	if err != nil {
		return requestError(r, err)
	}
	if f.IsExpired(e.now()) {
		return e.replaceExpired(w, r, f)
	}
	sess, err := e.currentSession(r)
	if err != nil {
		return e.failure(r, f, nil, err)
	}
	if sess == nil {
		return e.noSettingsSession(r, f)
	}
	if !f.IdentityID.Valid || f.IdentityID.UUID != sess.IdentityID {
		// Answered without the flow: it carries its owner's traits.
		return errorAnswer(!isHTML(r, f), errIdentityMismatch(http.StatusBadRequest))
	}
	if err := e.settingsAAL(sess); err != nil {
		if isHTML(r, f) {
			return redirectAnswer(e.secondFactorLoginURL(), http.StatusSeeOther)
		}
		return e.failure(r, f, nil, err)
	}

	var b *Body
	var resume settingsResume
	resuming := false
	if r.Method == http.MethodGet && f.Type == TypeBrowser {
		// A browser coming back from re-authentication: replay the paused
		// submission, which passed the anti-CSRF check when it was made.
		if ok, _ := f.GetInternal(resumeKey, &resume); ok && e.CSRF.MatchesHash(r, f.CSRFTokenHash) {
			resuming = true
			b = &Body{values: resume.Values, FromForm: resume.Form}
		}
	}
	if !resuming {
		if b, err = e.readSubmission(r, f); err != nil {
			return e.failure(r, f, b, err)
		}
	}

	i, err := e.Identities.Get(r.Context(), sess.IdentityID, true)
	if err != nil {
		return e.failure(r, f, b, err)
	}
	sess.Identity = i
	req := &SettingsRequest{Session: sess, Identity: i, Privileged: e.privileged(sess)}
	var res *Result
	used, err := dispatch(e.SettingsMethods, b.Method(), b, func(m SettingsMethod) (err error) {
		res, err = m.Settings(r.Context(), r, f, b, req)
		return err
	})
	if used == nil {
		return e.failure(r, f, b, NewFormError("", ui.ErrNoStrategy(string(Settings))))
	}
	return e.settingsResult(w, r, f, b, used, res, err, req)
}

// settingsResult finishes a settings flow with what method m made of a
// submission (or a callback): err is the method's error.
func (e *Engine) settingsResult(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, m Method, res *Result, err error, req *SettingsRequest) answer {
	if errors.Is(err, ErrPrivilegeRequired) {
		return e.requireReauth(r, f, b, m.ID())
	}
	if err != nil {
		return e.failure(r, f, b, err)
	}
	if res == nil {
		res = &Result{}
	}
	if res.Continue {
		f.Identity = req.Identity.Public()
	}
	if a, ok := e.pending(w, r, f, b, res); ok {
		return a
	}
	f.DeleteInternal(resumeKey)
	if err := e.Identities.Update(r.Context(), req.Identity); err != nil {
		if identity.IsConflict(err) {
			err = NewFormError("", ui.ErrDuplicateIdentifier())
		}
		return e.failure(r, f, b, err)
	}
	if res.AAL != "" {
		// A new factor counts on the session that set it up, as in Kratos.
		if err := e.Sessions.Refresh(r.Context(), req.Session, res.authMethod(m)); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	if res.SecretChanged {
		if err := e.credentialChanged(r, req.Identity, req.Session, SecretReplaced); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	return e.finishSettings(w, r, f, b, req.Identity, m.ID())
}

// noSettingsSession answers a settings request without a session, or whose
// identity (with its sessions and flows) was deleted while it ran: browsers
// are sent to sign in, API and JSON clients get 401.
func (e *Engine) noSettingsSession(r *http.Request, f *Flow) answer {
	if isHTML(r, f) {
		return redirectAnswer(e.Config.Kinds[Login].UIURL, http.StatusFound)
	}
	return envelopeAnswer(session.ErrSessionInactive())
}

// requireReauth answers a sensitive change from a session that is too old:
// API and JSON clients get 403 session_refresh_required; browsers are sent
// to sign in again, and the change is kept on the flow to be replayed when
// they come back.
func (e *Engine) requireReauth(r *http.Request, f *Flow, b *Body, method string) answer {
	back := e.PublicURL("/self-service/settings", url.Values{"flow": {f.ID.String()}})
	to := e.PublicURL("/self-service/login/browser", url.Values{"refresh": {"true"}, "return_to": {back}})
	if isHTML(r, f) {
		if err := f.SetInternal(resumeKey, settingsResume{Method: method, Values: b.values, Form: b.FromForm}); err != nil {
			return e.failure(r, f, b, err)
		}
		f.UpdatedAt = e.stamp()
		if err := e.Store.UpdateFlow(r.Context(), f); err != nil {
			return e.failure(r, f, b, err)
		}
		return redirectAnswer(to, http.StatusSeeOther)
	}
	return envelopeAnswer(httpx.Forbidden("The login session is too old to change these settings. Sign in again, then repeat the change.").
		WithID("session_refresh_required").
		WithMessage("The login session is too old and thus not allowed to update these fields. Please re-authenticate.").
		WithExtra("redirect_browser_to", to))
}

// finishSettings runs the after-settings hooks, renders a fresh form with
// the saved values and answers.
func (e *Engine) finishSettings(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, i *identity.Identity, method string) answer {
	metrics.NoteFlow(r.Context(), method, "")
	ctx := r.Context()
	hooks := e.Config.AfterHooks(config.FlowSettings, method)
	if e.Hooks != nil {
		if err := e.Hooks.After(ctx, r, f, method, i, hooks); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	e.sendVerification(ctx, r, i, f)
	f.State = StateSuccess
	f.Active = method
	f.Identity = i
	f.UI = ui.NewContainer(f.UI.Action)
	e.setCSRF(w, r, f)
	if err := e.populate(r, f, nil); err != nil {
		return e.failure(r, f, b, err)
	}
	f.UI.AddMessage(ui.InfoSettingsSaved())
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(ctx, f); err != nil {
		return e.failure(r, f, b, err)
	}
	if !isHTML(r, f) {
		return flowAnswer(f, http.StatusOK)
	}
	def := uiOrDefault(e.Config.MethodReturnURL(config.FlowSettings, method), e.Config.AfterReturnURL(config.FlowSettings), e.UIRedirectURL(Settings, f.ID))
	to, err := e.returnTo.Target(f, def)
	if err != nil {
		return errorUIAnswer(err)
	}
	return redirectAnswer(to, http.StatusSeeOther)
}
