package e2e_test

// Scale-out: three Hoplite instances, each with its own session cache,
// over one database, behind a round-robin reverse proxy that sends every
// request to the next instance. Flows hop instances at every step; changes
// made through one instance reach the others' caches within the bound; the
// three couriers share the mail queue without sending a mail twice; the
// three start (and migrate) at once; one stops in the middle of load
// without losing a write while the others keep serving.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// hopProxy is a round-robin reverse proxy over a set of instances. An
// instance that refuses connections is taken out of the rotation, and a
// request that could not be delivered is sent to the next instance: an
// instance that shuts down drains the requests it accepted, so a failed
// delivery was never processed and may be sent again.
type hopProxy struct {
	srv       *httptest.Server
	transport *http.Transport

	mu       sync.Mutex
	backends []*url.URL
	down     map[string]bool
	next     int
	served   map[string]int // requests delivered per instance
}

func newHopProxy(t *testing.T) *hopProxy {
	p := &hopProxy{
		transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
		down:      map[string]bool{}, served: map[string]int{},
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.pick())
			pr.Out.Host = pr.In.Host
		},
		Transport: p,
		ErrorLog:  nil,
	}
	p.srv = httptest.NewServer(rp)
	t.Cleanup(func() {
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// URL is the proxy's base URL, with a trailing slash.
func (p *hopProxy) URL() string { return p.srv.URL + "/" }

func (p *hopProxy) setBackends(urls ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = nil
	for _, raw := range urls {
		u, _ := url.Parse(strings.TrimSuffix(raw, "/"))
		p.backends = append(p.backends, u)
	}
}

func (p *hopProxy) pick() *url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.backends {
		u := p.backends[p.next%len(p.backends)]
		p.next++
		if !p.down[u.Host] {
			return u
		}
	}
	return p.backends[0]
}

func (p *hopProxy) servedBy() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.served {
		out[k] = v
	}
	return out
}

func (p *hopProxy) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		out := req.Clone(req.Context())
		if attempt > 0 {
			u := p.pick()
			out.URL.Scheme, out.URL.Host = u.Scheme, u.Host
		}
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		res, err := p.transport.RoundTrip(out)
		if err == nil {
			p.mu.Lock()
			p.served[out.URL.Host]++
			p.mu.Unlock()
			return res, nil
		}
		lastErr = err
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			p.mu.Lock()
			p.down[out.URL.Host] = true
			p.mu.Unlock()
		}
	}
	return nil, lastErr
}

// scaleOutCluster is three instances behind a public and an admin proxy.
type scaleOutCluster struct {
	instances []*testutil.Server
	// front is the cluster as one server: its URLs and SDK clients go
	// through the proxies.
	front       *testutil.Server
	public, adm *hopProxy
	mail        *smtptest.Server
}

func startScaleOut(t *testing.T, dsn string) *scaleOutCluster {
	t.Helper()
	c := &scaleOutCluster{public: newHopProxy(t), adm: newHopProxy(t), mail: smtptest.Start(t, smtptest.Options{})}
	cfg := ssBrowserConfig + fmt.Sprintf(`
serve:
  public:
    base_url: %s
  admin:
    base_url: %s
courier:
  smtp:
    connection_uri: %s
`, c.public.URL(), c.adm.URL(), c.mail.URI("smtp", "", "", "disable_starttls=true"))

	// All three start at once on an empty database: each one migrates.
	c.instances = make([]*testutil.Server, 3)
	var wg sync.WaitGroup
	for k := range c.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.instances[k] = testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg})
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var pubs, adms []string
	for _, s := range c.instances {
		pubs = append(pubs, s.PublicURL)
		adms = append(adms, s.AdminURL)
		if n, err := s.App.Store.PendingMigrations(context.Background()); err != nil || n != 0 {
			t.Fatalf("after a concurrent start: %d pending migrations (%v)", n, err)
		}
		lcWatchCourier(t, s)
	}
	waitCachesReady(t, c.instances...)
	c.public.setBackends(pubs...)
	c.adm.setBackends(adms...)
	c.front = &testutil.Server{
		PublicURL: c.public.URL(), AdminURL: c.adm.URL(),
		Public: testutil.NewSDK(c.public.URL()), Admin: testutil.NewSDK(c.adm.URL()),
	}
	return c
}

