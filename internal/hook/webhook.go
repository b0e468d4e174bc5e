package hook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpclient"
)

// Auth types of web_hook.config.auth.type.
const (
	AuthAPIKey    = "api_key"
	AuthBasicAuth = "basic_auth"
)

// call renders the body of wh from tctx and sends the request. A template
// that cancels the call makes it a no-op.
func (r *Runner) call(ctx context.Context, wh *config.WebHookConfig, tctx []byte) error {
	target := httpclient.Redact(wh.URL)
	fail := func(err error) error { return &Error{URL: target, Err: err} }
	if wh.URL == "" || wh.Method == "" {
		return fail(errors.New("web_hook config needs url and method"))
	}

	var body []byte
	if wh.Body != "" {
		t, err := r.templates.get(ctx, wh.Body)
		if err != nil {
			return fail(err)
		}
		body, err = t.render(tctx)
		if errors.Is(err, errCancel) {
			r.logger.Debug("web hook cancelled by its body template", "url", target)
			return nil
		}
		if err != nil {
			return fail(err)
		}
	}

	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body) // NewRequest sets GetBody, so retries can resend it
	}
	req, err := http.NewRequestWithContext(ctx, wh.Method, wh.URL, reqBody)
	if err != nil {
		return fail(errors.New("invalid url or method"))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := setAuth(req, wh.Auth); err != nil {
		return fail(err)
	}

	resp, err := r.client.Do(req)
	if err != nil {
		return fail(httpclient.Unwrap(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= http.StatusBadRequest {
		return &Error{URL: target, StatusCode: resp.StatusCode}
	}
	return nil
}

// setAuth adds the configured credentials to req.
func setAuth(req *http.Request, a *config.WebHookAuth) error {
	if a == nil || a.Type == "" {
		return nil
	}
	c := a.Config
	switch a.Type {
	case AuthAPIKey:
		if c.Name == "" {
			return errors.New("api_key auth needs a name")
		}
		switch strings.ToLower(c.In) {
		case "", "header":
			req.Header.Set(c.Name, c.Value)
		case "cookie":
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		default:
			return fmt.Errorf("api_key auth: unsupported location %q (use header or cookie)", c.In)
		}
	case AuthBasicAuth:
		req.SetBasicAuth(c.User, c.Password)
	default:
		return fmt.Errorf("unsupported auth type %q (use api_key or basic_auth)", a.Type)
	}
	return nil
}
