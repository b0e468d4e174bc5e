package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hoplite-id/hoplite/internal/metrics"
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
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"metrics", chain(recordPattern(mux), observe("public", metrics.New(), nil))},
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
