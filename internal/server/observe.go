package server

import (
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

// routeLabel is the bounded name of a route: its pattern without the
// method ("/identities/{id}"), or "unmatched" for the catch-all.
func routeLabel(pattern string) string {
	if pattern == "" || pattern == "/" {
		return "unmatched"
	}
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	return pattern
}

// observe counts every request by route pattern and status with its
// latency, and, when tracing is on, runs it in a server span named after
// the route (continuing a W3C traceparent sent by the caller). It runs just
// inside logRequests and reads the route holder recordRoute fills in. The
// span carries the request id, and the trace id is added to the request's
// logger, so logs and traces can be joined either way.
func observe(port string, m *metrics.Metrics, tracer trace.Tracer) middleware {
	return func(next http.Handler) http.Handler {
		if m == nil && tracer == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			var span trace.Span
			if tracer != nil {
				ctx := tracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
				ctx, span = tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
					trace.WithAttributes(
						attribute.String("http.request.method", r.Method),
						attribute.String("server.port.name", port),
					))
				if id := r.Header.Get(requestIDHeader); id != "" {
					span.SetAttributes(attribute.String("http.request.id", id))
				}
				if sc := span.SpanContext(); sc.IsValid() {
					ctx = httpx.WithLogger(ctx, httpx.Logger(ctx).With("trace_id", sc.TraceID().String()))
				}
				r = r.WithContext(ctx)
			}
			rec := &statusRecorder{ResponseWriter: w}
			defer func() {
				status := rec.status
				if status == 0 {
					status = http.StatusOK
				}
				if v := recover(); v != nil {
					// recoverPanics answers panics; only http.ErrAbortHandler
					// reaches here. Count it, then let net/http abort.
					status = 499
					defer panic(v)
				}
				pattern := r.Pattern // set by the mux when no middleware copied r
				if rt, ok := r.Context().Value(routeKey{}).(*route); ok && rt.pattern != "" {
					pattern = rt.pattern
				}
				route := routeLabel(pattern)
				if m != nil {
					m.ObserveRequest(port, route, r.Method, status, time.Since(start))
				}
				if span != nil {
					span.SetName(r.Method + " " + route)
					span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
					if status >= 500 {
						span.SetStatus(codes.Error, http.StatusText(status))
					}
					span.End()
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// submission wraps a flow's submit handler: the submission runs in a span of
// its own (below the HTTP span, above hashing and SQL) and is counted by
// kind, method and outcome. The engine notes the method and a refusal
// (metrics.NoteFlow); otherwise the status decides.
func submission(kind flow.Kind, m *metrics.Metrics, tracer trace.Tracer, h http.HandlerFunc) http.HandlerFunc {
	if m == nil && tracer == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, note := metrics.WithFlowNote(r.Context())
		var span trace.Span
		if tracer != nil {
			ctx, span = tracer.Start(ctx, "flow."+string(kind)+".submit", trace.WithAttributes(attribute.String("flow.kind", string(kind))))
		}
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, r.WithContext(ctx))
		outcome := note.Outcome
		switch {
		case rec.status >= 500:
			outcome = metrics.Error
		case outcome == "" && rec.status >= 400:
			outcome = metrics.Failure
		case outcome == "":
			outcome = metrics.Success
		}
		if m != nil {
			m.ObserveFlow(string(kind), note.Method, outcome)
		}
		if span != nil {
			span.SetAttributes(attribute.String("flow.method", note.Method), attribute.String("flow.outcome", outcome))
			if outcome == metrics.Error {
				span.SetStatus(codes.Error, "submission failed")
			}
			span.End()
		}
	}
}
