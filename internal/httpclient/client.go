// Package httpclient builds the HTTP client Hoplite uses for outbound calls
// to addresses taken from the configuration (web hooks, remote templates):
// bounded timeouts, bounded retries with backoff, a bounded number of
// redirects, and, with clients.http.disallow_private_ip_ranges, refusal to
// connect to any address that is not publicly routable.
//
// The address check runs when a connection is dialled, on the IP address the
// host name resolved to, so it holds for every resolution (DNS rebinding),
// for every redirect hop, and for every retry.
package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
)

// Defaults of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultDialTimeout  = 10 * time.Second
	DefaultRetries      = 2
	DefaultRetryWaitMin = 500 * time.Millisecond
	DefaultRetryWaitMax = 5 * time.Second
	DefaultMaxRedirects = 5
)

// Options configure New. Zero values select the defaults above.
type Options struct {
	// DisallowPrivateIPRanges refuses connections to every address that is
	// not publicly routable (see IsPublic). It also disables proxies from
	// the environment, since a proxy would resolve and connect on our behalf.
	DisallowPrivateIPRanges bool
	// Timeout bounds one call of Client.Do, including redirects, retries and
	// the waits between them, and reading the response body.
	Timeout time.Duration
	// DialTimeout bounds establishing one connection.
	DialTimeout time.Duration
	// Retries is the number of further attempts after a transport error or
	// a 5xx response; 0 selects DefaultRetries, a negative value none.
	Retries int
	// RetryWaitMin is the wait before the first retry; it doubles for each
	// further retry up to RetryWaitMax.
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// MaxRedirects is the number of redirects followed; 0 selects
	// DefaultMaxRedirects, a negative value follows none (the redirect
	// response is returned as is).
	MaxRedirects int
}

// FromConfig returns the options the configuration asks for
// (clients.http.*), with default timeouts and retries.
func FromConfig(cfg *config.Config) Options {
	if cfg == nil {
		return Options{}
	}
	return Options{DisallowPrivateIPRanges: cfg.Clients.HTTP.DisallowPrivateIPRanges}
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = DefaultRetryWaitMin
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = DefaultRetryWaitMax
	}
	if o.RetryWaitMax < o.RetryWaitMin {
		o.RetryWaitMax = o.RetryWaitMin
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	return o
}

// New returns a client configured by opts. It is safe for concurrent use and
// should be shared (it keeps a connection pool).
func New(opts Options) *http.Client {
	opts = opts.withDefaults()
	dialer := &net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if opts.DisallowPrivateIPRanges {
		dialer.Control = refuseNonPublic
		proxy = nil
	}
	transport := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.DialTimeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &retryTransport{
			base:    transport,
			retries: opts.Retries,
			waitMin: opts.RetryWaitMin,
			waitMax: opts.RetryWaitMax,
		},
		CheckRedirect: checkRedirect(opts.MaxRedirects),
		Timeout:       opts.Timeout,
	}
}

// BlockedAddressError is returned (wrapped) when a connection to a
// non-public address was refused.
type BlockedAddressError struct {
	Addr netip.Addr
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: it is not a public IP address (clients.http.disallow_private_ip_ranges is enabled)", e.Addr)
}

// refuseNonPublic is a net.Dialer.Control hook: address is the resolved
// "ip:port" about to be connected to.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an IP address (e.g. a Unix socket): never allowed here.
		return fmt.Errorf("refusing to connect to %q: not an IP address (clients.http.disallow_private_ip_ranges is enabled)", address)
	}
	if !IsPublic(ap.Addr()) {
		return &BlockedAddressError{Addr: ap.Addr().WithZone("")}
	}
	return nil
}

// checkRedirect follows at most max redirects. A redirect to another host
// keeps only headers that carry no credentials (the standard library already
// drops Authorization and Cookie; a web hook's API key may be in any header).
func checkRedirect(max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if max < 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > max {
			return fmt.Errorf("stopped after %d redirects", max)
		}
		if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			for name := range req.Header {
				switch http.CanonicalHeaderKey(name) {
				case "Accept", "Accept-Language", "Content-Type", "User-Agent":
				default:
					req.Header.Del(name)
				}
			}
		}
		return nil
	}
}

// retryTransport retries transport errors and 5xx responses with
// exponential backoff.
type retryTransport struct {
	base             http.RoundTripper
	retries          int
	waitMin, waitMax time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	wait := t.waitMin
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		if attempt >= t.retries || !retryable(ctx, resp, err) || (hasBody && req.GetBody == nil) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, t.waitMax)
	}
}

// retryable tells whether an attempt's outcome is worth another try.
func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err == nil {
		return resp.StatusCode >= 500
	}
	var (
		blocked *BlockedAddressError
		unknown x509.UnknownAuthorityError
		verify  *tls.CertificateVerificationError
		hostErr x509.HostnameError
	)
	switch {
	case errors.As(err, &blocked), errors.As(err, &unknown), errors.As(err, &verify), errors.As(err, &hostErr):
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"):
		return false
	}
	return true
}
