package flow

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/session"
)

// logoutError answers a failed browser logout: JSON for JSON clients, the
// error UI otherwise.
func (e *Engine) logoutError(w http.ResponseWriter, r *http.Request, err error) {
	if httpx.IsJSONRequest(r) {
		httpx.WriteError(w, r, err)
		return
	}
	e.ForwardError(w, r, err)
}

// cookieSession returns the session of the request's session cookie (or
// X-Session-Cookie header) and its token.
func (e *Engine) cookieSession(r *http.Request) (*session.Session, string, error) {
	token, fromCookie := e.Sessions.TokenFromRequest(r)
	if !fromCookie {
		return nil, "", session.ErrSessionInactive()
	}
	s, err := e.Sessions.FromToken(r.Context(), token)
	if errors.Is(err, session.ErrNoSession) {
		return nil, "", session.ErrSessionInactive()
	}
	return s, token, err
}

// LogoutURL serves GET /self-service/logout/browser: the URL a browser
// opens to end its session.
func (e *Engine) LogoutURL(w http.ResponseWriter, r *http.Request) {
	_, token, err := e.cookieSession(r)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	lt := e.Sessions.LogoutToken(token)
	q := url.Values{"token": {lt}}
	if rt := r.URL.Query().Get("return_to"); rt != "" {
		q.Set("return_to", rt)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{
		"logout_url":   e.PublicURL("/self-service/logout", q),
		"logout_token": lt,
	})
}

// Logout serves GET /self-service/logout?token=&return_to=.
func (e *Engine) Logout(w http.ResponseWriter, r *http.Request) {
	lt := r.URL.Query().Get("token")
	if lt == "" {
		e.logoutError(w, r, httpx.BadRequest("Please include a token in the URL query."))
		return
	}
	s, token, err := e.cookieSession(r)
	if err != nil {
		e.logoutError(w, r, err)
		return
	}
	if !e.Sessions.ValidLogoutToken(token, lt) {
		e.logoutError(w, r, httpx.Forbidden("Unable to log out because the logout token in the URL query does not match the session cookie."))
		return
	}
	rt, err := e.returnTo.Resolve(r.URL.Query().Get("return_to"))
	if err != nil {
		e.logoutError(w, r, err)
		return
	}
	if err := e.Sessions.Revoke(r.Context(), s); err != nil {
		e.logoutError(w, r, err)
		return
	}
	e.Sessions.ClearCookie(w)
	e.CSRF.Regenerate(w)
	if httpx.IsJSONRequest(r) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	to := uiOrDefault(e.Config.AfterReturnURL(config.FlowLogout), e.Config.DefaultReturnURL)
	if rt != nil {
		to = rt.String()
	}
	redirect(w, r, to, http.StatusSeeOther)
}

// LogoutAPI serves DELETE /self-service/logout/api with {"session_token"}.
func (e *Engine) LogoutAPI(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SessionToken string `json:"session_token"`
	}
	// Other fields are ignored: Kratos decodes this body leniently.
	if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	found, err := e.Sessions.RevokeToken(r.Context(), body.SessionToken)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if !found {
		httpx.WriteError(w, r, httpx.Forbidden("The provided session token could not be found, is not valid, or is malformed."))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
