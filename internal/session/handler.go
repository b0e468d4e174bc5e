package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
)

func queryEscape(s string) string { return url.QueryEscape(s) }

// Handler serves the session endpoints of both ports.
type Handler struct {
	m *Manager
}

// NewHandler wires the session endpoints.
func NewHandler(m *Manager) *Handler { return &Handler{m: m} }

// errNoValidSession is whoami's 401: deliberately without an error id, as in
// Kratos.
func errNoValidSession() *httpx.Error {
	return httpx.Unauthorized("No valid session cookie found.")
}

// ErrSessionInactive is the 401 of endpoints that require a session.
func ErrSessionInactive() *httpx.Error {
	return httpx.Unauthorized("No active session was found in this request.").
		WithID("session_inactive").
		WithMessage("request does not have a valid authentication session")
}

// Whoami answers GET /sessions/whoami (and the other methods Kratos
// accepts there) with the caller's session.
func (h *Handler) Whoami(w http.ResponseWriter, r *http.Request) {
	token, _ := h.m.TokenFromRequest(r)
	e, err := h.m.lookup(r.Context(), token)
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			err = errNoValidSession()
		}
		httpx.WriteError(w, r, err)
		return
	}
	s := e.session // shared with the cache: read only
	if !AALSatisfied(s, RequiredAAL(h.m.cfg.WhoamiRequiredAAL, s.Identity)) {
		httpx.WriteError(w, r, h.m.ErrAAL2Required(""))
		return
	}
	h.m.ReplaceKratosCookie(w, r)
	hdr := w.Header()
	hdr["X-Kratos-Authenticated-Identity-Id"] = []string{s.Identity.ID.String()}
	hdr["Content-Type"] = []string{"application/json; charset=utf-8"}
	if e.whoami != nil {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(e.whoami)
		return
	}
	buf := whoamiBuffers.Get().(*[]byte)
	*buf = append(s.AppendJSON((*buf)[:0]), '\n')
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(*buf)
	if cap(*buf) <= 64<<10 {
		whoamiBuffers.Put(buf)
	}
}

// whoamiBuffers recycle the answer buffers of the session check.
var whoamiBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// current returns the caller's session or writes the 401.
func (h *Handler) current(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	s, err := h.m.FromRequest(r.Context(), r)
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			err = errNoValidSession()
		}
		httpx.WriteError(w, r, err)
		return nil, false
	}
	return s, true
}

// List answers GET /sessions: the caller's other active sessions.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	s, ok := h.current(w, r)
	if !ok {
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	active := true
	list, err := h.m.store.ListSessions(r.Context(), s.IdentityID, ListFilter{Active: &active, Except: s.ID}, page.Offset(), page.PerPage)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	h.writeList(w, list, s.Identity)
}

func (h *Handler) writeList(w http.ResponseWriter, list []*Session, i *identity.Identity) {
	if list == nil {
		list = []*Session{}
	}
	pub := i.Public()
	for _, s := range list {
		s.Identity = pub
	}
	httpx.WriteJSON(w, http.StatusOK, list)
}

// RevokeOthers answers DELETE /sessions: revokes every other session of the
// caller.
func (h *Handler) RevokeOthers(w http.ResponseWriter, r *http.Request) {
	s, ok := h.current(w, r)
	if !ok {
		return
	}
	n, err := h.m.RevokeOthers(r.Context(), s.IdentityID, s.ID)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"count": n})
}

// RevokeOne answers DELETE /sessions/{id}. The id "whoami" is the whoami
// endpoint, as in Kratos' router.
func (h *Handler) RevokeOne(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") == "whoami" {
		h.Whoami(w, r)
		return
	}
	s, ok := h.current(w, r)
	if !ok {
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("%q is not a valid session id (a UUID was expected).", r.PathValue("id"))))
		return
	}
	if id == s.ID {
		httpx.WriteError(w, r, httpx.BadRequest("You tried to revoke the session you are using; use the logout endpoints to end it."))
		return
	}
	if err := h.m.RevokeByID(r.Context(), s.IdentityID, id); err != nil && !identity.IsNotFound(err) {
		httpx.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AdminList answers GET /admin/identities/{id}/sessions?active=.
func (h *Handler) AdminList(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("%q is not a valid identity id (a UUID was expected).", r.PathValue("id"))))
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	var f ListFilter
	if v := r.URL.Query().Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("The query parameter active must be true or false, got %q.", v)))
			return
		}
		f.Active = &b
	}
	list, err := h.m.store.ListSessions(r.Context(), id, f, page.Offset(), page.PerPage)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if list == nil {
		list = []*Session{}
	}
	for _, s := range list {
		s.Identity = h.m.expose(s.Identity).Public()
	}
	httpx.WriteJSON(w, http.StatusOK, list)
}

// AdminDelete answers DELETE /admin/identities/{id}/sessions: deletes every
// session of the identity (404 when there was none).
func (h *Handler) AdminDelete(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		httpx.WriteError(w, r, httpx.BadRequest(fmt.Sprintf("%q is not a valid identity id (a UUID was expected).", r.PathValue("id"))))
		return
	}
	n, err := h.m.DeleteAll(r.Context(), id)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if n == 0 {
		httpx.WriteError(w, r, httpx.NotFound("The identity has no sessions.").WithMessage("Unable to locate the resource"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
