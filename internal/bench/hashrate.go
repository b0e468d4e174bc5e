package bench

import (
	"context"
	"sync"
	"time"
)

// HashRate runs fn on goroutines goroutines for about d and returns the
// calls per second summed over goroutines, each goroutine's rate being its
// calls divided by the time up to the end of its own last call (so a call
// still running at the deadline does not dilute the rate).
//
// Before the measured window, all goroutines run fn unmeasured for a third
// of d (at least one call each). A memory-hard hash such as argon2
// allocates its whole memory (128 MiB by default) per call, and after an
// idle spell the Go runtime has returned that memory to the operating
// system: measured cold, the first calls pay a page fault per fresh page
// and the heap is still growing, and the rate came out at a third to a half
// of the warm rate, while the server under test is warm. One warm-up call
// per goroutine was not always enough.
func HashRate(ctx context.Context, goroutines int, d time.Duration, fn func() error) (float64, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    float64
		firstErr error
	)
	warmUntil := time.Now().Add(d / 3)
	warmErrs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		go func() {
			for {
				if err := fn(); err != nil {
					warmErrs <- err
					return
				}
				if !time.Now().Before(warmUntil) || ctx.Err() != nil {
					warmErrs <- nil
					return
				}
			}
		}()
	}
	for g := 0; g < goroutines; g++ {
		if err := <-warmErrs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return 0, firstErr
	}
	start := time.Now()
	deadline := start.Add(d)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			var last time.Time
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := fn(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				n++
				last = time.Now()
			}
			if n > 0 {
				mu.Lock()
				total += float64(n) / last.Sub(start).Seconds()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return total, firstErr
}
