package e2e_test

// The request log: one info line per request with method, route pattern,
// status, duration, client address (behind trusted proxies) and request id;
// the id is answered in X-Request-Id and in error envelopes.

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// requestLine finds the request log line carrying id.
func requestLine(t *testing.T, s *testutil.Server, id string) string {
	t.Helper()
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		if strings.Contains(line, "msg=request ") && strings.Contains(line, "request_id="+id) {
			return line
		}
	}
	t.Fatalf("no request line with request_id=%s in:\n%s", id, s.Logs.String())
	return ""
}

func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, testutil.Options{Config: `
serve:
  public:
    trusted_proxies: [127.0.0.1/32]
    request_log:
      disable_for_health: true
`})
	const sessionID = "8f7c0a52-3a0e-4b43-9a6b-2f6e1a7c9d11"

	// An incoming id is kept, answered and put into the error envelope.
	r := do(t, http.MethodDelete, s.PublicURL+"sessions/"+sessionID+"?secret=query", nil,
		"X-Request-Id", "req-abc-123", "X-Forwarded-For", "198.51.100.7")
	e := requireEnvelope(t, r, http.StatusUnauthorized)
	if e.Request != "req-abc-123" || r.Header.Get("X-Request-Id") != "req-abc-123" {
		t.Errorf("envelope request %q, header %q, want req-abc-123", e.Request, r.Header.Get("X-Request-Id"))
	}
	line := requestLine(t, s, "req-abc-123")
	for _, want := range []string{"level=INFO", "method=DELETE", `route="DELETE /sessions/{id}"`, "status=401", "client=198.51.100.7"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %s: %s", want, line)
		}
	}
	if !regexp.MustCompile(`duration_ms=[0-9]+(\.[0-9]+)?( |$)`).MatchString(line) {
		t.Errorf("no duration in milliseconds: %s", line)
	}
	if strings.Contains(line, sessionID) || strings.Contains(line, "secret") {
		t.Errorf("raw path or query logged: %s", line)
	}

	// Without one, an id is generated and used the same way.
	r = do(t, http.MethodGet, s.PublicURL+"self-service/login/flows?id=nope", nil)
	e = requireEnvelope(t, r, http.StatusNotFound)
	id := r.Header.Get("X-Request-Id")
	if len(id) < 16 || e.Request != id {
		t.Fatalf("generated id %q, envelope %q", id, e.Request)
	}
	if line := requestLine(t, s, id); !strings.Contains(line, `route="GET /self-service/login/flows"`) || !strings.Contains(line, "status=404") {
		t.Errorf("line: %s", line)
	}

	// An id with characters that could forge log text is replaced.
	r = do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "X-Request-Id", "x\" level=ERROR msg=forged")
	if got := r.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("unsafe id echoed: %q", got)
	}

	// The health probes are quiet when asked; other routes on the admin port
	// name the peer (the admin port has no forwarded client here).
	r = do(t, http.MethodGet, s.PublicURL+"health/alive", nil, "X-Request-Id", "health-probe-1")
	if r.Status != http.StatusOK {
		t.Fatalf("alive: %s", r)
	}
	r = do(t, http.MethodGet, adminURL(s, "identities/"+sessionID), nil, "X-Request-Id", "admin-req-1")
	requireEnvelope(t, r, http.StatusNotFound)
	if line := requestLine(t, s, "admin-req-1"); !strings.Contains(line, `route="GET /admin/identities/{id}"`) || !strings.Contains(line, "client=127.0.0.1") {
		t.Errorf("admin line: %s", line)
	}
	if strings.Contains(s.Logs.String(), "health-probe-1") {
		t.Errorf("health probe logged although disable_for_health is set")
	}

	// Unrouted requests are logged too, without their raw path.
	r = do(t, http.MethodGet, s.PublicURL+"no/such/"+sessionID, nil, "X-Request-Id", "unrouted-1")
	requireEnvelope(t, r, http.StatusNotFound)
	if line := requestLine(t, s, "unrouted-1"); !strings.Contains(line, `route="(no route)"`) || strings.Contains(line, sessionID) {
		t.Errorf("unrouted line: %s", line)
	}
}
