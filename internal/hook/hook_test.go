package hook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpclient"
	"github.com/hoplite-id/hoplite/internal/identity"
)

// received is one request a test hook server got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// hookServer records every request and answers with status(n) for the n-th
// request (1-based); nil answers 200.
type hookServer struct {
	*httptest.Server
	hits atomic.Int32
	reqs chan received
}

func newHookServer(t *testing.T, status func(n int32, r *http.Request) int) *hookServer {
	t.Helper()
	s := &hookServer{reqs: make(chan received, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		s.reqs <- received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
		code := http.StatusOK
		if status != nil {
			code = status(n, r)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(s.Close)
	return s
}

// next returns the next recorded request, failing the test when none
// arrives in time.
func (s *hookServer) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the hook server received no request")
		return received{}
	}
}

// testClient retries quickly.
func testClient(opts httpclient.Options) *http.Client {
	opts.RetryWaitMin, opts.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	return httpclient.New(opts)
}

func newRunner(cfg *config.Config) *Runner {
	if cfg == nil {
		cfg = &config.Config{}
	}
	return FromConfig(cfg, testClient(httpclient.Options{}), nil)
}

func webHook(url string, mod ...func(*config.WebHookConfig)) config.Hook {
	c := &config.WebHookConfig{URL: url, Method: http.MethodPost}
	for _, m := range mod {
		m(c)
	}
	return config.Hook{Hook: config.HookWebHook, Config: c}
}

func withBody(body string) func(*config.WebHookConfig) {
	return func(c *config.WebHookConfig) { c.Body = body }
}

func b64(s string) string { return "base64://" + base64.StdEncoding.EncodeToString([]byte(s)) }

var testFlowID = uuid.MustParse("5f7c0b3e-8f2a-4c51-9d0e-1a2b3c4d5e6f")

func testFlow(kind flow.Kind) *flow.Flow {
	now := time.Date(2022, 3, 1, 12, 0, 0, 0, time.UTC)
	return &flow.Flow{
		ID: testFlowID, Kind: kind, Type: flow.TypeBrowser,
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now,
		RequestURL: "http://127.0.0.1:4433/self-service/" + string(kind) + "/browser",
	}
}

func testIdentity() *identity.Identity {
	return &identity.Identity{
		ID:       uuid.MustParse("0e4a1c4f-7d3b-4bb4-9b6e-2f0c8e0c1d2a"),
		SchemaID: "default",
		State:    identity.State("active"),
		Traits:   json.RawMessage(`{"email":"ada@example.com","name":"Ada"}`),
		Credentials: map[identity.CredentialsType]identity.Credentials{
			identity.CredentialsPassword: {
				Type: identity.CredentialsPassword, Identifiers: []string{"ada@example.com"},
				Config: json.RawMessage(`{"hashed_password":"$2a$12$SECRET-HASH"}`),
			},
		},
		MetadataAdmin: json.RawMessage(`{"note":"ADMIN-ONLY"}`),
	}
}

// incoming is the end user's request that made the flow run its hooks.
func incoming() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow="+testFlowID.String(), strings.NewReader("csrf_token=x"))
	r.Header.Set("User-Agent", "Browser/1.0")
	r.Header.Set("Accept-Language", "de")
	r.Header.Set("Cookie", "ory_kratos_session=abc")
	return r
}

const fullTemplate = `function(ctx) {
  flow_id: ctx.flow.id,
  flow_type: ctx.flow.type,
  email: if ctx.identity != null then ctx.identity.traits.email else null,
  identity: ctx.identity,
  user_agent: ctx.request_headers['User-Agent'][0],
  cookie: ctx.request_headers['Cookie'][0],
  method: ctx.request_method,
  url: ctx.request_url,
}`

type renderedBody struct {
	FlowID    string          `json:"flow_id"`
	FlowType  string          `json:"flow_type"`
	Email     *string         `json:"email"`
	Identity  json.RawMessage `json:"identity"`
	UserAgent string          `json:"user_agent"`
	Cookie    string          `json:"cookie"`
	Method    string          `json:"method"`
	URL       string          `json:"url"`
}

