package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// FormItems turns errors that belong on the form into messages: method
// FormErrors, schema validation errors, and 400 API errors (shown as one
// generic 4000001 message with the reason, as Kratos does).
func FormItems(err error) ([]FormErrorItem, bool) {
	var fe *FormError
	if errors.As(err, &fe) {
		return fe.Items, true
	}
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		var items []FormErrorItem
		for _, c := range ve.Causes {
			field := c.Field
			if field == "traits" {
				field = ""
			}
			if c.Missing {
				items = append(items, FormErrorItem{Field: field, Text: ui.ErrMissingProperty(c.Property)})
			} else {
				items = append(items, FormErrorItem{Field: field, Text: ui.ErrValidation(c.Message)})
			}
		}
		return items, true
	}
	var he *httpx.Error
	var ii interface{ InvalidReason() string }
	if !errors.As(err, &he) && errors.As(err, &ii) {
		he = httpx.As(err)
	}
	if he != nil && he.Code == http.StatusBadRequest {
		reason := he.Reason
		if reason == "" {
			reason = he.Message
		}
		return []FormErrorItem{{Text: ui.ErrValidation(reason)}}, true
	}
	return nil, false
}

// fail answers a failed submission of flow f (b is the decoded body, or
// nil). Form errors are shown on the flow: 400 with the flow for API and
// JSON clients, a redirect back to the form for browsers. Other errors are
// answered as JSON errors, or shown on the error UI.
func (e *Engine) fail(w http.ResponseWriter, r *http.Request, f *Flow, b *Body, err error) {
	method := f.Active
	if method == "" && b != nil {
		method = b.Method()
	}
	metrics.NoteFlow(r.Context(), method, metrics.Failure)
	if f.Kind == Settings && identity.IsNotFound(err) {
		// The identity was deleted while the submission ran, and its
		// sessions and flows with it: answer as to a request without a
		// session.
		e.answerNoSettingsSession(w, r, f)
		return
	}
	items, isForm := FormItems(err)
	// Errors that carry a safe reason but no status (a failed web hook) are
	// answered as Kratos does: 400 on API flows, 500 otherwise.
	var pr interface{ PublicReason() string }
	var he *httpx.Error
	if !isForm && !errors.As(err, &he) && errors.As(err, &pr) {
		code := http.StatusInternalServerError
		if f.Type == TypeAPI {
			code = http.StatusBadRequest
		}
		err = httpx.New(code).WithReason(pr.PublicReason()).WithCause(err)
		if f.Type == TypeAPI {
			// 400s render onto the form; this one is an error document.
			httpx.WriteError(w, r, err)
			return
		}
	}
	if !isForm {
		if f.Type == TypeAPI || httpx.IsJSONRequest(r) {
			httpx.WriteError(w, r, err)
			return
		}
		e.ForwardError(w, r, err)
		return
	}
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
	if fe := (*FormError)(nil); errors.As(err, &fe) && fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", httpx.RetryAfterValue(fe.RetryAfter))
	}
	if f.Kind == Settings && f.Identity == nil && f.IdentityID.Valid && !isHTML(r, f) {
		// A settings flow always carries its identity (required by the
		// API's selfServiceSettingsFlow model; SDKs reject null). Show the
		// identity as stored, not as the failed submission would have
		// changed it, as Kratos does.
		i, ierr := e.Identities.Get(r.Context(), f.IdentityID.UUID, false)
		if identity.IsNotFound(ierr) {
			e.answerNoSettingsSession(w, r, f) // deleted meanwhile, as above
			return
		}
		if ierr != nil {
			httpx.WriteError(w, r, ierr)
			return
		}
		f.Identity = i
	}
	f.UpdatedAt = e.stamp()
	if uerr := e.Store.UpdateFlow(r.Context(), f); uerr != nil {
		if f.Kind == Settings && identity.IsNotFound(uerr) {
			e.answerNoSettingsSession(w, r, f) // deleted meanwhile, as above
			return
		}
		httpx.WriteError(w, r, uerr)
		return
	}
	if isHTML(r, f) {
		code := http.StatusSeeOther
		if f.Kind == Registration {
			code = http.StatusFound // Kratos' registration quirk
		}
		redirect(w, r, e.UIRedirectURL(f.Kind, f.ID), code)
		return
	}
	httpx.WriteJSON(w, http.StatusBadRequest, f)
}

// refill puts submitted values back into the form's inputs (except hidden
// and button inputs, whose values are fixed).
func refill(c *ui.Container, b *Body) {
	for k := range c.Nodes {
		in := c.Nodes[k].Input()
		if in == nil || in.Type == ui.InputSubmit || in.Type == ui.InputButton || in.Name == ui.CSRFTokenName {
			continue
		}
		if v, ok := b.Value(in.Name); ok {
			if _, isMap := v.(map[string]any); isMap {
				continue
			}
			if b.FromForm && in.Type == ui.InputNumber {
				if s, ok := v.(string); ok {
					in.Value = s
					continue
				}
			}
			in.Value = v
		}
	}
}

// ForwardError stores err for the error UI and redirects the browser there.
func (e *Engine) ForwardError(w http.ResponseWriter, r *http.Request, err error) {
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
		httpx.WriteError(w, r, serr)
		return
	}
	redirect(w, r, addQuery(e.Config.ErrorUIURL, "id", ec.ID.String()), http.StatusSeeOther)
}

// ErrorsHandler serves GET /self-service/errors?id= (the error UI fetches
// the stored error by id; ?error= is accepted too).
func (e *Engine) ErrorsHandler(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("id")
	if raw == "" {
		raw = r.URL.Query().Get("error")
	}
	if raw == "stub:500" {
		now := e.stamp()
		stub, _ := json.Marshal(httpx.Body{
			Code: 500, Status: "Internal Server Error", Reason: "This is a stub error.",
			Message: "An internal server error occurred, please contact the system administrator",
		})
		httpx.WriteJSON(w, http.StatusOK, &ErrorContainer{ID: uuid.Nil, Error: stub, CreatedAt: now, UpdatedAt: now})
		return
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		httpx.WriteError(w, r, httpx.NotFound("The id query parameter is missing or is not a valid error id.").WithMessage("Unable to locate the resource"))
		return
	}
	ec, err := e.Store.GetSelfServiceError(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, httpx.NotFound("This error does not exist or was removed.").WithMessage("Unable to locate the resource"))
		return
	}
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, ec)
}

// uiOrDefault returns the first non-empty URL.
func uiOrDefault(urls ...string) string {
	for _, u := range urls {
		if strings.TrimSpace(u) != "" {
			return u
		}
	}
	return ""
}

// StoredError returns the stored error with id, as the error UI shows it
// (and marks it seen).
func (e *Engine) StoredError(ctx context.Context, id uuid.UUID) (*ErrorContainer, error) {
	return e.Store.GetSelfServiceError(ctx, id)
}
