package bench

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Op performs one operation of a phase (one or more HTTP requests) for the
// worker that owns it; seq counts the worker's operations from 0. A non-nil
// error marks the operation failed.
type Op func(seq int) error

// Phase describes one measurement: Concurrency workers run their Op in a
// closed loop (a new operation as soon as the previous one ends) for
// Warmup+Duration; only the Duration window is measured.
type Phase struct {
	Name        string
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	// MaxOps ends the window early once this many operations completed in
	// it (0: no cap).
	MaxOps int64
	// NewWorker builds worker w's state and returns its Op and a cleanup
	// function (may be nil).
	NewWorker func(w int) (Op, func())
	// Context, when set, stops the workers early when it is done.
	Context context.Context
	// OnStart and OnStop, when set, run just before the workers start and
	// just after they all stopped (e.g. to follow a server's memory).
	OnStart func()
	OnStop  func()
	// WindowStart and WindowEnd, when set, run when the measured window
	// opens and closes (e.g. to read CPU times).
	WindowStart func()
	WindowEnd   func()
}

// Result is what one phase measured.
type Result struct {
	Name string
	// Rate is successful operations per second in the window. Each
	// operation counts with the fraction of its duration that falls in the
	// window, so operations that take seconds (password hashing at high
	// concurrency) are counted as fairly as millisecond ones, without
	// aliasing between the window's edges and bursts of completions.
	Rate float64
	// Completed counts the successful operations that overlap the window
	// (ended in it, or started in it and ended after it: workers finish
	// their last operation); their latencies are in Latency. Counting the
	// ones that end after the window keeps percentiles for operations
	// slower than the window itself.
	Completed uint64
	Latency   Histogram
	// Succeeded counts every successful operation of the phase, warm-up
	// and the tail after the window included.
	Succeeded uint64
	// Errors counts failed operations over the whole phase, warm-up
	// included; ErrorSamples keeps the first few messages.
	Errors       uint64
	ErrorSamples []string
	// Window is the measured time (shorter than Duration when MaxOps ended
	// it).
	Window time.Duration
	// PeakRSS is filled in by the caller (bytes).
	PeakRSS uint64
	// ServerCPU and ClientCPU are filled in by the caller: CPU time the
	// server process and the load generator used during the window.
	ServerCPU, ClientCPU time.Duration
}

// CPUPerOp is the server's CPU time per successful operation.
func (r Result) CPUPerOp() time.Duration {
	ops := r.Rate * r.Window.Seconds()
	if ops <= 0 {
		return 0
	}
	return time.Duration(float64(r.ServerCPU) / ops)
}

// Cores is how many cores' worth of CPU d is over the window.
func (r Result) Cores(d time.Duration) float64 {
	if r.Window <= 0 {
		return 0
	}
	return d.Seconds() / r.Window.Seconds()
}

type opSpan struct {
	start, end int64 // ns since the phase's start
	ok         bool
}

const maxErrorSamples = 5

// Run executes the phase.
func Run(p Phase) Result {
	if p.Concurrency < 1 {
		p.Concurrency = 1
	}
	ops := make([]Op, p.Concurrency)
	cleanups := make([]func(), 0, p.Concurrency)
	for w := range ops {
		op, cleanup := p.NewWorker(w)
		ops[w] = op
		if cleanup != nil {
			cleanups = append(cleanups, cleanup)
		}
	}
	defer func() {
		for _, c := range cleanups {
			c()
		}
	}()

	var (
		succeeded  atomic.Uint64
		errMu      sync.Mutex
		errCount   uint64
		errSamples []string
		inWindow   atomic.Int64
		capEnd     atomic.Int64 // ns since start when MaxOps was reached; 0 while not
		wg         sync.WaitGroup
	)
	spans := make([][]opSpan, p.Concurrency)
	if p.OnStart != nil {
		p.OnStart()
	}
	start := time.Now()
	wStart := p.Warmup.Nanoseconds()
	deadline := wStart + p.Duration.Nanoseconds()
	capped := make(chan struct{})
	var windowDone sync.WaitGroup
	if p.WindowStart != nil || p.WindowEnd != nil {
		windowDone.Add(1)
		go func() {
			defer windowDone.Done()
			time.Sleep(time.Until(start.Add(p.Warmup)))
			if p.WindowStart != nil {
				p.WindowStart()
			}
			var cancelled <-chan struct{}
			if p.Context != nil {
				cancelled = p.Context.Done()
			}
			select {
			case <-time.After(time.Until(start.Add(time.Duration(deadline)))):
			case <-capped:
			case <-cancelled:
			}
			if p.WindowEnd != nil {
				p.WindowEnd()
			}
		}()
	}
	for w := range ops {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			op := ops[w]
			local := make([]opSpan, 0, 1024)
			for seq := 0; ; seq++ {
				t0 := time.Since(start).Nanoseconds()
				if t0 >= deadline || capEnd.Load() != 0 || (p.Context != nil && p.Context.Err() != nil) {
					break
				}
				err := op(seq)
				t1 := time.Since(start).Nanoseconds()
				if err == nil {
					succeeded.Add(1)
				} else {
					errMu.Lock()
					errCount++
					if len(errSamples) < maxErrorSamples {
						errSamples = append(errSamples, p.Name+": "+err.Error())
					}
					errMu.Unlock()
				}
				if t1 >= wStart {
					local = append(local, opSpan{start: t0, end: t1, ok: err == nil})
				}
				if p.MaxOps > 0 && t1 >= wStart && t1 < deadline {
					if inWindow.Add(1) == p.MaxOps {
						capEnd.Store(t1)
						close(capped)
					}
				}
			}
			spans[w] = local
		}(w)
	}
	wg.Wait()
	windowDone.Wait()
	if p.OnStop != nil {
		p.OnStop()
	}

	wEnd := deadline
	if c := capEnd.Load(); c != 0 {
		wEnd = c
	}
	r := Result{Name: p.Name, Errors: errCount, ErrorSamples: errSamples, Window: time.Duration(wEnd - wStart), Succeeded: succeeded.Load()}
	var work float64
	for _, list := range spans {
		for _, s := range list {
			if !s.ok {
				continue
			}
			lo, hi := max(s.start, wStart), min(s.end, wEnd)
			if s.end >= wStart && s.start < wEnd {
				r.Completed++
				r.Latency.Record(time.Duration(s.end - s.start))
			}
			switch {
			case hi < lo:
			case s.end == s.start:
				work++
			default:
				work += float64(hi-lo) / float64(s.end-s.start)
			}
		}
	}
	if r.Window > 0 {
		r.Rate = work / r.Window.Seconds()
	}
	return r
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