func TestAfterSendsRenderedBody(t *testing.T) {
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	hooks := []config.Hook{webHook(srv.URL+"/after", func(c *config.WebHookConfig) {
		c.Method = http.MethodPut
		c.Body = b64(fullTemplate)
	})}
	if err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks); err != nil {
		t.Fatalf("After: %v", err)
	}
	got := srv.next(t)
	if got.Method != http.MethodPut || got.Path != "/after" {
		t.Errorf("request = %s %s, want PUT /after", got.Method, got.Path)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body renderedBody
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("body %s: %v", got.Body, err)
	}
	if body.FlowID != testFlowID.String() || body.FlowType != "browser" {
		t.Errorf("flow id/type = %q/%q", body.FlowID, body.FlowType)
	}
	if body.Email == nil || *body.Email != "ada@example.com" {
		t.Errorf("email = %v", body.Email)
	}
	if body.UserAgent != "Browser/1.0" || body.Cookie != "ory_kratos_session=abc" {
		t.Errorf("request headers = %q / %q", body.UserAgent, body.Cookie)
	}
	if body.Method != http.MethodPost || body.URL != "/self-service/login?flow="+testFlowID.String() {
		t.Errorf("request method/url = %q %q", body.Method, body.URL)
	}
	// The identity is the public one: no credentials, no admin metadata.
	if bytes.Contains(got.Body, []byte("SECRET-HASH")) || bytes.Contains(got.Body, []byte("ADMIN-ONLY")) || bytes.Contains(got.Body, []byte(`"credentials"`)) {
		t.Errorf("the body leaks credentials or admin metadata: %s", got.Body)
	}
	if !strings.Contains(compact(t, body.Identity), `"schema_id":"default"`) {
		t.Errorf("identity = %s", body.Identity)
	}
}

func TestBeforeHasNullIdentity(t *testing.T) {
	srv := newHookServer(t, nil)
	cfg := &config.Config{}
	cfg.Selfservice.Flows.Login.Before.Hooks = []config.Hook{webHook(srv.URL, withBody(b64(`function(ctx) { identity: ctx.identity, flow: ctx.flow.id }`)))}
	if err := newRunner(cfg).Before(context.Background(), incoming(), testFlow(flow.Login)); err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	want := `{"flow":"` + testFlowID.String() + `","identity":null}`
	if compact(t, got.Body) != want {
		t.Errorf("body = %s, want %s", got.Body, want)
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return buf.String()
}

func TestTemplateLocations(t *testing.T) {
	const tmpl = `function(ctx) { flow: ctx.flow.id }`
	want := `{"flow":"` + testFlowID.String() + `"}`

	dir := t.TempDir()
	// A file template may import a library next to it.
	if err := os.WriteFile(filepath.Join(dir, "lib.libsonnet"), []byte(`{ key: "flow" }`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "body.jsonnet")
	if err := os.WriteFile(path, []byte(`local lib = import "lib.libsonnet"; function(ctx) { [lib.key]: ctx.flow.id }`), 0o600); err != nil {
		t.Fatal(err)
	}
	var templateFetches atomic.Int32
	templates := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		templateFetches.Add(1)
		io.WriteString(w, tmpl)
	}))
	defer templates.Close()

	srv := newHookServer(t, nil)
	r := newRunner(nil)
	for _, loc := range []string{b64(tmpl), "file://" + path, path, templates.URL + "/body.jsonnet"} {
		for range 2 { // the second call is served from the cache
			if err := r.After(context.Background(), incoming(), testFlow(flow.Registration), "password", testIdentity(), []config.Hook{webHook(srv.URL, withBody(loc))}); err != nil {
				t.Fatalf("%s: %v", httpclient.Redact(loc), err)
			}
			if got := compact(t, srv.next(t).Body); got != want {
				t.Errorf("%s: body = %s, want %s", httpclient.Redact(loc), got, want)
			}
		}
	}
	if n := templateFetches.Load(); n != 1 {
		t.Errorf("the http template was fetched %d times, want once", n)
	}
}

func TestRemoteTemplateCannotReadFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := newHookServer(t, nil)
	err := newRunner(nil).After(context.Background(), incoming(), testFlow(flow.Login), "password", nil,
		[]config.Hook{webHook(srv.URL, withBody(b64(`function(ctx) { s: importstr "`+secret+`" }`)))})
	if err == nil {
		t.Fatal("a base64 template read a local file")
	}
	if srv.hits.Load() != 0 {
		t.Error("the hook was called")
	}
}

