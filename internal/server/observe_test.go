package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

func TestRouteLabel(t *testing.T) {
	for in, want := range map[string]string{
		"GET /identities/{id}": "/identities/{id}",
		"/":                    "unmatched",
		"":                     "unmatched",
		"/health/alive":        "/health/alive",
	} {
		if got := routeLabel(in); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkObserve measures what counting a request adds to the cheapest
// handler (go test -bench Observe ./internal/server/).
func BenchmarkObserve(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sessions/whoami", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	quiet := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"request log", chain(recordRoute(mux), logRequests(quiet, nil, false))},
		{"request log and metrics", chain(recordRoute(mux), logRequests(quiet, nil, false), observe("public", metrics.New(), nil))},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/sessions/whoami", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// With tracing on, log lines written while serving a request carry its
// trace id, so logs and traces can be joined.
func TestObserveAddsTraceIDToTheRequestLogger(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.New(sdktrace.NewSimpleSpanProcessor(exp), "test", 1)
	var logs bytes.Buffer
	base := slog.New(slog.NewTextHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpx.Logger(r.Context()).Info("handling")
	})
	h := chain(recordRoute(mux), logRequests(base, nil, false), observe("public", metrics.New(), tr.Tracer()))
	req := httptest.NewRequest(http.MethodGet, "/things/42", nil)
	req = req.WithContext(httpx.WithLogger(req.Context(), base))
	h.ServeHTTP(httptest.NewRecorder(), req)

	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "GET /things/{id}" {
		t.Fatalf("spans: %v", spans)
	}
	want := "trace_id=" + spans[0].SpanContext.TraceID().String()
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log %q lacks %s", logs.String(), want)
	}
	// The span names the request id the request log uses.
	if !hasRequestID(spans[0].Attributes, logs.String()) {
		t.Errorf("span attributes %v lack the logged request id: %s", spans[0].Attributes, logs.String())
	}
}

func hasRequestID(attrs []attribute.KeyValue, logs string) bool {
	for _, a := range attrs {
		if a.Key == "http.request.id" && a.Value.AsString() != "" && strings.Contains(logs, "request_id="+a.Value.AsString()) {
			return true
		}
	}
	return false
}
