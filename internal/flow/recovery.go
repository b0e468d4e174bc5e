package flow

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Recovery and verification are the two "prove you own this address" flows:
// the same states (choose_method → sent_email → passed_challenge), the same
// link-in-an-email submission, different endings. This file holds what they
// share, plus each one's ending.

func (e *Engine) addressFlowEnabled(k Kind) bool {
	if k == Recovery {
		return e.Config.Kinds[Recovery].Enabled
	}
	return e.Config.Kinds[Verification].Enabled
}

func errAddressFlowDisabled(k Kind) *httpx.Error {
	if k == Recovery {
		return httpx.BadRequest("Recovery is not allowed because it was disabled.")
	}
	return httpx.BadRequest("Verification is not allowed because it was disabled.")
}

// InitRecovery serves GET /self-service/recovery/{browser,api}; recovery is
// for people who cannot sign in, so a session refuses it.
func (e *Engine) InitRecovery(t Type) http.HandlerFunc { return e.initAddressFlow(Recovery, t) }

// InitVerification serves GET /self-service/verification/{browser,api}.
func (e *Engine) InitVerification(t Type) http.HandlerFunc {
	return e.initAddressFlow(Verification, t)
}

func (e *Engine) initAddressFlow(k Kind, t Type) http.HandlerFunc {
	return e.handle(func(w http.ResponseWriter, r *http.Request) answer {
		if !e.addressFlowEnabled(k) {
			return initFailure(r, t, errAddressFlowDisabled(k))
		}
		if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
			return initFailure(r, t, err)
		}
		if k == Recovery {
			sess, err := e.currentSession(r)
			if err != nil {
				return initFailure(r, t, err)
			}
			if sess != nil {
				return e.signedInAnswer(r, t, httpx.BadRequest("A valid session was detected and thus recovery is not possible."), http.StatusFound)
			}
		}
		f, err := e.NewAddressFlow(w, r, k, t)
		if err != nil {
			return initFailure(r, t, err)
		}
		return e.newFlowAnswer(r, f)
	})
}

// NewAddressFlow creates and stores a recovery or verification flow (also
// used by the admin recovery link and the verification hook).
func (e *Engine) NewAddressFlow(w http.ResponseWriter, r *http.Request, k Kind, t Type) (*Flow, error) {
	f := e.newFlow(w, r, k, t)
	if err := e.populate(r, f, nil); err != nil {
		return nil, err
	}
	return f, e.Store.CreateFlow(r.Context(), f)
}

// retryWithMessage answers a submission the flow cannot take any more (it
// passed its challenge already, is in an unknown state, or a link's token
// is invalid) with a new flow of type t carrying msg. A new browser flow
// starts on a fresh anti-CSRF cookie, which it is bound to. API clients
// and JSON requests are sent to the new flow's JSON document, browsers to
// the UI.
func (e *Engine) retryWithMessage(w http.ResponseWriter, r *http.Request, old *Flow, t Type, msg ui.Text) answer {
	fr := r
	if t == TypeBrowser {
		// Built from a request without cookies, the flow issues a new
		// anti-CSRF cookie and is bound to it.
		fr = r.Clone(r.Context())
		fr.Header = r.Header.Clone()
		fr.Header.Del("Cookie")
	}
	f := e.newFlow(w, fr, old.Kind, t)
	f.RequestURL = old.RequestURL
	if err := e.populate(fr, f, nil); err != nil {
		return e.failure(r, old, nil, err)
	}
	f.UI.AddMessage(msg)
	if err := e.Store.CreateFlow(r.Context(), f); err != nil {
		return e.failure(r, old, nil, err)
	}
	if t == TypeAPI || httpx.IsJSONRequest(r) {
		return redirectAnswer(e.PublicURL("/self-service/"+string(f.Kind)+"/flows", url.Values{"id": {f.ID.String()}}), http.StatusSeeOther)
	}
	return redirectAnswer(e.UIRedirectURL(f.Kind, f.ID), http.StatusSeeOther)
}

// SubmitRecovery serves POST and GET /self-service/recovery?flow=[&token=].
func (e *Engine) SubmitRecovery(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.submitAddressFlow(w, r, Recovery))
}

// SubmitVerification serves POST and GET /self-service/verification?flow=[&token=].
func (e *Engine) SubmitVerification(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.submitAddressFlow(w, r, Verification))
}

