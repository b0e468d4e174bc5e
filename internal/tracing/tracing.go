// Package tracing sets up OpenTelemetry: a tracer provider exporting over
// OTLP/HTTP when tracing.provider is "otel", and a no-op one otherwise (so
// instrumented code costs nearly nothing when tracing is off).
package tracing

import (
	"context"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hoplite-id/hoplite/internal/config"
)

// InstrumentationName names Hoplite's tracer.
const InstrumentationName = "github.com/hoplite-id/hoplite"

// Tracing is the process' tracer provider.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when tracing is off
}

// Propagator reads and writes W3C trace context and baggage headers.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Off returns tracing that records nothing.
func Off() *Tracing { return &Tracing{provider: noop.NewTracerProvider()} }

// FromConfig starts the exporter configured under tracing.*. Providers
// other than "otel" are Kratos' and not implemented: they give Off (the
// configuration report says so at start).
func FromConfig(ctx context.Context, cfg config.Tracing) (*Tracing, error) {
	if cfg.Provider != "otel" {
		return Off(), nil
	}
	o := cfg.Providers.OTLP
	var opts []otlptracehttp.Option
	if o.ServerURL != "" {
		endpoint, path, insecure := splitEndpoint(o.ServerURL)
		opts = append(opts, otlptracehttp.WithEndpoint(endpoint))
		if path != "" {
			opts = append(opts, otlptracehttp.WithURLPath(path))
		}
		if insecure || o.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
	} else if o.Insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	ratio := o.Sampling.SamplingRatio
	return New(sdktrace.NewBatchSpanProcessor(exp), cfg.ServiceName, ratio), nil
}

// New builds tracing over one span processor (tests pass a synchronous
// processor over an in-memory exporter). ratio is the share of root spans
// sampled; spans whose caller sampled follow the caller.
func New(p sdktrace.SpanProcessor, serviceName string, ratio float64) *Tracing {
	if serviceName == "" {
		serviceName = "hoplite"
	}
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(p),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", serviceName))),
	)
	return &Tracing{provider: sdk, sdk: sdk}
}

// Enabled tells whether spans are recorded at all.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Tracer is Hoplite's tracer.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil {
		return noop.NewTracerProvider().Tracer(InstrumentationName)
	}
	return t.provider.Tracer(InstrumentationName)
}

// Shutdown flushes spans not yet exported.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

// splitEndpoint accepts "host:port" or a URL ("http://host:port/v1/traces").
func splitEndpoint(s string) (endpoint, path string, insecure bool) {
	if !strings.Contains(s, "://") {
		return s, "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s, "", false
	}
	if u.Path != "" && u.Path != "/" {
		path = u.Path
	}
	return u.Host, path, u.Scheme == "http"
}
