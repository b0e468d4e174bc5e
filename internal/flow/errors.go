package flow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/httpx"
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

// ErrorsHandler serves GET /self-service/errors?id= (the error UI fetches
// the stored error by id; ?error= is accepted too).
func (e *Engine) ErrorsHandler(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.storedErrorAnswer(r))
}

func (e *Engine) storedErrorAnswer(r *http.Request) answer {
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
		return documentAnswer(&ErrorContainer{ID: uuid.Nil, Error: stub, CreatedAt: now, UpdatedAt: now})
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return envelopeAnswer(httpx.NotFound("The id query parameter is missing or is not a valid error id.").WithMessage("Unable to locate the resource"))
	}
	ec, err := e.Store.GetSelfServiceError(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return envelopeAnswer(httpx.NotFound("This error does not exist or was removed.").WithMessage("Unable to locate the resource"))
	}
	if err != nil {
		return envelopeAnswer(err)
	}
	return documentAnswer(ec)
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
