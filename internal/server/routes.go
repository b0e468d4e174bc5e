// Package server builds Hoplite's two HTTP handlers, public and admin. This
// file is the one place that lists every route of both ports; compare it with
// the API's operation list to see the whole surface at a glance.
package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/selfui"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/webauthnjs"
)

// Deps are the handlers and settings the routes need; internal/app builds
// them.
type Deps struct {
	Logger  *slog.Logger
	Version string

	PublicURL *url.URL
	AdminURL  *url.URL

	PublicMaxBody int64
	AdminMaxBody  int64
	// PublicCORS is serve.public.cors; the admin port has no CORS.
	PublicCORS config.CORS
	// RequestLog configures the request log of both ports.
	RequestLog RequestLog
	// AdminAPIKeyValid, when set, protects every admin route but the
	// health probes.
	AdminAPIKeyValid func(key string) bool
	// Audit records security events (admin API key use); AuditEvents
	// lists them.
	Audit       Auditor
	AuditEvents *audit.Handler

	DB         Database
	Schemas    *schema.Handler
	Identities *identity.AdminHandler
	Sessions   *session.Handler
	Flows      *flow.Engine

	// Metrics, when set, counts requests and flows and is served at
	// /admin/metrics/prometheus; Tracer, when set, traces requests.
	Metrics *metrics.Metrics
	Tracer  trace.Tracer
	// UI is the built-in self-service UI, nil when it is off.
	UI *selfui.Handler
}

// Public returns the handler of the public port.
func Public(d Deps) http.Handler {
	health := &healthHandler{db: d.DB, version: d.Version}
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, noCache(h)) }

	// Health routes are the only ones without the no-cache header, as in Kratos.
	mux.HandleFunc("GET /health/alive", health.alive)
	mux.HandleFunc("GET /health/ready", health.ready(true))

	api("GET /schemas", d.Schemas.List)
	api("GET /schemas/{id}", d.Schemas.Get)
	mux.HandleFunc("GET /.well-known/ory/webauthn.js", webauthnjs.Handler)

	// Self-service flows: init (browser, api), fetch, submit — per kind.
	f := d.Flows
	api("GET /self-service/login/browser", f.InitLogin(flow.TypeBrowser))
	api("GET /self-service/login/api", f.InitLogin(flow.TypeAPI))
	api("GET /self-service/login/flows", f.Fetch(flow.Login))
	api("POST /self-service/login", submission(flow.Login, d.Metrics, d.Tracer, f.SubmitLogin))
	api("GET /self-service/login", submission(flow.Login, d.Metrics, d.Tracer, f.SubmitLogin))

	api("GET /self-service/registration/browser", f.InitRegistration(flow.TypeBrowser))
	api("GET /self-service/registration/api", f.InitRegistration(flow.TypeAPI))
	api("GET /self-service/registration/flows", f.Fetch(flow.Registration))
	api("POST /self-service/registration", submission(flow.Registration, d.Metrics, d.Tracer, f.SubmitRegistration))
	api("GET /self-service/registration", submission(flow.Registration, d.Metrics, d.Tracer, f.SubmitRegistration))

	api("GET /self-service/settings/browser", f.InitSettings(flow.TypeBrowser))
	api("GET /self-service/settings/api", f.InitSettings(flow.TypeAPI))
	api("GET /self-service/settings/flows", f.Fetch(flow.Settings))
	api("POST /self-service/settings", submission(flow.Settings, d.Metrics, d.Tracer, f.SubmitSettings))
	api("GET /self-service/settings", submission(flow.Settings, d.Metrics, d.Tracer, f.SubmitSettings))

	api("GET /self-service/recovery/browser", f.InitRecovery(flow.TypeBrowser))
	api("GET /self-service/recovery/api", f.InitRecovery(flow.TypeAPI))
	api("GET /self-service/recovery/flows", f.Fetch(flow.Recovery))
	api("POST /self-service/recovery", submission(flow.Recovery, d.Metrics, d.Tracer, f.SubmitRecovery))
	api("GET /self-service/recovery", submission(flow.Recovery, d.Metrics, d.Tracer, f.SubmitRecovery))

	api("GET /self-service/verification/browser", f.InitVerification(flow.TypeBrowser))
	api("GET /self-service/verification/api", f.InitVerification(flow.TypeAPI))
	api("GET /self-service/verification/flows", f.Fetch(flow.Verification))
	api("POST /self-service/verification", submission(flow.Verification, d.Metrics, d.Tracer, f.SubmitVerification))
	api("GET /self-service/verification", submission(flow.Verification, d.Metrics, d.Tracer, f.SubmitVerification))

	api("GET /self-service/logout/browser", f.LogoutURL)
	api("GET /self-service/logout", f.Logout)
	api("DELETE /self-service/logout/api", f.LogoutAPI)
	api("GET /self-service/errors", f.ErrorsHandler)

	// Routes of methods that continue flows on pages of their own (the
	// social sign-in callback, /self-service/methods/<method>/…); the
	// engine lists them from the enabled methods.
	for _, rt := range f.CallbackRoutes() {
		mux.Handle(rt.Pattern, noCache(rt.Handler))
	}

	// Sessions. Kratos answers whoami on nearly every method.
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "CONNECT", "OPTIONS", "TRACE"} {
		api(m+" /sessions/whoami", d.Sessions.Whoami)
	}
	api("GET /sessions", d.Sessions.List)
	api("DELETE /sessions", d.Sessions.RevokeOthers)
	api("DELETE /sessions/{id}", d.Sessions.RevokeOne)

	// Admin routes reached on the public port are sent to the admin port.
	toAdmin := redirectTo(d.AdminURL, false)
	for _, p := range []string{"GET /identities", "POST /identities", "GET /admin/identities", "POST /admin/identities",
		"GET /identities/{id}", "PUT /identities/{id}", "DELETE /identities/{id}",
		"GET /admin/identities/{id}", "PUT /admin/identities/{id}", "DELETE /admin/identities/{id}",
		"DELETE /identities/{id}/sessions", "POST /recovery/link"} {
		api(p, toAdmin)
	}
	api("GET /admin/schemas", d.Schemas.List)
	api("GET /admin/schemas/{id}", d.Schemas.Get)

	// The built-in self-service UI (ui.enabled): pages under ui.base_path,
	// and / leading to them.
	if u := d.UI; u != nil {
		b := u.BasePath()
		mux.HandleFunc("GET /{$}", u.Root)
		mux.HandleFunc("GET "+b+"/{$}", u.Home)
		mux.HandleFunc("GET "+b+"/login", u.Flow(flow.Login))
		mux.HandleFunc("GET "+b+"/registration", u.Flow(flow.Registration))
		mux.HandleFunc("GET "+b+"/settings", u.Flow(flow.Settings))
		mux.HandleFunc("GET "+b+"/recovery", u.Flow(flow.Recovery))
		mux.HandleFunc("GET "+b+"/verification", u.Flow(flow.Verification))
		mux.HandleFunc("GET "+b+"/error", u.Error)
		mux.HandleFunc("POST "+b+"/sessions/revoke-others", u.RevokeOthers)
		mux.HandleFunc("GET "+b+"/static/", u.Static)
		if u.HasOutbox() {
			mux.HandleFunc("GET "+b+"/mail", u.Mail) // development mode only
		}
	}

	mux.Handle("/", unrouted(mux))
	return chain(recordRoute(mux), logRequests(d.Logger, d.RequestLog.TrustedProxies, d.RequestLog.QuietPublicHealth, publicHealthPaths...),
		withClientIP(d.RequestLog.TrustedProxies, d.Logger), observe("public", d.Metrics, d.Tracer), recoverPanics, publicCORS(d.PublicCORS, d.Logger), cleanPath, varyCookie, limitBodies(d.PublicMaxBody))
}

