package tracing

import (
	"context"
	"testing"

	"github.com/hoplite-id/hoplite/internal/config"
)

func TestSplitEndpoint(t *testing.T) {
	for in, want := range map[string]struct {
		endpoint, path string
		insecure       bool
	}{
		"collector:4318":                      {"collector:4318", "", false},
		"http://127.0.0.1:4318":               {"127.0.0.1:4318", "", true},
		"https://otel.example.org/v1/traces":  {"otel.example.org", "/v1/traces", false},
		"http://collector:4318/custom/traces": {"collector:4318", "/custom/traces", true},
	} {
		e, p, i := splitEndpoint(in)
		if e != want.endpoint || p != want.path || i != want.insecure {
			t.Errorf("splitEndpoint(%q) = %q %q %v, want %+v", in, e, p, i, want)
		}
	}
}

func TestOnlyOTelRecords(t *testing.T) {
	for _, p := range []string{"", "jaeger", "zipkin"} {
		tr, err := FromConfig(context.Background(), config.Tracing{Provider: p})
		if err != nil || tr.Enabled() {
			t.Errorf("provider %q: enabled %v, %v", p, tr.Enabled(), err)
		}
	}
	tr, err := FromConfig(context.Background(), config.Tracing{Provider: "otel", Providers: config.TracingProviders{OTLP: config.OTLP{ServerURL: "http://127.0.0.1:1", Sampling: config.OTLPSampling{SamplingRatio: 1}}}})
	if err != nil || !tr.Enabled() {
		t.Fatalf("otel: enabled %v, %v", tr.Enabled(), err)
	}
	_, span := tr.Tracer().Start(context.Background(), "x")
	if !span.SpanContext().IsSampled() {
		t.Error("a root span with sampling ratio 1 is not sampled")
	}
	span.End()
}
