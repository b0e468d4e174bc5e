package schema

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

// Handler serves the identity schemas (GET /schemas and /schemas/{id}).
type Handler struct {
	registry *Registry
	baseURL  *url.URL
}

// NewHandler wires the schema endpoints. baseURL is the public base URL the
// pagination links point to.
func NewHandler(r *Registry, baseURL *url.URL) *Handler {
	return &Handler{registry: r, baseURL: baseURL}
}

type listedSchema struct {
	ID     string          `json:"id"`
	Schema json.RawMessage `json:"schema"`
}

// List answers GET /schemas. Unlike the identity list, Kratos pages schemas
// from zero: page=0 is the first page and page=1 the second.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	zeroBased := 0
	if v := r.URL.Query().Get("page"); v != "" {
		zeroBased, _ = strconv.Atoi(v) // ParsePage accepted it: a non-negative integer
	}
	all := h.registry.List()
	start := min(zeroBased*page.PerPage, len(all))
	end := min(start+page.PerPage, len(all))
	out := make([]listedSchema, 0, end-start)
	for _, s := range all[start:end] {
		out = append(out, listedSchema{ID: s.ID, Schema: s.Raw})
	}
	base := *h.baseURL
	base.Path = strings.TrimSuffix(base.Path, "/") + "/schemas"
	httpx.SetPaginationHeaders(w, &base, len(all), zeroBased, page.PerPage, 0)
	httpx.WriteJSON(w, http.StatusOK, out)
}

// Get answers GET /schemas/{id} with the schema document as loaded; id is
// the schema id or its base64url encoding.
func (h *Handler) Get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s, ok := h.registry.Get(id)
	if !ok {
		httpx.WriteError(w, r, httpx.NotFound(fmt.Sprintf("Identity schema %q could not be found.", truncate(id, 64))))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.Raw)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
