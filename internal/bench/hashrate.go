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
func HashRate(ctx context.Context, goroutines int, d time.Duration, fn func() error) (float64, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    float64
		firstErr error
	)
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
