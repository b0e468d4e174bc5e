// Package server builds Hoplite's two HTTP handlers, public and admin. This
// file is the one place that lists every route of both ports; compare it with
// the API's operation list to see the whole surface at a glance.
package server

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/schema"
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
	// AdminAPIKeyValid, when set, protects every admin route.
	AdminAPIKeyValid func(key string) bool

	DB         Database
	Schemas    *schema.Handler
	Identities *identity.AdminHandler
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

	return chain(envelopeUnrouted(mux), recoverPanics, logRequests(d.Logger), cleanPath, varyCookie, limitBodies(d.PublicMaxBody))
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

	api("GET /admin/schemas", d.Schemas.List)
	api("GET /admin/schemas/{id}", d.Schemas.Get)

	mws := []middleware{recoverPanics, logRequests(d.Logger)}
	if d.AdminAPIKeyValid != nil {
		mws = append(mws, requireAPIKey(d.AdminAPIKeyValid))
	}
	mws = append(mws, redirectToAdminPrefix, limitBodies(d.AdminMaxBody))
	return chain(envelopeUnrouted(mux), mws...)
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
