package audit

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

// Handler serves GET /admin/audit-events.
type Handler struct {
	store    Store
	adminURL *url.URL
}

// NewHandler wires the admin list endpoint.
func NewHandler(st Store, adminURL *url.URL) *Handler {
	return &Handler{store: st, adminURL: adminURL}
}

// List answers a page of events, newest first, with the pagination headers
// of the identity list (Link, X-Total-Count). Filters: identity_id, type,
// since and until (RFC 3339; since inclusive, until exclusive).
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	q := r.URL.Query()
	var f Filter
	if v := q.Get("identity_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			httpx.WriteError(w, r, httpx.BadRequest("The query parameter identity_id must be a UUID."))
			return
		}
		f.IdentityID = uuid.NullUUID{UUID: id, Valid: true}
	}
	if v := q.Get("type"); v != "" {
		if !slices.Contains(Types, v) {
			httpx.WriteError(w, r, httpx.BadRequest("The query parameter type must be one of: "+strings.Join(Types, ", ")+"."))
			return
		}
		f.Type = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil || t.Year() < 1 || t.Year() > 9999 {
				httpx.WriteError(w, r, httpx.BadRequest("The query parameter "+p.name+" must be an RFC 3339 time, like 2006-01-02T15:04:05Z."))
				return
			}
			*p.dst = t.UTC()
		}
	}
	list, total, err := h.store.ListAuditEvents(r.Context(), f, page.Offset(), page.PerPage)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if list == nil {
		list = []Event{}
	}
	base := *h.adminURL
	base.Path = strings.TrimSuffix(base.Path, "/") + "/admin/audit-events"
	keep := url.Values{}
	for _, k := range []string{"identity_id", "type", "since", "until"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
		}
	}
	base.RawQuery = keep.Encode()
	httpx.SetPaginationHeaders(w, &base, total, page.Number, page.PerPage, 1)
	httpx.WriteJSON(w, http.StatusOK, list)
}