func TestTemplateCancel(t *testing.T) {
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	tmpl := b64(`function(ctx) if ctx.identity == null then error "cancel" else { ok: true }`)
	hooks := []config.Hook{webHook(srv.URL, withBody(tmpl))}

	if err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", nil, hooks); err != nil {
		t.Fatalf("a cancelled hook failed: %v", err)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("a cancelled hook was called %d times", n)
	}
	// The same template without cancelling calls the hook.
	if err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks); err != nil {
		t.Fatal(err)
	}
	if got := compact(t, srv.next(t).Body); got != `{"ok":true}` {
		t.Errorf("body = %s", got)
	}
	// Any other error is a failure.
	err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", nil,
		[]config.Hook{webHook(srv.URL, withBody(b64(`function(ctx) error "cancelled"`)))})
	var he *Error
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("err = %v, want a *hook.Error", err)
	}
}

func TestBrokenTemplates(t *testing.T) {
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	for name, body := range map[string]string{
		"syntax":         b64(`function(ctx) { flow: `),
		"runtime":        b64(`function(ctx) { x: ctx.no_such_field }`),
		"missing file":   "file://" + filepath.Join(t.TempDir(), "missing.jsonnet"),
		"bad base64":     "base64://%%%",
		"remote 404":     srv.URL + "/templates/missing.jsonnet",
		"unknown scheme": "ftp://example.com/body.jsonnet",
	} {
		before := srv.hits.Load()
		err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), []config.Hook{webHook(srv.URL+"/hook", withBody(body))})
		var he *Error
		if !errors.As(err, &he) {
			t.Errorf("%s: err = %v, want a *hook.Error", name, err)
			continue
		}
		if he.StatusCode != 0 {
			t.Errorf("%s: status code %d on a template error", name, he.StatusCode)
		}
		// The template server counts too for "remote 404"; the hook itself
		// must not be called.
		for srv.hits.Load() > before {
			if got := srv.next(t); got.Path == "/hook" {
				t.Errorf("%s: the hook was called", name)
			}
			before++
		}
	}
}

func TestNoBodySendsNoBody(t *testing.T) {
	srv := newHookServer(t, nil)
	if err := newRunner(nil).After(context.Background(), incoming(), testFlow(flow.Settings), "profile", testIdentity(), []config.Hook{webHook(srv.URL)}); err != nil {
		t.Fatal(err)
	}
	got := srv.next(t)
	if len(got.Body) != 0 || got.Header.Get("Content-Type") != "" {
		t.Errorf("body %q, Content-Type %q; want none", got.Body, got.Header.Get("Content-Type"))
	}
}

func TestAuth(t *testing.T) {
	cases := []struct {
		name  string
		auth  config.WebHookAuth
		check func(h http.Header) bool
	}{
		{"api key header", config.WebHookAuth{Type: AuthAPIKey, Config: config.WebHookAuthConfig{Name: "X-Hook-Key", Value: "k3y", In: "header"}},
			func(h http.Header) bool { return h.Get("X-Hook-Key") == "k3y" && h.Get("Cookie") == "" }},
		{"api key cookie", config.WebHookAuth{Type: AuthAPIKey, Config: config.WebHookAuthConfig{Name: "hook_key", Value: "c00kie", In: "cookie"}},
			func(h http.Header) bool {
				c, err := (&http.Request{Header: h}).Cookie("hook_key")
				return err == nil && c.Value == "c00kie" && h.Get("hook_key") == ""
			}},
		{"basic auth", config.WebHookAuth{Type: AuthBasicAuth, Config: config.WebHookAuthConfig{User: "hoplite", Password: "s3cret"}},
			func(h http.Header) bool {
				u, p, ok := (&http.Request{Header: h}).BasicAuth()
				return ok && u == "hoplite" && p == "s3cret"
			}},
	}
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	for _, c := range cases {
		auth := c.auth
		err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(),
			[]config.Hook{webHook(srv.URL, func(w *config.WebHookConfig) { w.Auth = &auth })})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := srv.next(t); !c.check(got.Header) {
			t.Errorf("%s: headers %v", c.name, got.Header)
		}
	}

	err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", nil,
		[]config.Hook{webHook(srv.URL, func(w *config.WebHookConfig) { w.Auth = &config.WebHookAuth{Type: "oauth2"} })})
	if err == nil || !strings.Contains(err.Error(), `unsupported auth type "oauth2"`) {
		t.Errorf("unknown auth type: err = %v", err)
	}
}

