// Package selfui is Hoplite's built-in self-service UI: sign in, sign up,
// account settings, recovery, verification, error and a signed-in home
// page, rendered on the server with html/template from the flows' forms
// (through the engine's View API, without HTTP calls back to Hoplite). It
// works without JavaScript except for security keys, which load the real
// webauthn.js script node. Everything it serves is embedded; nothing is
// loaded from elsewhere.
package selfui

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/csrf"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Flows is what the pages need from the flow engine.
type Flows interface {
	View(r *http.Request, k flow.Kind, id uuid.UUID) (*flow.Flow, error)
	StoredError(ctx context.Context, id uuid.UUID) (*flow.ErrorContainer, error)
}

// Sessions is what the home page needs from the session manager.
type Sessions interface {
	FromRequest(ctx context.Context, r *http.Request) (*session.Session, error)
	TokenFromRequest(r *http.Request) (token string, fromCookie bool)
	LogoutToken(sessionToken string) string
	ListActive(ctx context.Context, identityID, except uuid.UUID, limit int) ([]*session.Session, error)
	RevokeOthers(ctx context.Context, identityID, keep uuid.UUID) (int, error)
}

// Outbox lists the mails kept in development mode (courier.Outbox).
type Outbox interface {
	Mails() []courier.OutboxMail
}

// Config are the pages' settings.
type Config struct {
	// BasePath is where the pages live on the public port ("/ui").
	BasePath string
	// PublicURL is the public base URL; flows start under it.
	PublicURL *url.URL
	// Registration, Recovery and Verification say which flows are on, for
	// the links between pages.
	Registration, Recovery, Verification bool
	// Stylesheet, when set, is a CSS file on disk served instead of the
	// built-in one.
	Stylesheet string
}

// Handler serves the pages.
type Handler struct {
	cfg      Config
	flows    Flows
	sessions Sessions
	csrf     *csrf.Manager
	outbox   Outbox
	catalog  *Catalog
	logger   *slog.Logger
	pages    map[string]*template.Template
	static   http.Handler
}

// New builds the handler; outbox is nil outside development mode.
func New(cfg Config, flows Flows, sessions Sessions, csrfManager *csrf.Manager, outbox Outbox, logger *slog.Logger) (*Handler, error) {
	cat, err := LoadCatalog("en")
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, flows: flows, sessions: sessions, csrf: csrfManager, outbox: outbox, catalog: cat, logger: logger,
		pages: map[string]*template.Template{}}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	for _, p := range []string{"flow", "error", "home", "mail"} {
		t, err := template.New(p).ParseFS(templateFiles, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		h.pages[p] = t
	}
	sub, _ := fs.Sub(staticFiles, "static")
	h.static = http.StripPrefix(cfg.BasePath+"/static/", http.FileServerFS(sub))
	return h, nil
}

// BasePath is where the pages live.
func (h *Handler) BasePath() string { return h.cfg.BasePath }

// HasOutbox reports whether the dev mail page exists.
func (h *Handler) HasOutbox() bool { return h.outbox != nil }

type link struct{ Href, Text string }

// page is what every template gets.
type page struct {
	Title string
	Intro string
	Base  string
	Nonce string
	Form  *form
	Links []link

	ErrorText, ErrorDetail string

	Notes      []message
	Who        string
	IdentityID string
	AAL        string
	Addresses  []identity.VerifiableAddress
	Since      string
	Others     []string
	CSRF       string

	Mails []mailView
}

type mailView struct {
	To, Subject, Body, At string
	Links                 []string
}