func TestScaleOutThreeInstances(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		c := startScaleOut(t, dsn)
		front, inst := c.front, c.instances
		bound := revocationBound(dsn)
		ctx := context.Background()

		t.Run("browser flows hop instances", func(t *testing.T) {
			br := ssNewBrowser(t, front)
			f := br.initFlow("registration", "")
			r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "password", ssPassword, "traits.email", "hop-browser@example.org"))
			if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatalf("browser registration through the proxy: %s", r)
			}
			for range 3 {
				if who := br.get(ssFlowURL(front, "/sessions/whoami"), "Accept", "application/json"); who.Status != http.StatusOK {
					t.Fatalf("whoami with the cookie: %s", who)
				}
			}
			r = br.get(ssFlowURL(front, "/self-service/logout/browser"), "Accept", "application/json")
			var lo struct {
				LogoutURL string `json:"logout_url"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &lo) != nil || !strings.HasPrefix(lo.LogoutURL, front.PublicURL) {
				t.Fatalf("logout URL: %s", r)
			}
			if r := br.get(lo.LogoutURL); r.Status != http.StatusSeeOther {
				t.Fatalf("logout: %s", r)
			}
			start := time.Now()
			for k := 0; k < 3; k++ { // three requests: every instance once
				if who := br.get(ssFlowURL(front, "/sessions/whoami"), "Accept", "application/json"); who.Status != http.StatusUnauthorized {
					if time.Since(start) > bound {
						t.Fatalf("whoami after logout: %d after %v", who.Status, time.Since(start))
					}
					k = -1
					time.Sleep(5 * time.Millisecond)
				}
			}

			f = br.initFlow("login", "")
			r = br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", "hop-browser@example.org", "password", ssPassword))
			if r.Status != http.StatusSeeOther || ssSetCookie(r, "ory_kratos_session") == nil {
				t.Fatalf("browser login through the proxy: %s", r)
			}
		})

		t.Run("API flows hop instances", func(t *testing.T) {
			reg := ssRegister(t, front, "hop-api@example.org", ssPassword)
			token := ssLogin(t, front, "hop-api@example.org", ssPassword).GetSessionToken()
			for _, tok := range []string{reg.GetSessionToken(), token} {
				waitWhoami(t, []*testutil.Server{front, front, front}, tok, http.StatusOK, 0)
			}
			// Settings through the proxy: the flow is created on one
			// instance and submitted on another.
			f, _, err := ssTokenSDK(front, token).V0alpha2Api.InitializeSelfServiceSettingsFlowWithoutBrowser(ctx).XSessionToken(token).Execute()
			if err != nil {
				t.Fatalf("settings init: %v", err)
			}
			sf, res, err := ssTokenSDK(front, token).V0alpha2Api.SubmitSelfServiceSettingsFlow(ctx).Flow(f.Id).XSessionToken(token).
				SubmitSelfServiceSettingsFlowBody(kratos.SubmitSelfServiceSettingsFlowWithProfileMethodBodyAsSubmitSelfServiceSettingsFlowBody(
					kratos.NewSubmitSelfServiceSettingsFlowWithProfileMethodBody("profile", map[string]interface{}{"email": "hop-api@example.org", "name": map[string]any{"first": "Hopper"}}))).Execute()
			if err != nil {
				t.Fatalf("settings submit: %v (%d) %s", err, sdkStatus(res), sdkErrorBody(err))
			}
			if sf.State != "success" {
				t.Fatalf("settings state %q", sf.State)
			}
			waitWhoamiContains(t, inst, token, bound, "Hopper")
		})

		t.Run("a revoked session is refused everywhere within the bound", func(t *testing.T) {
			token := ssRegister(t, front, "revoke@example.org", ssPassword).GetSessionToken()
			// Twice per instance: the second answer is from its cache.
			waitWhoami(t, append(inst, inst...), token, http.StatusOK, 0)
			if _, err := inst[0].Public.V0alpha2Api.SubmitSelfServiceLogoutFlowWithoutBrowser(ctx).
				SubmitSelfServiceLogoutFlowWithoutBrowserBody(kratos.SubmitSelfServiceLogoutFlowWithoutBrowserBody{SessionToken: token}).Execute(); err != nil {
				t.Fatalf("logout on instance 1: %v", err)
			}
			took := waitWhoami(t, inst[1:], token, http.StatusUnauthorized, bound)
			t.Logf("%s: revocation on instance 1 refused by instances 2 and 3 after %v (bound %v)", b.Name, took, bound)
			for k, s := range inst {
				if st := s.App.SessionCache.Stats(); st.Hits == 0 {
					t.Errorf("instance %d never answered from its cache: %+v", k+1, st)
				}
			}
		})

		t.Run("an identity updated on one reads updated on the others", func(t *testing.T) {
			reg := ssRegister(t, front, "update@example.org", ssPassword)
			id, token := reg.Identity.Id, reg.GetSessionToken()
			waitWhoami(t, append(inst, inst...), token, http.StatusOK, 0)
			for _, s := range append(inst, inst...) { // the second answer is from the cache
				if got := do(t, http.MethodGet, adminURL(s, "identities/"+id), nil); got.Status != http.StatusOK {
					t.Fatalf("admin get: %s", got)
				}
			}
			upd := doJSON(t, http.MethodPut, adminURL(inst[1], "identities/"+id), map[string]any{
				"schema_id": "default", "state": "active", "metadata_public": map[string]any{"plan": "gold"},
				"traits": map[string]any{"email": "update@example.org", "name": map[string]any{"first": "Updated"}},
			})
			if upd.Status != http.StatusOK {
				t.Fatalf("admin update on instance 2: %s", upd)
			}
			start := time.Now()
			for _, k := range []int{0, 2} {
				for {
					got := do(t, http.MethodGet, adminURL(inst[k], "identities/"+id), nil)
					if got.Status == http.StatusOK && strings.Contains(string(got.Body), "Updated") && strings.Contains(string(got.Body), "gold") {
						break
					}
					if time.Since(start) > bound {
						t.Fatalf("admin get on instance %d still old after %v: %s", k+1, time.Since(start), got)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			waitWhoamiContains(t, []*testutil.Server{inst[0], inst[2]}, token, bound, "Updated", "gold")
		})

		t.Run("the couriers send each mail exactly once", func(t *testing.T) {
			const n = 30
			before := len(c.mail.Mails())
			for k := 0; k < n; k++ {
				if _, err := inst[k%3].App.Courier.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: fmt.Sprintf("queued-%d@example.org", k)}); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for len(c.mail.Mails())-before < n && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
			seen := map[string]int{}
			for _, m := range c.mail.Mails()[before:] {
				seen[strings.Join(m.To, ",")]++
			}
			for k := 0; k < n; k++ {
				if to := fmt.Sprintf("queued-%d@example.org", k); seen[to] != 1 {
					t.Errorf("%s was sent %d times", to, seen[to])
				}
			}
			if len(seen) != n {
				t.Errorf("%d recipients, want %d", len(seen), n)
			}
		})

		t.Run("one instance stops under load; nothing is lost", func(t *testing.T) {
			var (
				mu         sync.Mutex
				registered []string
				failures   []string
				stop       atomic.Bool
				wg         sync.WaitGroup
			)
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; !stop.Load(); k++ {
						email := fmt.Sprintf("load-%d-%d@example.org", w, k)
						token, err := apiRegister(front, email)
						if err == nil {
							err = whoamiOK(front, token)
						}
						mu.Lock()
						if err != nil {
							failures = append(failures, err.Error())
						} else {
							registered = append(registered, email)
						}
						mu.Unlock()
					}
				}()
			}
			time.Sleep(time.Second)
			inst[2].Stop()
			stoppedAt := time.Now()
			time.Sleep(1500 * time.Millisecond)
			stop.Store(true)
			wg.Wait()
			if len(failures) > 0 {
				t.Fatalf("%d requests failed while an instance stopped, first: %s", len(failures), failures[0])
			}
			served := c.public.servedBy()
			t.Logf("%s: %d registrations under load; requests per instance %v; instance 3 stopped %v before the end",
				b.Name, len(registered), served, time.Since(stoppedAt).Round(time.Millisecond))
			if len(registered) < 8 {
				t.Fatalf("only %d registrations completed", len(registered))
			}
			// Every acknowledged registration is stored and can sign in, on
			// each remaining instance.
			for k, email := range registered {
				s := inst[k%2]
				if _, err := apiLoginToken(s, email); err != nil {
					t.Fatalf("registration of %s was acknowledged but login on %s fails: %v", email, s.PublicURL, err)
				}
			}
			for k, s := range inst[:2] {
				if r := do(t, http.MethodGet, s.PublicURL+"health/ready", nil); r.Status != http.StatusOK {
					t.Errorf("instance %d after the stop: %s", k+1, r)
				}
			}
		})
	})
}

// waitWhoamiContains asks every instance's whoami until all answer 200
// with every one of parts, and fails after bound.
func waitWhoamiContains(t *testing.T, servers []*testutil.Server, token string, bound time.Duration, parts ...string) {
	t.Helper()
	start := time.Now()
	for _, s := range servers {
		for {
			r := do(t, http.MethodGet, s.PublicURL+"sessions/whoami", nil, "X-Session-Token", token)
			ok := r.Status == http.StatusOK
			for _, p := range parts {
				ok = ok && strings.Contains(string(r.Body), p)
			}
			if ok {
				break
			}
			if time.Since(start) > bound {
				t.Fatalf("%s still answers without %q after %v: %s", s.PublicURL, parts, time.Since(start), r)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// apiRegister registers through the API flow without failing the test (it
// runs on load goroutines) and returns the session token.
func apiRegister(s *testutil.Server, email string) (string, error) {
	ctx := context.Background()
	f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceRegistrationFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		return "", fmt.Errorf("registration init: %w", err)
	}
	res, _, err := s.Public.V0alpha2Api.SubmitSelfServiceRegistrationFlow(ctx).Flow(f.Id).
		SubmitSelfServiceRegistrationFlowBody(ssPasswordRegistration(ssPassword, map[string]any{"email": email})).Execute()
	if err != nil {
		return "", fmt.Errorf("registration of %s: %w %s", email, err, sdkErrorBody(err))
	}
	return res.GetSessionToken(), nil
}

func apiLoginToken(s *testutil.Server, email string) (string, error) {
	ctx := context.Background()
	f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
	if err != nil {
		return "", err
	}
	res, _, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
		SubmitSelfServiceLoginFlowBody(ssPasswordLogin(email, ssPassword)).Execute()
	if err != nil {
		return "", fmt.Errorf("%w %s", err, sdkErrorBody(err))
	}
	return res.GetSessionToken(), nil
}

func whoamiOK(s *testutil.Server, token string) error {
	req, _ := http.NewRequest(http.MethodGet, s.PublicURL+"sessions/whoami", nil)
	req.Header.Set("X-Session-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("whoami: %d", res.StatusCode)
	}
	return nil
}