// submitAddressFlow decides the answer to a recovery or verification
// submission.
func (e *Engine) submitAddressFlow(w http.ResponseWriter, r *http.Request, k Kind) answer {
	if !e.addressFlowEnabled(k) {
		return requestError(r, errAddressFlowDisabled(k))
	}
	f, err := e.loadForSubmit(r, k)
	if err != nil {
		return requestError(r, err)
	}
	if f.IsExpired(e.now()) {
		return e.replaceExpired(w, r, f)
	}
	b, err := e.decode(r)
	if err != nil {
		return e.failure(r, f, nil, err)
	}
	// A link from an email carries its own secret (the token). Whatever the
	// HTTP method, body or Accept header, a submission with a token is the
	// link being used: the token decides the outcome whatever state the flow
	// is in (a used link is invalid, not "already completed"), there is no
	// form token to check (links are opened by plain navigation, and admin
	// recovery links are posted by other servers), and the answer is a
	// redirect, as in Kratos.
	linker := e.linkConsumer(k)
	if t := r.URL.Query().Get("token"); t != "" && b.String("token") == "" {
		// A link posted rather than opened keeps its token in the query.
		if b.values == nil {
			b.values = map[string]any{}
		}
		b.values["token"] = t
	}
	byLink := linker != nil && b.String("token") != ""
	if !byLink {
		if err := e.checkSubmitOrigin(r, f, b); err != nil {
			return e.failure(r, f, b, err)
		}
		switch f.State {
		case StateChooseMethod, StateSentEmail:
		case StatePassedChallenge:
			if k == Recovery {
				return e.retryWithMessage(w, r, f, f.Type, ui.ErrRecoveryRetrySuccess())
			}
			return e.retryWithMessage(w, r, f, f.Type, ui.ErrVerificationRetrySuccess())
		default:
			if k == Recovery {
				return e.retryWithMessage(w, r, f, f.Type, ui.ErrRecoveryStateFailure())
			}
			return e.retryWithMessage(w, r, f, f.Type, ui.ErrVerificationStateFailure())
		}
	}
	method := b.Method()
	if byLink {
		method = linker.ID()
	}
	var res *Result
	var used Method
	if k == Recovery {
		used, err = dispatch(e.RecoveryMethods, method, b, func(m RecoveryMethod) (err error) {
			res, err = m.Recover(r.Context(), r, f, b)
			return err
		})
	} else {
		// Once a link proved the address, the flow has passed its challenge
		// and is stored so; then the after-verification hooks run, and only
		// then is the address marked verified (as in Kratos).
		verified := func(ctx context.Context, i *identity.Identity) error {
			if f.Type == TypeBrowser {
				// The link may be opened in another browser than the one that
				// asked for it (or, after registration, than the one that
				// signed up): the flow now belongs to the browser that proved
				// the address, so that its UI can show the result.
				token := e.CSRF.EnsureToken(w, r)
				f.CSRFTokenHash = csrf.Hash(token)
				f.UI.SetCSRF(csrf.Mask(token))
			}
			f.Active = method
			f.UpdatedAt = e.stamp()
			if err := e.Store.UpdateFlow(ctx, f); err != nil {
				return err
			}
			if e.Hooks == nil {
				return nil
			}
			return e.Hooks.After(ctx, r, f, method, i, e.Config.AfterHooks(config.FlowVerification, method))
		}
		used, err = dispatch(e.VerificationMethods, method, b, func(m VerificationMethod) error {
			return m.Verify(r.Context(), r, f, b, verified)
		})
	}
	if used == nil {
		return e.failure(r, f, b, NewFormError("", ui.ErrNoStrategy(string(k))))
	}
	var expired *ExpiredError
	if errors.As(err, &expired) {
		old := *f
		old.ExpiresAt = expired.ExpiredAt
		return e.replaceExpired(w, r, &old)
	}
	var retry *RetryError
	if errors.As(err, &retry) {
		t := f.Type
		if byLink {
			// Links are opened in browsers, whatever flow they came from.
			t = TypeBrowser
		}
		return e.retryWithMessage(w, r, f, t, retry.Text)
	}
	if err != nil {
		return e.failure(r, f, b, err)
	}
	f.Active = used.ID()
	metrics.NoteFlow(r.Context(), f.Active, "")
	if res != nil && res.Identity != nil {
		return e.finishRecovery(w, r, f, b, res.Identity, res.authMethod(used))
	}
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(r.Context(), f); err != nil {
		return e.failure(r, f, b, err)
	}
	if byLink && k == Verification && f.State == StatePassedChallenge {
		def := uiOrDefault(e.Config.AfterReturnURL(config.FlowVerification), e.UIRedirectURL(Verification, f.ID))
		to, err := e.returnTo.Target(f, def)
		if err != nil {
			return errorUIAnswer(err)
		}
		return redirectAnswer(to, http.StatusSeeOther)
	}
	if byLink || isHTML(r, f) {
		return redirectAnswer(e.UIRedirectURL(k, f.ID), http.StatusSeeOther)
	}
	return flowAnswer(f, http.StatusOK)
}