func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secure sets the headers every page needs: a strict
// Content-Security-Policy (scripts only from this origin and with the page's
// nonce, no inline script or style, no framing), no caching of pages that
// carry anti-CSRF tokens, and no sniffing or referrers to other sites.
func secure(w http.ResponseWriter, nonce string) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'nonce-"+nonce+"'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p *page) {
	if p.Base == "" {
		p.Base = h.cfg.BasePath
	}
	secure(w, p.Nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf strings.Builder
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.logger.Error("selfui: rendering a page failed", "page", name, "error", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// public is an absolute URL on the public port.
func (h *Handler) public(path string, q url.Values) string {
	u := *h.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

// initURL starts a new browser flow of kind k, carrying over the query
// parameters that shape it.
func (h *Handler) initURL(k flow.Kind, r *http.Request) string {
	q := url.Values{}
	in := r.URL.Query()
	for _, key := range []string{"return_to", "refresh", "aal", "after_verification_return_to"} {
		if v := in.Get(key); v != "" && (k == flow.Login || (key != "refresh" && key != "aal")) {
			q.Set(key, v)
		}
	}
	return h.public("/self-service/"+string(k)+"/browser", q)
}

// Static serves the embedded stylesheet and script (or the operator's
// stylesheet).
func (h *Handler) Static(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=300")
	if h.cfg.Stylesheet != "" && r.URL.Path == h.cfg.BasePath+"/static/style.css" {
		css, err := os.ReadFile(h.cfg.Stylesheet)
		if err != nil {
			h.logger.Error("selfui: ui.stylesheet cannot be read", "error", err)
			http.Error(w, "stylesheet unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write(css)
		return
	}
	h.static.ServeHTTP(w, r)
}

// Root sends / to the home page.
func (h *Handler) Root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, h.cfg.BasePath+"/", http.StatusSeeOther)
}

var kindPages = map[flow.Kind]struct{ title, intro string }{
	flow.Login:        {"Sign in", ""},
	flow.Registration: {"Create your account", ""},
	flow.Settings:     {"Account settings", "Change your profile, your password and how you sign in."},
	flow.Recovery:     {"Recover your account", "Enter your email address and we will send you a link to get back into your account."},
	flow.Verification: {"Verify your email address", "Enter your email address and we will send you a verification link."},
}

// Flow serves the page of flow kind k: /<base>/<kind>?flow=<id>. Without a
// flow, or with one that expired or is unknown, it starts a new flow.
func (h *Handler) Flow(k flow.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.URL.Query().Get("flow"))
		if err != nil {
			http.Redirect(w, r, h.initURL(k, r), http.StatusSeeOther)
			return
		}
		f, err := h.flows.View(r, k, id)
		if err != nil {
			h.flowError(w, r, k, err)
			return
		}
		nonce := newNonce()
		fm, err := buildForm(f.UI, string(k), h.catalog)
		if err != nil {
			h.renderError(w, r, http.StatusInternalServerError, "This page could not be shown.", "")
			return
		}
		for i := range fm.Forms {
			for j := range fm.Forms[i].Sections {
				for n := range fm.Forms[i].Sections[j].Fields {
					fm.Forms[i].Sections[j].Fields[n].Nonce = nonce
				}
			}
		}
		p := &page{Title: kindPages[k].title, Intro: kindPages[k].intro, Nonce: nonce, Form: fm}
		switch k {
		case flow.Login:
			if f.Refresh {
				p.Title = "Confirm it is you"
			}
			if f.RequestedAAL == identity.AAL2 {
				p.Title = "Second step"
			}
			if h.cfg.Registration {
				p.Links = append(p.Links, link{h.initURL(flow.Registration, r), "Create an account"})
			}
			if h.cfg.Recovery {
				p.Links = append(p.Links, link{h.initURL(flow.Recovery, r), "Forgot your password?"})
			}
		case flow.Registration:
			p.Links = append(p.Links, link{h.initURL(flow.Login, r), "Already have an account? Sign in"})
		case flow.Settings:
			p.Links = append(p.Links, link{h.cfg.BasePath + "/", "Back to your account"})
		case flow.Recovery, flow.Verification:
			p.Links = append(p.Links, link{h.initURL(flow.Login, r), "Back to sign in"})
		}
		h.render(w, http.StatusOK, "flow", p)
	}
}

// flowError answers a flow that cannot be shown: expired or unknown flows
// start again, a missing session goes to sign in, the rest is explained.
func (h *Handler) flowError(w http.ResponseWriter, r *http.Request, k flow.Kind, err error) {
	he := httpx.As(err)
	switch {
	case he.Code == http.StatusGone || he.Code == http.StatusNotFound:
		http.Redirect(w, r, h.initURL(k, r), http.StatusSeeOther)
	case he.Code == http.StatusUnauthorized:
		back := h.public(h.cfg.BasePath+"/"+string(k), r.URL.Query())
		http.Redirect(w, r, h.public("/self-service/login/browser", url.Values{"return_to": {back}}), http.StatusSeeOther)
	case he.ID == "session_aal2_required":
		http.Redirect(w, r, h.public("/self-service/login/browser", url.Values{"aal": {identity.AAL2}}), http.StatusSeeOther)
	case he.ID == "security_csrf_violation":
		h.renderError(w, r, http.StatusForbidden, "This form was opened in another browser or its security cookie is gone. Please start again.", "")
	case he.Code >= 500:
		h.logger.Error("selfui: a flow could not be loaded", "error", err)
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.", "")
	default:
		h.renderError(w, r, he.Code, firstNonEmpty(he.Reason, he.Message), "")
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, text, detail string) {
	p := &page{Title: "Something went wrong", Nonce: newNonce(), ErrorText: text, ErrorDetail: detail,
		Links: []link{{h.cfg.BasePath + "/", "Start again"}}}
	h.render(w, status, "error", p)
}

// Error serves the error page: /<base>/error?id=<stored error>.
func (h *Handler) Error(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.URL.Query().Get("id"))
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "This error does not exist.", "")
		return
	}
	ec, err := h.flows.StoredError(r.Context(), id)
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "This error does not exist or was removed.", "")
		return
	}
	var body struct {
		ID      string `json:"id"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(ec.Error, &body)
	text := firstNonEmpty(body.Reason, body.Message, "Something went wrong.")
	switch body.ID {
	case "security_csrf_violation":
		text = "This form was opened in another browser or its security cookie is gone. Please start again."
	case "self_service_flow_return_to_forbidden":
		text = "The page you were sent from is not allowed to receive you back."
	}
	detail := ""
	if body.Reason != "" && body.Message != "" && body.Reason != text {
		detail = body.Message
	}
	h.renderError(w, r, http.StatusOK, text, detail)
}

// Home is the signed-in home page: who you are, your sessions, sign out.
func (h *Handler) Home(w http.ResponseWriter, r *http.Request) {
	s, err := h.sessions.FromRequest(r.Context(), r)
	if errors.Is(err, session.ErrNoSession) || (err == nil && s == nil) {
		http.Redirect(w, r, h.public("/self-service/login/browser", nil), http.StatusSeeOther)
		return
	}
	if err != nil {
		he := httpx.As(err)
		if he.ID == "session_aal2_required" {
			http.Redirect(w, r, h.public("/self-service/login/browser", url.Values{"aal": {identity.AAL2}}), http.StatusSeeOther)
			return
		}
		h.logger.Error("selfui: the session could not be loaded", "error", err)
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.", "")
		return
	}
	p := &page{Title: "Your account", Nonce: newNonce(), IdentityID: s.IdentityID.String(), AAL: s.AAL,
		Since: s.AuthenticatedAt.Format(time.RFC1123)}
	if s.Identity != nil {
		p.Who = displayName(s.Identity)
		p.Addresses = s.Identity.VerifiableAddresses
	}
	others, err := h.sessions.ListActive(r.Context(), s.IdentityID, s.ID, 50)
	if err == nil {
		for _, o := range others {
			p.Others = append(p.Others, o.AuthenticatedAt.Format(time.RFC1123))
		}
	}
	if r.URL.Query().Get("revoked") != "" {
		p.Notes = append(p.Notes, message{Text: "You were signed out everywhere else."})
	}
	p.CSRF = csrf.Mask(h.csrf.EnsureToken(w, r))
	p.Links = []link{{h.public("/self-service/settings/browser", nil), "Account settings"}}
	if h.cfg.Verification {
		for _, a := range p.Addresses {
			if !a.Verified {
				p.Links = append(p.Links, link{h.public("/self-service/verification/browser", nil), "Verify your email address"})
				break
			}
		}
	}
	if token, _ := h.sessions.TokenFromRequest(r); token != "" {
		p.Links = append(p.Links, link{h.public("/self-service/logout", url.Values{"token": {h.sessions.LogoutToken(token)}}), "Sign out"})
	}
	h.render(w, http.StatusOK, "home", p)
}

func displayName(i *identity.Identity) string {
	for _, a := range i.VerifiableAddresses {
		return a.Value
	}
	var traits map[string]any
	if json.Unmarshal(i.Traits, &traits) == nil {
		for _, k := range []string{"email", "username", "phone"} {
			if v, ok := traits[k].(string); ok && v != "" {
				return v
			}
		}
	}
	return i.ID.String()
}

// RevokeOthers signs the identity out of every other session (a form on
// the home page, protected by the anti-CSRF token).
func (h *Handler) RevokeOthers(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, http.StatusBadRequest, "The form could not be read.", "")
		return
	}
	if err := h.csrf.Check(r, r.PostForm.Get("csrf_token")); err != nil {
		h.renderError(w, r, http.StatusForbidden, "This form was opened in another browser or its security cookie is gone. Please start again.", "")
		return
	}
	s, err := h.sessions.FromRequest(r.Context(), r)
	if err != nil || s == nil {
		http.Redirect(w, r, h.public("/self-service/login/browser", nil), http.StatusSeeOther)
		return
	}
	if _, err := h.sessions.RevokeOthers(r.Context(), s.IdentityID, s.ID); err != nil {
		h.logger.Error("selfui: revoking other sessions failed", "error", err)
		h.renderError(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.", "")
		return
	}
	http.Redirect(w, r, h.cfg.BasePath+"/?revoked=1", http.StatusSeeOther)
}

var linkPattern = regexp.MustCompile(`https?://[^\s"'<>]+`)

// Mail is the dev mail page: the mails the courier would have sent.
func (h *Handler) Mail(w http.ResponseWriter, r *http.Request) {
	if h.outbox == nil {
		http.NotFound(w, r)
		return
	}
	p := &page{Title: "Mail (development)", Nonce: newNonce()}
	for _, m := range h.outbox.Mails() {
		p.Mails = append(p.Mails, mailView{To: m.To, Subject: m.Subject, Body: m.Body, At: m.At.Format(time.RFC1123),
			Links: linkPattern.FindAllString(m.Body, -1)})
	}
	h.render(w, http.StatusOK, "mail", p)
}
