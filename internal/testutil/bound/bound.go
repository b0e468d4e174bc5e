// Package bound checks that one call of a function under test (typically a
// parser fed by a fuzz target) stays within a memory and time budget, so a
// fuzzer finds inputs that cost far more than their size, not only panics.
// It has no dependencies, so any package's internal tests can use it.
package bound

import (
	"runtime"
	"testing"
	"time"
)

// Budget is what one call may cost. The time is generous on purpose: it
// catches run-away loops and quadratic blow-ups, not slow machines.
type Budget struct {
	// Bytes bounds the bytes allocated during the call (all goroutines).
	Bytes uint64
	// Time bounds the wall time of the call.
	Time time.Duration
}

// Check runs fn once and fails t when it exceeded b.
func Check(t testing.TB, b Budget, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if b.Bytes > 0 {
		if n := after.TotalAlloc - before.TotalAlloc; n > b.Bytes {
			t.Fatalf("one call allocated %d bytes, over the budget of %d", n, b.Bytes)
		}
	}
	if b.Time > 0 && elapsed > b.Time {
		t.Fatalf("one call took %v, over the budget of %v", elapsed, b.Time)
	}
}