func TestFailingHookInterruptsFlow(t *testing.T) {
	for _, c := range []struct {
		status, attempts int
	}{
		{http.StatusInternalServerError, 3}, // retried twice
		{http.StatusBadGateway, 3},
		{http.StatusForbidden, 1}, // not retried
		{http.StatusBadRequest, 1},
	} {
		srv := newHookServer(t, func(int32, *http.Request) int { return c.status })
		err := newRunner(nil).After(context.Background(), incoming(), testFlow(flow.Registration), "password", testIdentity(), []config.Hook{webHook(srv.URL)})
		var he *Error
		if !errors.As(err, &he) || he.StatusCode != c.status {
			t.Errorf("status %d: err = %#v", c.status, err)
			continue
		}
		if want := fmt.Sprintf("web hook failed with status code %d", c.status); err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
		if n := srv.hits.Load(); int(n) != c.attempts {
			t.Errorf("status %d: %d attempts, want %d", c.status, n, c.attempts)
		}
	}
}

func TestRetriesRecover(t *testing.T) {
	srv := newHookServer(t, func(n int32, _ *http.Request) int {
		if n < 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	err := newRunner(nil).After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), []config.Hook{webHook(srv.URL, withBody(b64(`function(ctx) { id: ctx.flow.id }`)))})
	if err != nil {
		t.Fatalf("the third attempt succeeded, yet: %v", err)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("attempts = %d, want 3", n)
	}
	for range 3 { // every attempt carries the body
		if got := compact(t, srv.next(t).Body); got != `{"id":"`+testFlowID.String()+`"}` {
			t.Errorf("body = %s", got)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = newRunner(nil).After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), []config.Hook{webHook("http://" + addr + "/hook?token=hidden")})
	var he *Error
	if !errors.As(err, &he) || he.StatusCode != 0 {
		t.Fatalf("err = %v, want a transport *hook.Error", err)
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %q", err)
	}
	if strings.Contains(err.Error(), "hidden") {
		t.Errorf("the error repeats the query string: %q", err)
	}
}

// syncBuffer is a log destination that background hooks may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestIgnoredResponseRunsInBackground(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	srv := newHookServer(t, func(_ int32, r *http.Request) int {
		if r.URL.Path == "/slow" {
			<-release // the flow must not wait for this
		}
		return http.StatusInternalServerError
	})
	t.Cleanup(unblock) // runs before the server is closed, even on failure
	var logs syncBuffer
	r := FromConfig(&config.Config{}, testClient(httpclient.Options{Retries: -1}), slog.New(slog.NewTextHandler(&logs, nil)))
	okSrv := newHookServer(t, nil)
	ignore := func(c *config.WebHookConfig) { c.Response.Ignore = true }
	hooks := []config.Hook{
		webHook(srv.URL+"/slow", ignore, withBody(b64(`function(ctx) { id: ctx.flow.id }`))),
		webHook(okSrv.URL + "/sync-ok"), // runs synchronously after the ignored one
	}

	done := make(chan error, 1)
	go func() {
		done <- r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("After with an ignored failing hook: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("After waited for a hook whose response is ignored")
	}
	// The hook after the ignored one ran synchronously.
	if got := okSrv.next(t); got.Path != "/sync-ok" {
		t.Errorf("sync hook path = %s", got.Path)
	}
	// The background call happens, with its body.
	got := srv.next(t)
	if got.Path != "/slow" || compact(t, got.Body) != `{"id":"`+testFlowID.String()+`"}` {
		t.Errorf("background call = %s %s", got.Path, got.Body)
	}
	// Wait respects its context while the background hook is blocked.
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait returned %v while a hook was still running", err)
	}
	unblock()
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "status code 500") {
		t.Errorf("the background failure was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "ory_kratos_session") || strings.Contains(logs.String(), "Browser/1.0") {
		t.Errorf("request headers were logged: %s", logs.String())
	}
}

func TestIgnoredHookSurvivesCancelledRequest(t *testing.T) {
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	ctx, cancel := context.WithCancel(context.Background())
	err := r.After(ctx, incoming(), testFlow(flow.Login), "password", testIdentity(),
		[]config.Hook{webHook(srv.URL, func(c *config.WebHookConfig) { c.Response.Ignore = true })})
	cancel() // the end user's request is over
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.next(t); got.Method != http.MethodPost {
		t.Errorf("method = %s", got.Method)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestDisallowPrivateIPRanges(t *testing.T) {
	srv := newHookServer(t, nil)
	hooks := []config.Hook{webHook(srv.URL)}

	cfg := &config.Config{}
	cfg.Clients.HTTP.DisallowPrivateIPRanges = true
	err := FromConfig(cfg, nil, nil).After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks)
	var be *httpclient.BlockedAddressError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a refused address", err)
	}
	var he *Error
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "refusing to connect to 127.0.0.1") || !strings.Contains(err.Error(), "not a public IP address") {
		t.Errorf("err = %q", err)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}

	if err := FromConfig(&config.Config{}, nil, nil).After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks); err != nil {
		t.Fatalf("without disallow_private_ip_ranges: %v", err)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("hits = %d, want 1", n)
	}
}

