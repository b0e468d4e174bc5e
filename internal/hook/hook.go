// Package hook runs the web hooks configured before and after self-service
// flows (the web_hook entries of selfservice.flows.*.before.hooks and
// *.after[.<method>].hooks). The other hooks (session,
// revoke_active_sessions, require_verified_address) are the flow engine's.
//
// A web hook renders its request body from a Jsonnet template called with
// one top-level argument, ctx = {flow, request_headers, request_method,
// request_url, identity}, and sends it to the configured URL. A failing
// synchronous hook fails the flow with an *Error; a hook with
// response.ignore runs in the background and its failures are only logged.
//
// Notifier mails an account's owner after a password change or a recovery
// (security.credential_changes.notify; the engine decides when).
package hook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpclient"
	"github.com/hoplite-id/hoplite/internal/identity"
)

// DefaultAsyncTimeout bounds a hook with response.ignore, template loading
// included.
const DefaultAsyncTimeout = time.Minute

// Runner runs web hooks. It implements flow.Hooks.
type Runner struct {
	cfg       Config
	client    *http.Client
	logger    *slog.Logger
	templates *templateCache

	// asyncTimeout bounds each background (response.ignore) hook.
	asyncTimeout time.Duration
	async        sync.WaitGroup
}

var _ flow.Hooks = (*Runner)(nil)

// Config are the hooks the Runner runs itself (after-flow hooks are handed
// to After by the engine).
type Config struct {
	// LoginBefore and RegistrationBefore are
	// selfservice.flows.{login,registration}.before.hooks.
	LoginBefore, RegistrationBefore []config.Hook
}

// New returns a Runner. client sends the hook requests and fetches http(s)
// body templates; a nil client is a default httpclient one. A nil logger
// discards.
func New(c Config, client *http.Client, logger *slog.Logger) *Runner {
	if client == nil {
		client = httpclient.New(httpclient.Options{})
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{
		cfg:          c,
		client:       client,
		logger:       logger,
		templates:    newTemplateCache(client, logger),
		asyncTimeout: DefaultAsyncTimeout,
	}
}

// FromConfig returns a Runner for the hooks of cfg; a nil client is built
// by httpclient.New from cfg (clients.http.disallow_private_ip_ranges).
func FromConfig(cfg *config.Config, client *http.Client, logger *slog.Logger) *Runner {
	if client == nil {
		client = httpclient.New(httpclient.FromConfig(cfg))
	}
	return New(Config{
		LoginBefore:        cfg.Selfservice.Flows.Login.Before.Hooks,
		RegistrationBefore: cfg.Selfservice.Flows.Registration.Before.Hooks,
	}, client, logger)
}

// Before runs the web hooks of selfservice.flows.<kind>.before.hooks (only
// login and registration flows have them).
func (r *Runner) Before(ctx context.Context, req *http.Request, f *flow.Flow) error {
	if f == nil {
		return nil
	}
	var hooks []config.Hook
	switch f.Kind {
	case flow.Login:
		hooks = r.cfg.LoginBefore
	case flow.Registration:
		hooks = r.cfg.RegistrationBefore
	}
	return r.run(ctx, req, f, nil, hooks)
}

// After runs the web_hook entries of hooks, in order, for a flow completed
// with method by identity i. Other entries are skipped.
func (r *Runner) After(ctx context.Context, req *http.Request, f *flow.Flow, method string, i *identity.Identity, hooks []config.Hook) error {
	return r.run(ctx, req, f, i, hooks)
}

// Wait blocks until every background (response.ignore) hook started so far
// has finished, or ctx ends (then it returns ctx's error). Use it on
// shutdown, after the HTTP servers stopped taking requests.
func (r *Runner) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		r.async.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run executes the web hooks of hooks in order; the first failing
// synchronous hook stops the list.
func (r *Runner) run(ctx context.Context, req *http.Request, f *flow.Flow, i *identity.Identity, hooks []config.Hook) error {
	for _, h := range hooks {
		if h.Hook != config.HookWebHook {
			continue
		}
		wh := h.Config
		if wh == nil {
			return &Error{Err: errors.New("web_hook has no config")}
		}
		tctx, err := templateContext(req, f, i, wh.ForwardRequestHeaders)
		if err != nil {
			return &Error{Err: fmt.Errorf("building the template context: %w", err)}
		}
		if wh.Response.Ignore {
			r.async.Add(1)
			go func(wh config.WebHookConfig) {
				defer r.async.Done()
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.asyncTimeout)
				defer cancel()
				if err := r.call(actx, &wh, tctx); err != nil {
					r.logger.Warn("web hook failed; its response is ignored", "url", httpclient.Redact(wh.URL), "error", err)
				}
			}(*wh)
			continue
		}
		if err := r.call(ctx, wh, tctx); err != nil {
			// The client learns only that a hook failed (PublicReason);
			// which one and why is for the operator.
			r.logger.Warn("web hook failed; the flow fails", "url", httpclient.Redact(wh.URL), "error", err)
			return err
		}
	}
	return nil
}

