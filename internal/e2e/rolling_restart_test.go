package e2e_test

// Graceful shutdown: three instances over one database behind a
// round-robin proxy; one is restarted while clients keep sending requests,
// and not one request fails. The instance being stopped finishes what it
// accepted (a registration whose web hook is still running when the stop
// begins completes), and the proxy retries elsewhere only requests that
// never reached an instance.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// rrProxy sends each request to the next instance in turn.
type rrProxy struct {
	mu       sync.Mutex
	backends []string // host:port
	next     int
	served   map[string]int

	transport *http.Transport
	retries   atomic.Int64
}

func newRRProxy(backends ...string) *rrProxy {
	return &rrProxy{backends: backends, served: map[string]int{}, transport: &http.Transport{MaxIdleConnsPerHost: 16}}
}

func (p *rrProxy) set(k int, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[k] = addr
}

func (p *rrProxy) pick() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.backends)
	out := make([]string, 0, n)
	for k := range n {
		out = append(out, p.backends[(p.next+k)%n])
	}
	p.next++
	return out
}

func (p *rrProxy) count(addr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.served[addr]
}

func (p *rrProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, addr := range p.pick() {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host, out.Host = "http", addr, addr
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
		// Go's transport sends a request again on a fresh connection when
		// the kept-alive one it used was closed by the server as idle
		// before the server read the request (the race every keep-alive
		// client has with a server closing idle connections). It does so
		// for POST only when the request is marked replayable.
		out.Header.Set("Idempotency-Key", "proxy")
		res, err := p.transport.RoundTrip(out)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				// Nothing listens there (the instance is down): the request
				// never reached a server, so another one may take it.
				p.retries.Add(1)
				continue
			}
			http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		p.mu.Lock()
		p.served[addr]++
		p.mu.Unlock()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
		res.Body.Close()
		return
	}
	http.Error(w, "proxy: no instance answered", http.StatusBadGateway)
}

func hostOf(base string) string {
	u, _ := url.Parse(base)
	return u.Host
}

// rawRegister signs email up through an API flow against base, with a
// plain HTTP client, and returns the status and session token.
func rawRegister(c *http.Client, base, email string) (int, string, error) {
	res, err := c.Get(base + "self-service/registration/api")
	if err != nil {
		return 0, "", err
	}
	var f struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(res.Body).Decode(&f)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return res.StatusCode, "", fmt.Errorf("init: %d %v", res.StatusCode, err)
	}
	body := fmt.Sprintf(`{"method":"password","password":%q,"traits":{"email":%q}}`, ssPassword, email)
	res, err = c.Post(base+"self-service/registration?flow="+f.ID, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"session_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Token, nil
}

