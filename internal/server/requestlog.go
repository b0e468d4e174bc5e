package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
)

// RequestLog configures the request log of both ports.
type RequestLog struct {
	// TrustedProxies name the proxies whose X-Forwarded-For is believed
	// (serve.public.trusted_proxies).
	TrustedProxies []netip.Prefix
	// QuietPublicHealth and QuietAdminHealth leave the health probes out
	// (serve.public.request_log.disable_for_health and the admin one).
	QuietPublicHealth, QuietAdminHealth bool
}

// RequestLogSettings reads the request log settings from cfg.
func RequestLogSettings(cfg *config.Config) RequestLog {
	return RequestLog{
		TrustedProxies:    cfg.TrustedProxies(),
		QuietPublicHealth: cfg.Serve.Public.RequestLog.DisableForHealth,
		QuietAdminHealth:  cfg.Serve.Admin.RequestLog.DisableForHealth,
	}
}

// requestIDHeader carries the request id both ways. Error envelopes repeat it
// in their "request" field (httpx reads it from the request headers).
const requestIDHeader = "X-Request-Id"

// maxRequestIDLength bounds an incoming request id; longer or odd ones are
// replaced, so a client cannot write arbitrary text into the log.
const maxRequestIDLength = 128

// routeKey is the context key of the route holder.
type routeKey struct{}

// route is filled in by recordRoute, innermost, with the pattern the mux
// matched, so the log names "GET /sessions/{id}" and never a raw path with
// ids, even when a middleware in between copied the request.
type route struct{ pattern string }

// logRequests gives every request an id (the incoming X-Request-Id when it
// is sane, a new random one otherwise), answers it in X-Request-Id, puts a
// logger carrying it into the request context, and logs one line at info
// when the answer is written: method, route pattern, status, duration in
// milliseconds, client address and request id. Query strings and raw paths
// are never logged: they carry flow ids, tokens and return URLs.
func logRequests(l *slog.Logger, trusted []netip.Prefix, quietHealth bool, healthPaths ...string) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get(requestIDHeader)
			if !validRequestID(id) {
				id = newRequestID()
				r.Header.Set(requestIDHeader, id)
			}
			w.Header().Set(requestIDHeader, id)
			rt := &route{}
			reqLogger := l.With("request_id", id)
			ctx := httpx.WithLogger(r.Context(), reqLogger)
			r = r.WithContext(context.WithValue(ctx, routeKey{}, rt))
			rec := &statusRecorder{ResponseWriter: w}
			defer func() {
				if quietHealth && slices.Contains(healthPaths, r.URL.Path) {
					return
				}
				status := rec.status
				if status == 0 {
					status = http.StatusOK
				}
				pattern := rt.pattern
				if pattern == "" || pattern == "/" {
					pattern = "(no route)"
				}
				reqLogger.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", pattern),
					slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
					slog.String("client", clientAddr(r, trusted)))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// recordRoute wraps the mux: after routing, the matched pattern (set by the
// mux on the request it was given) goes into the route holder.
func recordRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rt, ok := r.Context().Value(routeKey{}).(*route); ok {
				rt.pattern = r.Pattern
			}
		}()
		mux.ServeHTTP(w, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '='
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clientAddr is the client's address for the log: the connection's peer
// as the transport gave it when it is no IP address (a Unix socket).
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	if a := httpx.ClientIP(r, trusted); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}
