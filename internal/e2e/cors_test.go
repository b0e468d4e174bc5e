package e2e_test

// CORS on the public port (serve.public.cors): a single-page app on another
// origin starts browser flows and checks the session with fetch(). The
// admin port never answers CORS, and with the feature off (the default) no
// CORS header is ever written.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

const corsConfig = `
serve:
  public:
    cors:
      enabled: true
      allowed_origins:
        - http://127.0.0.1:4455
        - https://*.example.org
      max_age: 300
`

func TestCORS(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: corsConfig})
	const spa = "http://127.0.0.1:4455"
	preflight := func(t *testing.T, base, path, origin string) response {
		t.Helper()
		return do(t, http.MethodOptions, base+path, nil,
			"Origin", origin,
			"Access-Control-Request-Method", "GET",
			// Browsers send this list lower-cased and sorted.
			"Access-Control-Request-Headers", "x-session-token")
	}

	t.Run("preflight from an allowed origin", func(t *testing.T) {
		for _, origin := range []string{spa, "https://app.example.org"} {
			r := preflight(t, s.PublicURL, "sessions/whoami", origin)
			if r.Status != http.StatusOK {
				t.Errorf("%s: status %d", origin, r.Status)
			}
			h := r.Header
			if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("%s: allow-origin %q credentials %q", origin, h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"))
			}
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") {
				t.Errorf("%s: allow-methods %q", origin, h.Get("Access-Control-Allow-Methods"))
			}
			if !strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "X-Session-Token") {
				t.Errorf("%s: allow-headers %q", origin, h.Get("Access-Control-Allow-Headers"))
			}
			if h.Get("Access-Control-Max-Age") != "300" {
				t.Errorf("%s: max-age %q", origin, h.Get("Access-Control-Max-Age"))
			}
		}
	})

	t.Run("preflight from another origin", func(t *testing.T) {
		for _, origin := range []string{"https://evil.example.com", "https://example.org.evil.com", "http://127.0.0.1:4456"} {
			r := preflight(t, s.PublicURL, "sessions/whoami", origin)
			if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("%s: allowed as %q", origin, v)
			}
		}
	})

	t.Run("a header the config does not allow", func(t *testing.T) {
		r := do(t, http.MethodOptions, s.PublicURL+"sessions/whoami", nil,
			"Origin", spa, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-custom-secret")
		if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("preflight with an unlisted header allowed: %q", v)
		}
	})

	t.Run("a single-page app starts a browser flow", func(t *testing.T) {
		r := do(t, http.MethodGet, s.PublicURL+"self-service/login/browser", nil, "Origin", spa, "Accept", "application/json")
		if r.Status != http.StatusOK {
			t.Fatalf("init: %s", r)
		}
		var f struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(r.Body, &f); err != nil || f.ID == "" {
			t.Fatalf("init answer %s", r.Body)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != spa || r.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("allow-origin %q credentials %q", r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
		}
		if r.Header.Get("Access-Control-Expose-Headers") != "Content-Type" {
			t.Errorf("expose-headers %q", r.Header.Get("Access-Control-Expose-Headers"))
		}
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary %q does not name Origin", r.Header.Values("Vary"))
		}
		// An error answer carries the headers too, so the app can read it.
		r = do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "Origin", spa)
		if r.Status != http.StatusUnauthorized || r.Header.Get("Access-Control-Allow-Origin") != spa {
			t.Errorf("whoami: %d allow-origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("the admin port has no CORS", func(t *testing.T) {
		r := preflight(t, s.AdminURL, "admin/identities", spa)
		if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("admin preflight allowed: %q", v)
		}
		r = do(t, http.MethodGet, s.AdminURL+"admin/identities", nil, "Origin", spa)
		if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("admin list: %d allow-origin %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

func TestCORSDisabledByDefault(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{})
	r := do(t, http.MethodOptions, s.PublicURL+"self-service/login/browser", nil,
		"Origin", "http://127.0.0.1:4455", "Access-Control-Request-Method", "GET")
	if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("preflight answered with CORS off: %q", v)
	}
	if r.Status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS with CORS off: %s", r)
	}
	r = do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "Origin", "http://127.0.0.1:4455")
	if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" || r.Status != http.StatusUnauthorized {
		t.Errorf("whoami with CORS off: %d allow-origin %q", r.Status, v)
	}
}
