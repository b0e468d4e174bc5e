package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/audit"
	"github.com/hoplite-id/hoplite/internal/httpx"
)

// middleware wraps a handler.
type middleware func(http.Handler) http.Handler

func chain(h http.Handler, mws ...middleware) http.Handler {
	for k := len(mws) - 1; k >= 0; k-- {
		h = mws[k](h)
	}
	return h
}

// statusRecorder remembers the status written, for the request log and
// the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recoverPanics turns a panic into a logged 500 envelope; the client never
// sees the panic value or stack.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				httpx.Logger(r.Context()).Error("panic while serving a request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				httpx.WriteError(w, r, httpx.Internal(fmt.Errorf("panic: %v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBodies caps request bodies; reading past the cap fails with
// *http.MaxBytesError, which httpx answers with 413. A declared
// Content-Length over the cap is refused before the handler runs.
func limitBodies(max int64) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				httpx.WriteError(w, r, httpx.TooLarge(max))
				return
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cleanPath collapses double slashes and dot segments before routing, as
// Kratos does on its public port.
func cleanPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "" && p != "/" {
			cleaned := path.Clean(p)
			if strings.HasSuffix(p, "/") && cleaned != "/" {
				cleaned += "/"
			}
			if cleaned != p {
				r.URL.Path = cleaned
				r.URL.RawPath = ""
			}
		}
		next.ServeHTTP(w, r)
	})
}

// varyCookie tells caches that public responses depend on cookies.
func varyCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		next.ServeHTTP(w, r)
	})
}

// noCache marks API responses as uncacheable.
func noCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.NoCache(w)
		next.ServeHTTP(w, r)
	})
}

// unrouted answers requests no route matches with the error envelope: 404
// for unknown paths, 405 (with Allow) for known paths and another method. It
// is registered as the mux's catch-all "/" pattern, so matched requests are
// routed once; only unmatched ones pay for probing the other methods.
func unrouted(mux *http.ServeMux) http.HandlerFunc {
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range methods {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			httpx.WriteError(w, r, httpx.New(http.StatusMethodNotAllowed).Reasonf("The method %s is not allowed here.", r.Method))
			return
		}
		httpx.WriteError(w, r, httpx.NotFound("No route matches this path.").WithMessage("The requested resource could not be found"))
	}
}

// redirectToAdminPrefix sends admin-port requests whose path lacks the /admin
// prefix to the prefixed path with a 307 (method and body preserved), as
// Kratos' admin port does.
func redirectToAdminPrefix(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin" && !strings.HasPrefix(r.URL.Path, "/admin/") {
			target := "/admin" + r.URL.Path
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withClientIP puts the client's address (see httpx.ClientIP) into the
// request's context, for throttling and security events. When requests
// carry X-Forwarded-For but no proxy is trusted, every client behind that
// proxy shares one address (and one failure counter), so the first such
// request is reported once.
func withClientIP(trusted []netip.Prefix, logger *slog.Logger) middleware {
	var warned atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(trusted) == 0 && logger != nil && r.Header.Get("X-Forwarded-For") != "" && !warned.Swap(true) {
				logger.Warn("requests carry X-Forwarded-For, but serve.public.trusted_proxies is empty: the header is ignored, and all clients behind the proxy share its address and its failure counter; list the proxy's address there")
			}
			next.ServeHTTP(w, r.WithContext(httpx.WithClientIP(r.Context(), httpx.ClientIP(r, trusted))))
		})
	}
}

// Auditor records security events (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event)
}

// adminHealthPaths are the admin port's health probes (the unprefixed ones
// are redirected to the prefixed ones).
var adminHealthPaths = []string{"/admin/health/alive", "/admin/health/ready", "/health/alive", "/health/ready"}

// publicHealthPaths are the public port's health probes.
var publicHealthPaths = []string{"/health/alive", "/health/ready"}

// requireAPIKey protects the admin port when API keys are configured; the
// health probes stay open. Requests that change something (every method
// but GET, HEAD and OPTIONS) are recorded as security events, naming the
// key by a short fingerprint (the start of the SHA-256 that
// serve.admin.api_keys holds).
func requireAPIKey(valid func(string) bool, rec Auditor) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Probes stay open: orchestrators call them without credentials,
			// and they reveal nothing (readiness details are for operators
			// who can reach the admin port anyway).
			if slices.Contains(adminHealthPaths, r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || key == "" || !valid(strings.TrimSpace(key)) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hoplite-admin"`)
				httpx.WriteError(w, r, httpx.Unauthorized("A valid admin API key is required: send it as Authorization: Bearer <key>."))
				return
			}
			if rec != nil && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
				sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
				rec.Record(r.Context(), audit.For(audit.AdminAPIKeyUsed, uuid.Nil, map[string]any{
					"key_fingerprint": hex.EncodeToString(sum[:6]), "method": r.Method, "path": r.URL.Path,
				}))
			}
			next.ServeHTTP(w, r)
		})
	}
}
