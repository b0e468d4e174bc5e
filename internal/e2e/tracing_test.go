package e2e_test

// OpenTelemetry: the span tree of one login, recorded in memory.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/hoplite-id/hoplite/internal/testutil"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

func TestTracingSpanTreeOfOneLogin(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		exp := tracetest.NewInMemoryExporter()
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Tracing: tracing.New(sdktrace.NewSimpleSpanProcessor(exp), "hoplite-test", 1)})
		ssRegister(t, s, "traced@example.com", ssPassword)
		exp.Reset()
		ssLogin(t, s, "traced@example.com", ssPassword)

		spans := exp.GetSpans()
		byID := map[trace.SpanID]tracetest.SpanStub{}
		children := map[trace.SpanID][]tracetest.SpanStub{}
		for _, sp := range spans {
			byID[sp.SpanContext.SpanID()] = sp
			children[sp.Parent.SpanID()] = append(children[sp.Parent.SpanID()], sp)
		}
		var httpSpan *tracetest.SpanStub
		for _, sp := range spans {
			if sp.Name == "POST /self-service/login" {
				httpSpan = &sp
				break
			}
		}
		if httpSpan == nil {
			t.Fatalf("no HTTP span of the submission; spans: %v", spanNames(spans))
		}
		if httpSpan.SpanKind != trace.SpanKindServer || httpSpan.Parent.IsValid() {
			t.Errorf("the HTTP span must be a root server span, got kind %v parent %v", httpSpan.SpanKind, httpSpan.Parent.SpanID())
		}
		if !hasAttr(*httpSpan, "http.response.status_code", "200") {
			t.Errorf("HTTP span attributes: %v", httpSpan.Attributes)
		}
		flowSpan := only(t, children[httpSpan.SpanContext.SpanID()], "flow.login.submit")
		if !hasAttr(flowSpan, "flow.method", "password") || !hasAttr(flowSpan, "flow.outcome", "success") {
			t.Errorf("flow span attributes: %v", flowSpan.Attributes)
		}
		below := children[flowSpan.SpanContext.SpanID()]
		only(t, below, "hash.compare")
		sqlSpans := 0
		for _, sp := range below {
			if strings.HasPrefix(sp.Name, "sql.") {
				sqlSpans++
				if !hasAttrKey(sp, "db.statement") || !hasAttr(sp, "db.system", map[string]string{"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}[b.Name]) {
					t.Errorf("SQL span attributes: %v", sp.Attributes)
				}
			}
		}
		// Loading the flow, the identity with its credentials, storing the
		// session and the flow: several statements, each a span.
		if sqlSpans < 3 {
			t.Errorf("want SQL spans below the flow span, got %d: %v", sqlSpans, spanNames(below))
		}
		// Every span descends from one of the login's two requests (the
		// flow's creation and its submission).
		for _, sp := range spans {
			if root := rootOf(byID, sp); root.Name != "GET /self-service/login/api" && root.Name != "POST /self-service/login" {
				t.Errorf("span %s has the root %s", sp.Name, root.Name)
			}
		}

		// A caller's traceparent is continued.
		exp.Reset()
		const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		if r := do(t, http.MethodGet, s.PublicURL+"health/alive", nil, "traceparent", parent); r.Status != http.StatusOK {
			t.Fatal(r)
		}
		got := exp.GetSpans()
		if len(got) != 1 || got[0].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || got[0].Name != "GET /health/alive" {
			t.Errorf("traceparent not continued: %v", got)
		}
	})
}

func rootOf(byID map[trace.SpanID]tracetest.SpanStub, sp tracetest.SpanStub) tracetest.SpanStub {
	for sp.Parent.IsValid() {
		p, ok := byID[sp.Parent.SpanID()]
		if !ok {
			break
		}
		sp = p
	}
	return sp
}

func only(t *testing.T, spans []tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, sp := range spans {
		if sp.Name == name {
			found = append(found, sp)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %q span among %v", name, spanNames(spans))
	}
	return found[0]
}

func spanNames(spans []tracetest.SpanStub) []string {
	out := make([]string, len(spans))
	for k, sp := range spans {
		out[k] = sp.Name
	}
	return out
}

func hasAttr(sp tracetest.SpanStub, key, value string) bool {
	for _, a := range sp.Attributes {
		if string(a.Key) == key && a.Value.Emit() == value {
			return true
		}
	}
	return false
}

func hasAttrKey(sp tracetest.SpanStub, key string) bool {
	for _, a := range sp.Attributes {
		if string(a.Key) == key {
			return true
		}
	}
	return false
}

// With tracing.provider otel, spans reach an OTLP/HTTP collector (here a
// stand-in that only records what it receives); the last ones are flushed
// at shutdown.
func TestTracingExportsOverOTLP(t *testing.T) {
	t.Setenv(testutil.EnvTracing, "") // this test's server exports as configured
	var mu sync.Mutex
	var posts []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+strconv.Itoa(len(body)))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	s := testutil.StartServer(t, testutil.Options{Config: "tracing:\n  provider: otel\n  service_name: hoplite-e2e\n  providers:\n    otlp:\n      server_url: " + collector.URL + "\n"})
	if r := do(t, http.MethodGet, s.PublicURL+"health/alive", nil); r.Status != http.StatusOK {
		t.Fatal(r)
	}
	s.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(posts) == 0 || !strings.HasPrefix(posts[0], "POST /v1/traces application/x-protobuf ") || strings.HasSuffix(posts[0], " 0") {
		t.Fatalf("want spans posted to /v1/traces, got %q", posts)
	}
}