func TestBeforeDispatch(t *testing.T) {
	srv := newHookServer(t, nil)
	cfg := &config.Config{}
	cfg.Selfservice.Flows.Login.Before.Hooks = []config.Hook{webHook(srv.URL + "/login-before")}
	cfg.Selfservice.Flows.Registration.Before.Hooks = []config.Hook{webHook(srv.URL + "/registration-before")}
	// After hooks must not run on Before.
	cfg.Selfservice.Flows.Login.After.Hooks = []config.Hook{webHook(srv.URL + "/login-after")}
	r := newRunner(cfg)

	for kind, want := range map[flow.Kind]string{flow.Login: "/login-before", flow.Registration: "/registration-before"} {
		if err := r.Before(context.Background(), incoming(), testFlow(kind)); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got := srv.next(t); got.Path != want {
			t.Errorf("%s: called %s, want %s", kind, got.Path, want)
		}
	}
	for _, kind := range []flow.Kind{flow.Settings, flow.Recovery, flow.Verification} {
		if err := r.Before(context.Background(), incoming(), testFlow(kind)); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("hits = %d, want 2", n)
	}

	// A failing before hook fails.
	failing := newHookServer(t, func(int32, *http.Request) int { return http.StatusForbidden })
	cfg.Selfservice.Flows.Registration.Before.Hooks = []config.Hook{webHook(failing.URL)}
	r = newRunner(cfg)
	if err := r.Before(context.Background(), incoming(), testFlow(flow.Registration)); err == nil || !strings.Contains(err.Error(), "status code 403") {
		t.Errorf("err = %v", err)
	}
}

func TestAfterRunsOnlyWebHooksInOrder(t *testing.T) {
	srv := newHookServer(t, func(_ int32, r *http.Request) int {
		if r.URL.Path == "/fail" {
			return http.StatusForbidden
		}
		return http.StatusOK
	})
	r := newRunner(nil)
	hooks := []config.Hook{
		{Hook: config.HookSession},
		webHook(srv.URL + "/a"),
		{Hook: config.HookRevokeActiveSessions},
		{Hook: config.HookRequireVerifiedAddress},
		webHook(srv.URL + "/b"),
	}
	if err := r.After(context.Background(), incoming(), testFlow(flow.Registration), "password", testIdentity(), hooks); err != nil {
		t.Fatal(err)
	}
	if a, b := srv.next(t).Path, srv.next(t).Path; a != "/a" || b != "/b" {
		t.Errorf("order = %s, %s", a, b)
	}
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("hits = %d, want 2", n)
	}

	// The first failure stops the list.
	hooks = []config.Hook{webHook(srv.URL + "/fail"), webHook(srv.URL + "/after-fail")}
	if err := r.After(context.Background(), incoming(), testFlow(flow.Registration), "password", testIdentity(), hooks); err == nil {
		t.Fatal("a 403 did not fail")
	}
	if got := srv.next(t); got.Path != "/fail" {
		t.Errorf("path = %s", got.Path)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("the hook after the failing one ran (hits = %d)", n)
	}

	// A list without web hooks makes no calls; nor does an empty one.
	for _, hs := range [][]config.Hook{nil, {{Hook: config.HookSession}}} {
		if err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hs); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("hits = %d, want 3", n)
	}
	// A web_hook without config is an error, not a panic.
	if err := r.After(context.Background(), incoming(), testFlow(flow.Login), "password", nil, []config.Hook{{Hook: config.HookWebHook}}); err == nil {
		t.Error("a web_hook without config did not fail")
	}
}

func TestConcurrentHooksShareTemplate(t *testing.T) {
	srv := newHookServer(t, nil)
	r := newRunner(nil)
	hooks := []config.Hook{webHook(srv.URL, withBody(b64(`function(ctx) { email: ctx.identity.traits.email, n: std.length(ctx.flow.id) }`)))}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			errs <- r.After(context.Background(), incoming(), testFlow(flow.Login), "password", testIdentity(), hooks)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if got := compact(t, srv.next(t).Body); got != `{"email":"ada@example.com","n":36}` {
			t.Fatalf("body = %s", got)
		}
	}
}
