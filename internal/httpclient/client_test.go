package httpclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsPublic(t *testing.T) {
	cases := []struct {
		ip   string
		want bool
	}{
		// IPv4 public
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"172.32.0.1", true},  // just above 172.16.0.0/12
		{"100.128.0.1", true}, // just above CGNAT
		{"192.169.0.1", true},
		{"11.0.0.1", true},
		// IPv4 non-public
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		// IPv6 public
		{"2606:4700:4700::1111", true},
		{"2001:4860:4860::8888", true},
		{"2a00:1450:4001:80b::200e", true},
		// IPv6 non-public
		{"::", false},
		{"::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456:789a::1", false}, // RFC 4193 unique local
		{"fec0::1", false},           // site-local (deprecated)
		{"ff02::1", false},           // multicast
		{"100::1", false},            // discard-only
		{"2001:db8::1", false},       // documentation
		{"2001::1", false},           // Teredo
		{"3fff::1", false},           // documentation (RFC 9637)
		{"64:ff9b:1::1", false},      // local-use NAT64
		{"::127.0.0.1", false},       // IPv4-compatible (deprecated)
		// IPv4-mapped IPv6 is judged as the IPv4 address
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:8.8.8.8", true},
		// NAT64 and 6to4 embed an IPv4 address
		{"64:ff9b::7f00:1", false}, // 127.0.0.1
		{"64:ff9b::a00:1", false},  // 10.0.0.1
		{"64:ff9b::808:808", true}, // 8.8.8.8
		{"2002:7f00:1::1", false},  // 127.0.0.1
		{"2002:c0a8:101::1", false},
		{"2002:808:808::1", true},
	}
	for _, c := range cases {
		ip, err := netip.ParseAddr(c.ip)
		if err != nil {
			t.Fatalf("bad test address %q: %v", c.ip, err)
		}
		if got := IsPublic(ip); got != c.want {
			t.Errorf("IsPublic(%s) = %v, want %v", c.ip, got, c.want)
		}
	}
	if IsPublic(netip.Addr{}) {
		t.Error("the zero Addr must not be public")
	}
}

func TestRefuseNonPublicControl(t *testing.T) {
	if err := refuseNonPublic("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:80", "[::1]:80", "[::ffff:10.0.0.1]:80", "[fe80::1%lo]:80", "/tmp/socket"} {
		if err := refuseNonPublic("tcp", addr, nil); err == nil {
			t.Errorf("%s was not refused", addr)
		}
	}
}

func fastOptions() Options {
	return Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Timeout: 5 * time.Second}
}

func TestDisallowPrivateIPRanges(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	opts := fastOptions()
	opts.DisallowPrivateIPRanges = true
	blocked := New(opts)
	// By IP and by a host name that resolves to loopback: the check is on
	// the resolved address.
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		_, err := blocked.Get(u)
		if err == nil {
			t.Fatalf("GET %s: a loopback address was not refused", u)
		}
		var be *BlockedAddressError
		if !errors.As(err, &be) {
			t.Fatalf("GET %s: error %v is not a *BlockedAddressError", u, err)
		}
		if !be.Addr.IsLoopback() || !strings.Contains(err.Error(), "not a public IP address") {
			t.Errorf("GET %s: unexpected error %v", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}

	resp, err := New(fastOptions()).Get(srv.URL)
	if err != nil {
		t.Fatalf("without the restriction: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("hits = %d, want 1", hits.Load())
	}
}

func TestRetriesOn5xxAreBounded(t *testing.T) {
	var hits atomic.Int32
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()

	resp, err := New(fastOptions()).Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d", resp.StatusCode)
	}
	if n := hits.Load(); n != 1+DefaultRetries {
		t.Errorf("attempts = %d, want %d", n, 1+DefaultRetries)
	}
	mu.Lock()
	if len(bodies) != 1+DefaultRetries {
		t.Errorf("bodies received: %d", len(bodies))
	}
	for i, b := range bodies {
		if b != `{"a":1}` {
			t.Errorf("attempt %d got body %q", i+1, b)
		}
	}
	mu.Unlock()

	hits.Store(0)
	opts := fastOptions()
	opts.Retries = -1
	resp, err = New(opts).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Errorf("with retries disabled: attempts = %d, want 1", n)
	}
}

