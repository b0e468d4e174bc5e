package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
	"github.com/hoplite-id/hoplite/internal/throttle"
)

// Concurrent failures from two stores (two instances) over one database are
// all counted, and a mail cooldown lets exactly one of many concurrent
// requests through.
func TestThrottleCountsConcurrentFailuresExactly(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		st1 := migrated(t, dsn)
		st2 := open(t, dsn)
		now := t0
		policies := map[throttle.Kind]throttle.Policy{
			throttle.KindAccount: {Max: 40, Window: time.Hour, Lockout: time.Hour},
			throttle.KindMail:    {Max: 1, Window: time.Minute, Lockout: time.Minute},
		}
		l1, l2 := throttle.New(st1, policies), throttle.New(st2, policies)
		for _, l := range []*throttle.Limiter{l1, l2} {
			l.SetClock(func() time.Time { return now })
		}
		ctx := context.Background()
		key := throttle.Account("password", "race@example.com")

		var wg sync.WaitGroup
		var mu sync.Mutex
		locks, errs := 0, []error{}
		for k := 0; k < 40; k++ {
			l := []*throttle.Limiter{l1, l2}[k%2]
			wg.Go(func() {
				locked, err := l.Failure(ctx, key)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if locked {
					locks++
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("concurrent failures: %v", errs)
		}
		if locks != 1 {
			t.Fatalf("%d failures reported the lockout, want exactly 1 (the 40th)", locks)
		}
		if wait, err := l2.Check(ctx, key); err != nil || wait != time.Hour {
			t.Fatalf("Check after 40 failures: %v %v, want 1h", wait, err)
		}

		mail := throttle.Mail("recovery", "race@example.com")
		passed := 0
		for k := 0; k < 20; k++ {
			l := []*throttle.Limiter{l1, l2}[k%2]
			wg.Go(func() {
				wait, err := l.Take(ctx, mail)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if wait == 0 {
					passed++
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 || passed != 1 {
			t.Fatalf("concurrent Takes: %d passed (want 1), errors %v", passed, errs)
		}

		// Success forgets; pruning removes what expired.
		if err := l1.Success(ctx, key); err != nil {
			t.Fatal(err)
		}
		if wait, _ := l2.Check(ctx, key); wait != 0 {
			t.Fatalf("wait %v after Success", wait)
		}
		now = now.Add(2 * time.Minute)
		if n, err := l1.Prune(ctx); err != nil || n != 1 {
			t.Fatalf("Prune: %d, %v; want the mail counter", n, err)
		}
	})
}