// Admin returns the handler of the admin port. Every route lives under
// /admin; other paths are 307-redirected there.
func Admin(d Deps) http.Handler {
	health := &healthHandler{db: d.DB, version: d.Version}
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, noCache(h)) }

	api("GET /admin/health/alive", health.alive)
	api("GET /admin/health/ready", health.ready(false))
	api("GET /admin/version", health.versionInfo)

	api("GET /admin/identities", d.Identities.List)
	api("POST /admin/identities", d.Identities.Create)
	api("GET /admin/identities/{id}", d.Identities.Get)
	api("PUT /admin/identities/{id}", d.Identities.Update)
	api("DELETE /admin/identities/{id}", d.Identities.Delete)
	api("GET /admin/identities/{id}/sessions", d.Sessions.AdminList)
	api("DELETE /admin/identities/{id}/sessions", d.Sessions.AdminDelete)
	api("POST /admin/recovery/link", d.Flows.AdminRecoveryLink)
	api("GET /admin/audit-events", d.AuditEvents.List) // a Hoplite addition

	api("GET /admin/schemas", d.Schemas.List)
	api("GET /admin/schemas/{id}", d.Schemas.Get)

	// Self-service and session routes reached on the admin port are sent to
	// the public port (307, method and body kept).
	toPublic := redirectTo(d.PublicURL, true)
	for _, k := range []string{"login", "registration", "settings", "recovery", "verification"} {
		for _, p := range []string{"browser", "api", "flows"} {
			api("GET /admin/self-service/"+k+"/"+p, toPublic)
		}
		api("GET /admin/self-service/"+k, toPublic)
		api("POST /admin/self-service/"+k, toPublic)
	}
	api("GET /admin/self-service/logout/browser", toPublic)
	api("DELETE /admin/self-service/logout/api", toPublic)
	api("GET /admin/self-service/logout", toPublic)
	api("GET /admin/self-service/errors", toPublic)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH"} {
		api(m+" /admin/sessions/whoami", toPublic)
	}
	api("GET /admin/sessions", toPublic)
	api("DELETE /admin/sessions", toPublic)
	api("DELETE /admin/sessions/{id}", toPublic)

	if d.Metrics != nil {
		mux.Handle("GET /admin/metrics/prometheus", d.Metrics.Handler())
	}

	mws := []middleware{logRequests(d.Logger, d.RequestLog.TrustedProxies, d.RequestLog.QuietAdminHealth, adminHealthPaths...), withClientIP(d.RequestLog.TrustedProxies, nil),
		observe("admin", d.Metrics, d.Tracer), recoverPanics}
	if d.AdminAPIKeyValid != nil {
		mws = append(mws, requireAPIKey(d.AdminAPIKeyValid, d.Audit))
	}
	mws = append(mws, redirectToAdminPrefix, limitBodies(d.AdminMaxBody))
	mux.Handle("/", unrouted(mux))
	return chain(recordRoute(mux), mws...)
}

// redirectTo answers with a 307 to the same path and query on base. With
// stripAdmin the /admin prefix is removed (admin → public stubs).
func redirectTo(base *url.URL, stripAdmin bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if stripAdmin {
			p = strings.TrimPrefix(p, "/admin")
		} else if !strings.HasPrefix(p, "/admin/") {
			p = "/admin" + p
		}
		u := *base
		u.Path = strings.TrimSuffix(u.Path, "/") + p
		u.RawQuery = r.URL.RawQuery
		http.Redirect(w, r, u.String(), http.StatusTemporaryRedirect)
	}
}