// finishRecovery signs the recovered identity in and opens a privileged
// settings flow, where the user is asked to set a new password. As in
// Kratos, the after-recovery hooks run once the session is issued and the
// settings flow exists: a failing hook fails the request, but the session
// stays.
func (e *Engine) finishRecovery(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, i *identity.Identity, meth session.AuthenticationMethod) answer {
	ctx := r.Context()
	if !i.IsActive() {
		return e.failure(r, f, b, errIdentityDisabled())
	}
	// A recovery starts the browser on a fresh anti-CSRF cookie, which the
	// recovery flow and the new settings flow are bound to.
	token := e.CSRF.Regenerate(w)
	f.State = StatePassedChallenge
	f.IdentityID.UUID, f.IdentityID.Valid = i.ID, true
	f.CSRFTokenHash = csrf.Hash(token)
	f.UI.SetCSRF(csrf.Mask(token))
	f.UpdatedAt = e.stamp()
	if err := e.Store.UpdateFlow(ctx, f); err != nil {
		return e.failure(r, f, b, err)
	}
	s := e.Sessions.New(i, meth)
	if err := e.Sessions.Persist(ctx, s); err != nil {
		return e.failure(r, f, b, err)
	}
	e.Sessions.SetCookie(w, s)
	// The settings flow is built from the request as the browser will send
	// it from now on: with the new anti-CSRF cookie.
	sr := r.Clone(ctx)
	sr.Header = r.Header.Clone()
	sr.Header.Set("Cookie", (&http.Cookie{Name: e.CSRF.CookieName(), Value: e.CSRF.CookieValue(token)}).String())
	sf := e.newFlow(w, sr, Settings, TypeBrowser)
	sf.RequestURL = f.RequestURL
	sf.IdentityID.UUID, sf.IdentityID.Valid = i.ID, true
	if err := e.populate(sr, sf, nil); err != nil {
		return e.failure(r, f, b, err)
	}
	max := e.Config.PrivilegedSessionMaxAge
	sf.UI.AddMessage(ui.InfoRecoverySuccessful(s.AuthenticatedAt.Add(max)))
	if err := e.Store.CreateFlow(ctx, sf); err != nil {
		return e.failure(r, f, b, err)
	}
	hooks := e.Config.AfterHooks(config.FlowRecovery, f.Active)
	if err := e.runBuiltinHooks(r, f, i, s, f.Active, hooks); err != nil {
		return e.failure(r, f, b, err)
	}
	if err := e.credentialChanged(r, i, s, AccountRecovered); err != nil {
		return e.failure(r, f, b, err)
	}
	if e.Hooks != nil {
		if err := e.Hooks.After(ctx, r, f, f.Active, i, hooks); err != nil {
			return e.failure(r, f, b, err)
		}
	}
	return redirectAnswer(e.UIRedirectURL(Settings, sf.ID), http.StatusSeeOther)
}

// linkConsumer is the method of kind k that takes link tokens, if any.
func (e *Engine) linkConsumer(k Kind) LinkConsumer {
	var candidates []Method
	if k == Recovery {
		for _, m := range e.RecoveryMethods {
			candidates = append(candidates, m)
		}
	} else {
		for _, m := range e.VerificationMethods {
			candidates = append(candidates, m)
		}
	}
	for _, m := range candidates {
		if lc, ok := m.(LinkConsumer); ok && lc.ConsumesLinkTokens() {
			return lc
		}
	}
	return nil
}
