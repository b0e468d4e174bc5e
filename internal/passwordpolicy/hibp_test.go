package passwordpolicy

import (
	"context"
	"crypto/sha1" //nolint:gosec // test mirrors the HIBP range API
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two passwords whose SHA-1 digests share the prefix 4F710.
const (
	samePrefixA = "breached-246"
	samePrefixB = "breached-493"
)

func sha1Hex(password string) (prefix, suffix string) {
	sum := sha1.Sum([]byte(password)) //nolint:gosec // see import
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	return h[:5], h[5:]
}

// fakeHIBP is a loopback range API server. ranges maps a prefix to the
// response body; unknown prefixes get an empty 200 response.
type fakeHIBP struct {
	*httptest.Server
	mu       sync.Mutex
	ranges   map[string]string
	status   int
	requests atomic.Int32
	paths    []string
	padding  []string
	block    chan struct{} // if non-nil, requests wait until it is closed
}

func newFakeHIBP(t *testing.T) *fakeHIBP {
	t.Helper()
	f := &fakeHIBP{ranges: map[string]string{}, status: http.StatusOK}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.Path)
		f.padding = append(f.padding, r.Header.Get("Add-Padding"))
		status, block := f.status, f.block
		body := f.ranges[strings.TrimPrefix(r.URL.Path, "/range/")]
		f.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		if status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

// setBreached adds password with count (and some other suffixes) to the
// range of its prefix, using CRLF line endings like the real API.
func (f *fakeHIBP) setBreached(password string, count int) {
	prefix, suffix := sha1Hex(password)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges[prefix] += fmt.Sprintf("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n%s:%d\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n", suffix, count)
}

func hibpConfig(f *fakeHIBP) Config {
	cfg := DefaultConfig()
	cfg.HIBPHost = f.URL
	return cfg
}

func wantBreached(t *testing.T, err error) {
	t.Helper()
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Reason != reasonBreached {
		t.Fatalf("Validate = %v, want breach PolicyError", err)
	}
}

func TestHIBPBreachCounts(t *testing.T) {
	const password = "Tr0ub4dor&3"
	cases := []struct {
		name        string
		count       int
		maxBreaches int
		breached    bool
	}{
		{"found, max 0", 1, 0, true},
		{"found many times, max 0", 3861493, 0, true},
		{"found below max", 5, 10, false},
		{"found at max", 10, 10, false},
		{"found above max", 11, 10, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeHIBP(t)
			f.setBreached(password, c.count)
			cfg := hibpConfig(f)
			cfg.MaxBreaches = c.maxBreaches
			err := New(cfg, f.Client()).Validate(context.Background(), "alice@example.com", password)
			if c.breached {
				wantBreached(t, err)
			} else if err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

func TestHIBPRequest(t *testing.T) {
	f := newFakeHIBP(t)
	const password = "correct horse battery staple"
	if err := New(hibpConfig(f), f.Client()).Validate(context.Background(), "alice", password); err != nil {
		t.Fatalf("Validate(not found) = %v, want nil", err)
	}
	prefix, _ := sha1Hex(password)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.paths) != 1 || f.paths[0] != "/range/"+prefix {
		t.Errorf("paths = %v, want [/range/%s]", f.paths, prefix)
	}
	if f.padding[0] != "true" {
		t.Errorf("Add-Padding header = %q, want true", f.padding[0])
	}
}

func TestHIBPResponseFormats(t *testing.T) {
	const password = "p@ssw0rd-format"
	prefix, suffix := sha1Hex(password)
	cases := []struct {
		name     string
		body     string
		breached bool
	}{
		{"CRLF", "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n" + suffix + ":3\r\n", true},
		{"LF", "0018A45C4D1DEF81644B54AB7F969B88D65:1\n" + suffix + ":3\n", true},
		{"no trailing newline", suffix + ":3", true},
		{"lower case suffix", strings.ToLower(suffix) + ":3\r\n", true},
		{"padding entry with count 0", "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n" + suffix + ":0\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0", false},
		{"padding entries around a hit", "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n" + suffix + ":2\r\nFFD4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n", true},
		{"only other suffixes", "0018A45C4D1DEF81644B54AB7F969B88D65:7\r\n", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeHIBP(t)
			f.ranges[prefix] = c.body
			err := New(hibpConfig(f), f.Client()).Validate(context.Background(), "alice", password)
			if c.breached {
				wantBreached(t, err)
			} else if err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

// refusedURL returns the URL of a loopback port nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

func TestHIBPFailures(t *testing.T) {
	const password = "p@ssw0rd-failure"
	prefix, suffix := sha1Hex(password)
	type setup func(t *testing.T) (host string, client *http.Client)
	server := func(status int, body string) setup {
		return func(t *testing.T) (string, *http.Client) {
			f := newFakeHIBP(t)
			f.status = status
			f.ranges[prefix] = body
			return f.URL, f.Client()
		}
	}
	cases := []struct {
		name  string
		setup setup
	}{
		{"status 500", server(http.StatusInternalServerError, "")},
		{"status 429", server(http.StatusTooManyRequests, "")},
		{"connection refused", func(t *testing.T) (string, *http.Client) {
			return refusedURL(t), &http.Client{Timeout: 5 * time.Second}
		}},
		{"malformed line", server(http.StatusOK, suffix+"\r\n")},
		{"malformed count", server(http.StatusOK, suffix+":many\r\n")},
		{"negative count", server(http.StatusOK, suffix+":-1\r\n")},
		{"short suffix", server(http.StatusOK, "ABC:1\r\n")},
		{"non-hex suffix", server(http.StatusOK, strings.Repeat("Z", 35)+":1\r\n")},
		{"oversized body", server(http.StatusOK, strings.Repeat(suffix+":0\r\n", maxRangeBody/39+1))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ignore := range []bool{true, false} {
				host, client := c.setup(t)
				cfg := DefaultConfig()
				cfg.HIBPHost = host
				cfg.IgnoreNetworkErrors = ignore
				err := New(cfg, client).Validate(context.Background(), "alice", password)
				if ignore {
					if err != nil {
						t.Errorf("ignore_network_errors=true: Validate = %v, want nil", err)
					}
					continue
				}
				var pe *PolicyError
				if err == nil || errors.As(err, &pe) || !errors.Is(err, ErrBreachCheckFailed) {
					t.Errorf("ignore_network_errors=false: Validate = %v, want ErrBreachCheckFailed", err)
				}
			}
		})
	}
}

func TestHIBPFailureIsNotCached(t *testing.T) {
	f := newFakeHIBP(t)
	f.status = http.StatusServiceUnavailable
	v := New(hibpConfig(f), f.Client())
	const password = "p@ssw0rd-retry"
	_ = v.Validate(context.Background(), "alice", password)
	f.mu.Lock()
	f.status = http.StatusOK
	f.mu.Unlock()
	f.setBreached(password, 1)
	wantBreached(t, v.Validate(context.Background(), "alice", password))
	if n := f.requests.Load(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestHIBPCache(t *testing.T) {
	f := newFakeHIBP(t)
	f.setBreached(samePrefixA, 4)
	v := New(hibpConfig(f), f.Client())
	ctx := context.Background()

	wantBreached(t, v.Validate(ctx, "alice", samePrefixA))
	wantBreached(t, v.Validate(ctx, "alice", samePrefixA))
	// Same prefix, not in the range: answered from the cached range.
	if err := v.Validate(ctx, "alice", samePrefixB); err != nil {
		t.Fatalf("Validate(%s) = %v, want nil", samePrefixB, err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Fatalf("requests = %d, want 1", n)
	}
	// Another prefix needs another request.
	if err := v.Validate(ctx, "alice", "an unrelated passphrase"); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	if n := f.requests.Load(); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}
}

func TestHIBPCacheDisabled(t *testing.T) {
	f := newFakeHIBP(t)
	cfg := hibpConfig(f)
	cfg.CacheSize = -1
	v := New(cfg, f.Client())
	for range 3 {
		if err := v.Validate(context.Background(), "alice", "uncached passphrase"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.requests.Load(); n != 3 {
		t.Fatalf("requests = %d, want 3", n)
	}
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestHIBPCacheExpiry(t *testing.T) {
	f := newFakeHIBP(t)
	cfg := hibpConfig(f)
	cfg.CacheTTL = time.Minute
	v := New(cfg, f.Client())
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	v.cache.now = clock.Now
	ctx := context.Background()

	validate := func() {
		t.Helper()
		if err := v.Validate(ctx, "alice", "expiring passphrase"); err != nil {
			t.Fatal(err)
		}
	}
	validate()
	clock.Advance(59 * time.Second)
	validate()
	if n := f.requests.Load(); n != 1 {
		t.Fatalf("requests before expiry = %d, want 1", n)
	}
	clock.Advance(2 * time.Second)
	validate()
	if n := f.requests.Load(); n != 2 {
		t.Fatalf("requests after expiry = %d, want 2", n)
	}
}

func TestHIBPCacheEviction(t *testing.T) {
	f := newFakeHIBP(t)
	cfg := hibpConfig(f)
	cfg.CacheSize = 2
	v := New(cfg, f.Client())
	ctx := context.Background()
	// Three passphrases with distinct prefixes.
	p1, p2, p3 := "first passphrase", "second passphrase", "third passphrase"
	for _, p := range []string{p1, p2, p3} {
		for _, q := range []string{p1, p2, p3} {
			if p != q {
				a, _ := sha1Hex(p)
				b, _ := sha1Hex(q)
				if a == b {
					t.Fatalf("test passphrases share a prefix")
				}
			}
		}
	}
	steps := []struct {
		password string
		requests int32
	}{
		{p1, 1}, // cache: p1
		{p2, 2}, // cache: p2, p1
		{p1, 2}, // hit; cache: p1, p2
		{p3, 3}, // evicts p2; cache: p3, p1
		{p1, 3}, // hit
		{p2, 4}, // miss: was evicted
	}
	for i, s := range steps {
		if err := v.Validate(ctx, "alice", s.password); err != nil {
			t.Fatal(err)
		}
		if n := f.requests.Load(); n != s.requests {
			t.Fatalf("step %d (%s): requests = %d, want %d", i, s.password, n, s.requests)
		}
	}
}

func TestHIBPConcurrentLookupsShareOneRequest(t *testing.T) {
	f := newFakeHIBP(t)
	f.block = make(chan struct{})
	f.setBreached(samePrefixA, 2)
	v := New(hibpConfig(f), f.Client())

	const n = 10
	errs := make(chan error, n)
	for range n {
		go func() { errs <- v.Validate(context.Background(), "alice", samePrefixA) }()
	}
	// Wait for the first request to arrive, then let it complete.
	deadline := time.Now().Add(5 * time.Second)
	for f.requests.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(f.block)
	for range n {
		wantBreached(t, <-errs)
	}
	if got := f.requests.Load(); got != 1 {
		t.Fatalf("requests = %d, want 1", got)
	}
}

func TestHIBPCallerCancellation(t *testing.T) {
	f := newFakeHIBP(t)
	f.block = make(chan struct{})
	defer close(f.block)
	v := New(hibpConfig(f), f.Client())

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := v.Validate(ctx, "alice", "slow passphrase")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Validate = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Validate returned after %v", d)
	}
}

func TestHIBPNotContacted(t *testing.T) {
	f := newFakeHIBP(t)
	ctx := context.Background()

	disabled := hibpConfig(f)
	disabled.HIBPEnabled = false
	if err := New(disabled, f.Client()).Validate(ctx, "alice", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	// Rules checked before the lookup short-circuit it.
	v := New(hibpConfig(f), f.Client())
	for _, pw := range []string{"short", "alice@example.com"} {
		var pe *PolicyError
		if err := v.Validate(ctx, "alice@example.com", pw); !errors.As(err, &pe) {
			t.Fatalf("Validate(%q) = %v, want PolicyError", pw, err)
		}
	}
	if n := f.requests.Load(); n != 0 {
		t.Fatalf("requests = %d, want 0", n)
	}
}
