package bench

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h Histogram
	for v := 1; v <= 10000; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.9, 9000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {1, 10000 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.02 {
			t.Errorf("q%.2f = %s, want %s ±2%%", c.q, got, c.want)
		}
	}
	if h.Count() != 10000 || h.Max() != 10*time.Millisecond {
		t.Errorf("count %d max %s", h.Count(), h.Max())
	}
	var other Histogram
	other.Record(time.Hour)
	h.Merge(&other)
	if h.Count() != 10001 || h.Max() != time.Hour || h.Quantile(1) != time.Hour {
		t.Errorf("after merge: count %d max %s q1 %s", h.Count(), h.Max(), h.Quantile(1))
	}
	for v := uint64(0); v < 1<<20; v = v*3 + 1 {
		if b := bucketOf(v); b < 0 || b >= len(h.counts) {
			t.Fatalf("bucket %d of %d out of range", b, v)
		}
		if mid := valueOf(bucketOf(v)); v >= 64 && math.Abs(float64(mid)-float64(v))/float64(v) > 0.016 {
			t.Errorf("value %d lands in a bucket around %d", v, mid)
		}
	}
	if b := bucketOf(math.MaxUint64); b >= len(h.counts) {
		t.Fatalf("largest bucket %d out of range", b)
	}
}

// TestRunRate checks the fractional-overlap rate on operations much longer
// than the window's edges would allow a plain count to handle.
func TestRunRate(t *testing.T) {
	r := Run(Phase{
		Name: "sleep", Concurrency: 4, Warmup: 50 * time.Millisecond, Duration: 500 * time.Millisecond,
		NewWorker: func(int) (Op, func()) {
			return func(int) error { time.Sleep(120 * time.Millisecond); return nil }, nil
		},
	})
	// 4 workers, 120 ms each: 33.3 operations per second.
	if r.Rate < 28 || r.Rate > 36 {
		t.Errorf("rate %.1f/s, want about 33", r.Rate)
	}
	if r.Errors != 0 || r.Completed == 0 || r.Latency.Quantile(0.5) < 100*time.Millisecond {
		t.Errorf("result %+v", r)
	}

	n := 0
	r = Run(Phase{
		Name: "capped", Concurrency: 1, Duration: time.Minute, MaxOps: 5,
		NewWorker: func(int) (Op, func()) {
			return func(seq int) error {
				n++
				if seq == 2 {
					return errors.New("boom")
				}
				return nil
			}, nil
		},
	})
	if n != 5 || r.Completed != 4 || r.Errors != 1 || len(r.ErrorSamples) != 1 || r.Window > time.Second {
		t.Errorf("capped: ops %d result %+v", n, r)
	}
}

func TestConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 100000) // chunked
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write([]byte(big))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		default:
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte(r.Header.Get("X-Test") + r.Method))
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	c := NewConn(ln.Addr().String(), 5*time.Second)
	defer c.Close()
	req := &Request{Host: ln.Addr().String()}
	for k := 0; k < 3; k++ {
		st, err := c.Do(req.Build("GET", "/big", nil), true)
		if err != nil || st != 200 || c.Body.String() != big {
			t.Fatalf("big: %d %v %d bytes", st, err, c.Body.Len())
		}
		st, err = c.Do(req.Build("POST", "/x", []byte("{}"), "X-Test", "hi"), true)
		if err != nil || st != http.StatusTeapot || c.Body.String() != "hiPOST" {
			t.Fatalf("post: %d %v %q", st, err, c.Body.String())
		}
		st, err = c.Do(req.Build("GET", "/close", nil), false)
		if err != nil || st != 200 || c.c != nil {
			t.Fatalf("close: %d %v (conn kept: %v)", st, err, c.c != nil)
		}
	}
}

func TestWriteSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	if err := WriteSection(path, "a", "# Title\n", "one"); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(path, "b", "# Title\n", "two"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(mustRead(t, path), "\nhand-written\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(path, "a", "# Title\n", "three\n"); err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\n<!-- hoplite-bench:a begin -->\nthree\n<!-- hoplite-bench:a end -->\n\n<!-- hoplite-bench:b begin -->\ntwo\n<!-- hoplite-bench:b end -->\n\nhand-written\n"
	if got := string(mustRead(t, path)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadMemoryAndCPU(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil || m.RSS == 0 || m.Peak < m.RSS {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	w := WatchPeak(os.Getpid(), 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	if p := w.Stop(); p == 0 {
		t.Error("no peak")
	}
	if Median([]float64{3, 1, 2}) != 2 || Median([]float64{4, 1, 2, 3}) != 2.5 || Median(nil) != 0 {
		t.Error("median")
	}
}

func TestHashRateWarmsUpFirst(t *testing.T) {
	// A failing warm-up call is reported and nothing is measured.
	boom := errors.New("boom")
	var calls atomic.Int64
	rate, err := HashRate(context.Background(), 2, time.Millisecond, func() error {
		calls.Add(1)
		return boom
	})
	if !errors.Is(err, boom) || rate != 0 {
		t.Fatalf("rate %v, err %v; want 0 and the warm-up's error", rate, err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want one warm-up call per goroutine and nothing after the failure", n)
	}

	// Every goroutine makes its warm-up call even when the measured window
	// is over before it starts.
	calls.Store(0)
	if _, err := HashRate(context.Background(), 3, time.Nanosecond, func() error {
		calls.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 3 {
		t.Fatalf("%d calls, want at least the 3 warm-up calls", n)
	}
}
