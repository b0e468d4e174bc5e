package flow

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// flowFor creates a flow for a message sent on the user's behalf (the
// verification mail after registration, an admin recovery link). It writes
// no cookies: the flow is bound to the request's anti-CSRF cookie when there
// is one.
func (e *Engine) flowFor(r *http.Request, k Kind, t Type, lifespan time.Duration) (*Flow, error) {
	now := e.stamp()
	if lifespan <= 0 {
		lifespan = e.lifespan(k)
	}
	f := &Flow{
		ID: uuid.New(), Kind: k, Type: t, IssuedAt: now, ExpiresAt: now.Add(lifespan),
		RequestURL: requestURL(r), CreatedAt: now, UpdatedAt: now, RequestedAAL: identity.AAL1,
		State: StateChooseMethod,
	}
	f.UI = ui.NewContainer(e.PublicURL("/self-service/"+string(k), url.Values{"flow": {f.ID.String()}}))
	token := ""
	if t == TypeBrowser {
		if raw, ok := e.CSRF.CookieToken(r); ok {
			f.CSRFTokenHash = csrf.Hash(raw)
			token = csrf.Mask(raw)
		}
	}
	f.UI.SetCSRF(token)
	if err := e.populate(r, f, nil); err != nil {
		return nil, err
	}
	return f, nil
}

// sendVerification sends a verification message for every pending
// verifiable address of i (after registration and settings). Failures are
// logged: the flow that triggered them has succeeded already.
func (e *Engine) sendVerification(ctx context.Context, r *http.Request, i *identity.Identity, trigger *Flow) {
	if !e.Config.Kinds[Verification].Enabled || len(e.VerificationMethods) == 0 {
		return
	}
	m := e.VerificationMethods[0]
	for k := range i.VerifiableAddresses {
		a := &i.VerifiableAddresses[k]
		if a.Status != identity.AddressStatusPending {
			continue
		}
		// The verification flow has the type of the flow that triggered it:
		// a native app that signed up shows it without a browser's cookies.
		t := TypeBrowser
		if trigger != nil && trigger.Type == TypeAPI {
			t = TypeAPI
		}
		f, err := e.flowFor(r, Verification, t, 0)
		if err == nil {
			// The verification flow returns where the triggering flow was
			// asked to go after verification.
			if rt := afterVerificationReturnTo(trigger); rt != "" {
				f.RequestURL = addQuery(f.RequestURL, "return_to", rt)
			}
			f.State = StateSentEmail
			f.Active = m.ID()
			err = e.Store.CreateFlow(ctx, f)
		}
		if err == nil {
			err = m.SendVerification(ctx, r, f, i, a)
		}
		if err != nil {
			e.Logger.Error("could not send a verification message", "error", err)
		}
	}
}

func afterVerificationReturnTo(f *Flow) string {
	if f == nil {
		return ""
	}
	u, err := url.Parse(f.RequestURL)
	if err != nil {
		return ""
	}
	return u.Query().Get("after_verification_return_to")
}

// AdminRecoveryLink serves POST /admin/recovery/link: a link that recovers
// an identity, for support staff to hand over.
func (e *Engine) AdminRecoveryLink(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.adminRecoveryLink(r))
}

func (e *Engine) adminRecoveryLink(r *http.Request) answer {
	var linker RecoveryLinkMethod
	for _, m := range e.RecoveryMethods {
		if l, ok := m.(RecoveryLinkMethod); ok {
			linker = l
		}
	}
	if linker == nil {
		return envelopeAnswer(httpx.NotFound("This endpoint was disabled by system administrator. Please check your url or contact the system administrator to enable it."))
	}
	var body struct {
		IdentityID string `json:"identity_id"`
		ExpiresIn  string `json:"expires_in"`
	}
	if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{}); err != nil {
		return envelopeAnswer(err)
	}
	id, err := uuid.Parse(body.IdentityID)
	if err != nil {
		return envelopeAnswer(httpx.BadRequest("The identity_id is missing or is not a valid UUID."))
	}
	lifespan := linker.LinkLifespan()
	if body.ExpiresIn != "" {
		d, err := time.ParseDuration(body.ExpiresIn)
		if err != nil || d <= 0 {
			return envelopeAnswer(httpx.BadRequest(fmt.Sprintf("expires_in must be a positive duration such as 1h or 30m, got %q.", body.ExpiresIn)))
		}
		lifespan = d
	}
	i, err := e.Identities.Get(r.Context(), id, false)
	if identity.IsNotFound(err) {
		return envelopeAnswer(httpx.BadRequest("The requested identity does not exist."))
	}
	if err != nil {
		return envelopeAnswer(err)
	}
	f, err := e.flowFor(r, Recovery, TypeBrowser, lifespan)
	if err != nil {
		return envelopeAnswer(err)
	}
	f.RequestURL = e.PublicURL("/self-service/recovery/browser", nil)
	if err := e.Store.CreateFlow(r.Context(), f); err != nil {
		return envelopeAnswer(err)
	}
	link, err := linker.CreateRecoveryLink(r.Context(), f, i)
	if err != nil {
		return envelopeAnswer(err)
	}
	return documentAnswer(map[string]any{"recovery_link": link, "expires_at": f.ExpiresAt})
}