func TestRollingRestartLosesNoRequest(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		// A web hook after registration keeps registrations in flight for a
		// while; the one addressed to inflight@ is held until released.
		inflight := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Email string `json:"email"`
			}
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.Email == "inflight@example.com" {
				once.Do(func() { close(inflight) })
				<-release
			} else {
				time.Sleep(50 * time.Millisecond)
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer hook.Close()
		jsonnet := base64.StdEncoding.EncodeToString([]byte(`function(ctx) { email: ctx.identity.traits.email }`))
		cfg := `
selfservice:
  flows:
    registration:
      after:
        password:
          hooks:
            - hook: web_hook
              config:
                url: ` + hook.URL + `
                method: POST
                body: base64://` + jsonnet + `
            - hook: session
`
		dsn := b.NewDSN(t)
		instances := []*testutil.Server{
			testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg}),
			testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg}),
			testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg}),
		}
		proxy := newRRProxy(hostOf(instances[0].PublicURL), hostOf(instances[1].PublicURL), hostOf(instances[2].PublicURL))
		front := httptest.NewServer(proxy)
		defer front.Close()
		base := front.URL + "/"
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

		status, token, err := rawRegister(client, base, "looper@example.com")
		if err != nil || status != http.StatusOK || token == "" {
			t.Fatalf("registration through the proxy: %d %v", status, err)
		}

		var stop atomic.Bool
		var total, failed atomic.Int64
		var failMu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			failed.Add(1)
			failMu.Lock()
			if len(failures) < 10 {
				failures = append(failures, fmt.Sprintf(format, args...))
			}
			failMu.Unlock()
		}
		check := func(what string, res *http.Response, err error, want int) {
			total.Add(1)
			if err != nil {
				fail("%s: %v", what, err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != want {
				fail("%s: %d, want %d", what, res.StatusCode, want)
			}
		}
		var workers sync.WaitGroup
		for w := range 6 {
			workers.Go(func() {
				for k := 0; !stop.Load(); k++ {
					switch (w + k) % 3 {
					case 0:
						req, _ := http.NewRequest(http.MethodGet, base+"sessions/whoami", nil)
						req.Header.Set("X-Session-Token", token)
						res, err := client.Do(req)
						check("whoami", res, err, http.StatusOK)
					case 1:
						res, err := client.Get(base + "self-service/login/api")
						check("login init", res, err, http.StatusOK)
					case 2:
						status, _, err := rawRegister(client, base, fmt.Sprintf("w%d-%d@example.com", w, k))
						total.Add(1)
						if err != nil || status != http.StatusOK {
							fail("registration: %d %v", status, err)
						}
					}
				}
			})
		}

		waitFor := func(what string, cond func() bool) {
			deadline := time.Now().Add(20 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("timed out waiting for %s", what)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		// Every instance serves before the restart.
		waitFor("traffic on all three", func() bool {
			for _, s := range instances {
				if proxy.count(hostOf(s.PublicURL)) < 30 {
					return false
				}
			}
			return true
		})

		// A registration held in its web hook on the instance about to stop.
		victim := instances[1]
		held := make(chan error, 1)
		go func() {
			status, tok, err := rawRegister(&http.Client{Timeout: 60 * time.Second}, victim.PublicURL, "inflight@example.com")
			if err == nil && (status != http.StatusOK || tok == "") {
				err = fmt.Errorf("status %d, token %q", status, tok)
			}
			held <- err
		}()
		select {
		case <-inflight:
		case <-time.After(20 * time.Second):
			t.Fatal("the held registration never reached its web hook")
		}
		stopped := make(chan struct{})
		go func() { victim.Stop(); close(stopped) }()
		// Let the stop begin (listeners closed, draining), then release the
		// held request: the draining instance must still answer it.
		waitFor("the victim to refuse connections", func() bool {
			res, err := http.Get(victim.PublicURL + "health/alive")
			if err == nil {
				res.Body.Close()
			}
			return err != nil
		})
		select {
		case <-stopped:
			t.Fatal("the instance stopped while a request was still in flight")
		default:
		}
		close(release)
		if err := <-held; err != nil {
			t.Fatalf("the request in flight during the shutdown failed: %v", err)
		}
		<-stopped

		// Requests keep flowing to the other two while the instance is
		// down; then it comes back (on new ports) and takes its share.
		before := total.Load()
		waitFor("traffic while one instance is down", func() bool { return total.Load() > before+300 })
		restarted := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg})
		proxy.set(1, hostOf(restarted.PublicURL))
		waitFor("traffic on the restarted instance", func() bool { return proxy.count(hostOf(restarted.PublicURL)) >= 100 })
		stop.Store(true)
		workers.Wait()

		if failed.Load() != 0 {
			t.Fatalf("%d of %d requests failed during the rolling restart: %q", failed.Load(), total.Load(), failures)
		}
		if proxy.retries.Load() == 0 {
			t.Error("no request met the stopped instance: the test did not exercise the restart")
		}
		// The held registration's identity is stored and visible elsewhere.
		ids, _, err := instances[0].Admin.V0alpha2Api.AdminListIdentities(context.Background()).PerPage(1000).Execute()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, id := range ids {
			if traits, _ := id.Traits.(map[string]any); traits["email"] == "inflight@example.com" {
				found = true
			}
		}
		if !found {
			t.Error("the registration answered during the shutdown was not stored")
		}
		t.Logf("%d requests, 0 failed, %d sent elsewhere after connection refused", total.Load(), proxy.retries.Load())
	})
}