// templateContext is the JSON of the Jsonnet template's ctx argument. It is
// serialised before the hook starts, so background hooks never read the
// flow or identity while the engine changes them. extra names headers to
// forward beyond ForwardedHeaders.
func templateContext(req *http.Request, f *flow.Flow, i *identity.Identity, extra []string) ([]byte, error) {
	c := struct {
		Flow           *flow.Flow         `json:"flow"`
		RequestHeaders http.Header        `json:"request_headers"`
		RequestMethod  string             `json:"request_method"`
		RequestURL     string             `json:"request_url"`
		Identity       *identity.Identity `json:"identity"`
	}{Flow: f, RequestHeaders: http.Header{}}
	if req != nil {
		c.RequestHeaders = forwardedHeaders(req.Header, extra)
		c.RequestMethod = req.Method
		c.RequestURL = req.RequestURI
		if c.RequestURL == "" && req.URL != nil {
			c.RequestURL = req.URL.RequestURI()
		}
	}
	if i != nil {
		c.Identity = i.Public()
	}
	return json.Marshal(c)
}

// ForwardedHeaders are the request headers a hook's template sees (as
// ctx.request_headers). Kratos passes every header; credentials (Cookie,
// Authorization, X-Session-Token, …) would then reach every hook receiver
// and its logs, so only these describe the request.
var ForwardedHeaders = []string{
	"Accept", "Accept-Language", "Content-Type", "Origin", "Referer", "User-Agent",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "True-Client-Ip",
	"X-Request-Id", "Traceparent",
}

// neverForwarded are headers that carry credentials; they are dropped even
// when a hook's forward_request_headers lists them.
var neverForwarded = map[string]bool{
	"Cookie": true, "Authorization": true, "X-Session-Token": true, "X-Session-Cookie": true,
	"Proxy-Authorization": true,
}

func forwardedHeaders(h http.Header, extra []string) http.Header {
	out := http.Header{}
	for _, name := range append(ForwardedHeaders[:len(ForwardedHeaders):len(ForwardedHeaders)], extra...) {
		name = http.CanonicalHeaderKey(name)
		if neverForwarded[name] {
			continue
		}
		if v := h.Values(name); len(v) > 0 {
			out[name] = append([]string(nil), v...)
		}
	}
	return out
}

// Error is a failed web hook. It fails the flow that ran the hook.
type Error struct {
	// URL is the hook's URL without user information or query.
	URL string
	// StatusCode is the status of the hook's response when that was 400 or
	// more, else 0 (transport, template or configuration failure).
	StatusCode int
	// Err is the cause when StatusCode is 0.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.StatusCode > 0:
		return fmt.Sprintf("web hook failed with status code %d", e.StatusCode)
	case e.URL != "":
		return fmt.Sprintf("web hook %s failed: %v", e.URL, e.Err)
	default:
		return fmt.Sprintf("web hook failed: %v", e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// PublicReason is the text the flow engine shows the client: only that a
// hook failed. Its address, status and error stay in the server's log, as
// they tell an outsider about the operator's internal services.
func (e *Error) PublicReason() string {
	return "A web hook of this flow failed; the details are in the server's log."
}