func TestRetryRecoversAndSkips4xx(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		switch {
		case r.URL.Path == "/forbidden":
			w.WriteHeader(http.StatusForbidden)
		case n < 3:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	c := New(fastOptions())

	resp, err := c.Get(srv.URL + "/flaky")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits.Load() != 3 {
		t.Errorf("status %d after %d attempts, want 200 after 3", resp.StatusCode, hits.Load())
	}

	hits.Store(10)
	resp, err = c.Get(srv.URL + "/forbidden")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || hits.Load() != 11 {
		t.Errorf("4xx: status %d after %d attempts, want 403 after 1", resp.StatusCode, hits.Load()-10)
	}
}

func TestRetriesTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepts atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			conn.Close() // no response at all
		}
	}()
	_, err = New(fastOptions()).Get("http://" + ln.Addr().String() + "/")
	if err == nil {
		t.Fatal("a closed connection did not fail")
	}
	if n := accepts.Load(); n != 1+DefaultRetries {
		t.Errorf("connections = %d, want %d", n, 1+DefaultRetries)
	}
}

func TestRetryWaitStopsOnContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	opts := fastOptions()
	opts.RetryWaitMin, opts.RetryWaitMax = time.Minute, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err := New(opts).Do(req)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the backoff ignored the context (%v)", d)
	}
}

func TestRetryableSkipsBlockedAddresses(t *testing.T) {
	err := &net.OpError{Op: "dial", Err: &BlockedAddressError{Addr: netip.MustParseAddr("10.0.0.1")}}
	if retryable(context.Background(), nil, err) {
		t.Error("a refused address must not be retried")
	}
	if !retryable(context.Background(), nil, errors.New("connection reset by peer")) {
		t.Error("a transport error must be retried")
	}
	if retryable(context.Background(), &http.Response{StatusCode: 404}, nil) {
		t.Error("a 404 must not be retried")
	}
}

func TestRedirects(t *testing.T) {
	var hits atomic.Int32
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusFound)
	}))
	defer loop.Close()
	_, err := New(fastOptions()).Get(loop.URL)
	if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
		t.Fatalf("err = %v", err)
	}
	if n := hits.Load(); n != DefaultMaxRedirects+1 {
		t.Errorf("requests = %d, want %d", n, DefaultMaxRedirects+1)
	}

	// A redirect to another host carries no credential headers; one to the
	// same host keeps them.
	got := make(chan http.Header, 2)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Clone() }))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/same" {
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
			return
		}
		if r.URL.Path == "/final" {
			got <- r.Header.Clone()
			return
		}
		http.Redirect(w, r, "http://localhost:"+port+"/", http.StatusTemporaryRedirect)
	}))
	defer origin.Close()
	for _, c := range []struct {
		path    string
		wantKey string
	}{{"/other", ""}, {"/same", "secret"}} {
		req, _ := http.NewRequest(http.MethodPost, origin.URL+c.path, strings.NewReader("{}"))
		req.Header.Set("X-Api-Key", "secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := New(fastOptions()).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := <-got
		if h.Get("X-Api-Key") != c.wantKey {
			t.Errorf("%s: X-Api-Key after redirect = %q, want %q", c.path, h.Get("X-Api-Key"), c.wantKey)
		}
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type was dropped", c.path)
		}
	}

	opts := fastOptions()
	opts.MaxRedirects = -1
	resp, err := New(opts).Get(loop.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("with redirects disabled: status = %d, want 302", resp.StatusCode)
	}
}
