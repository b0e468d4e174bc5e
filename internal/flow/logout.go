package flow

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/session"
)

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
	e.respond(w, r, e.logoutURL(r))
}

func (e *Engine) logoutURL(r *http.Request) answer {
	_, token, err := e.cookieSession(r)
	if err != nil {
		return envelopeAnswer(err)
	}
	if _, err := e.returnTo.Resolve(r.URL.Query().Get("return_to")); err != nil {
		return envelopeAnswer(err)
	}
	lt := e.Sessions.LogoutToken(token)
	q := url.Values{"token": {lt}}
	if rt := r.URL.Query().Get("return_to"); rt != "" {
		q.Set("return_to", rt)
	}
	return documentAnswer(map[string]string{
		"logout_url":   e.PublicURL("/self-service/logout", q),
		"logout_token": lt,
	})
}

// Logout serves GET /self-service/logout?token=&return_to=.
func (e *Engine) Logout(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.logout(w, r))
}

// logout ends a browser's session. Failures are answered as JSON to JSON
// clients and on the error UI otherwise.
func (e *Engine) logout(w http.ResponseWriter, r *http.Request) answer {
	lt := r.URL.Query().Get("token")
	if lt == "" {
		return requestError(r, httpx.BadRequest("Please include a token in the URL query."))
	}
	s, token, err := e.cookieSession(r)
	if err != nil {
		return requestError(r, err)
	}
	if !e.Sessions.ValidLogoutToken(token, lt) {
		return requestError(r, httpx.Forbidden("Unable to log out because the logout token in the URL query does not match the session cookie."))
	}
	rt, err := e.returnTo.Resolve(r.URL.Query().Get("return_to"))
	if err != nil {
		return requestError(r, err)
	}
	if err := e.Sessions.Revoke(r.Context(), s); err != nil {
		return requestError(r, err)
	}
	e.Sessions.ClearCookie(w)
	e.CSRF.Regenerate(w)
	if httpx.IsJSONRequest(r) {
		return answer{kind: answerNoContent}
	}
	to := uiOrDefault(e.Config.AfterReturnURL(config.FlowLogout), e.Config.DefaultReturnURL)
	if rt != nil {
		to = rt.String()
	}
	return redirectAnswer(to, http.StatusSeeOther)
}

// LogoutAPI serves DELETE /self-service/logout/api with {"session_token"}.
func (e *Engine) LogoutAPI(w http.ResponseWriter, r *http.Request) {
	e.respond(w, r, e.logoutAPI(r))
}

func (e *Engine) logoutAPI(r *http.Request) answer {
	var body struct {
		SessionToken string `json:"session_token"`
	}
	// Other fields are ignored: Kratos decodes this body leniently.
	if err := httpx.DecodeJSON(r, &body, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil {
		return envelopeAnswer(err)
	}
	found, err := e.Sessions.RevokeToken(r.Context(), body.SessionToken)
	if err != nil {
		return envelopeAnswer(err)
	}
	if !found {
		return envelopeAnswer(httpx.Forbidden("The provided session token could not be found, is not valid, or is malformed."))
	}
	return answer{kind: answerNoContent}
}
