package hash

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowHasher records how many Generate calls overlap.
type slowHasher struct {
	running, peak atomic.Int32
}

func (s *slowHasher) Generate(ctx context.Context, password []byte) ([]byte, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(5 * time.Millisecond)
	return []byte("x"), nil
}

func (s *slowHasher) Understands([]byte) bool { return true }

func TestLimitBoundsConcurrentHashes(t *testing.T) {
	inner := &slowHasher{}
	l := Limit(inner, 2)
	var wg sync.WaitGroup
	for k := 0; k < 12; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Generate(context.Background(), []byte("pw")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := inner.peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak concurrency %d, want at most 2", p)
	}
}

func TestLimitHonoursContextWhileWaiting(t *testing.T) {
	l := Limit(&slowHasher{}, 1)
	l.slots <- struct{}{} // the only slot is taken
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Generate(ctx, []byte("pw")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Generate while all slots are taken: %v, want the context's error", err)
	}
	if err := l.Compare(ctx, []byte("pw"), []byte("$2a$04$abc")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Compare while all slots are taken: %v, want the context's error", err)
	}
}

func TestLimitedCompareVerifies(t *testing.T) {
	b := NewBcrypt(BcryptConfig{Cost: 4})
	l := Limit(b, 0)
	h, err := l.Generate(context.Background(), []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Compare(context.Background(), []byte("secret"), h); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := l.Compare(context.Background(), []byte("wrong"), h); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v, want ErrMismatch", err)
	}
}

func TestLimitRefusesBeyondTheQueueBound(t *testing.T) {
	l := Limit(&slowHasher{}, 1).WithMaxWaiting(1)
	release, err := l.Acquire(context.Background()) // the only slot
	if err != nil {
		t.Fatal(err)
	}
	// One caller may wait; it is parked until the slot is released.
	waited := make(chan error, 1)
	go func() {
		_, err := l.Generate(context.Background(), []byte("pw"))
		waited <- err
	}()
	for l.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := l.Generate(context.Background(), []byte("pw")); !errors.Is(err, ErrBusy) {
		t.Fatalf("Generate with a full queue: %v, want ErrBusy", err)
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(ErrBusy, &ra) || ra.RetryAfter() <= 0 {
		t.Fatal("ErrBusy carries no Retry-After")
	}
	release()
	if err := <-waited; err != nil {
		t.Fatalf("the waiting caller: %v", err)
	}
	if got := l.Started(); got != 1 {
		t.Fatalf("Started = %d, want 1 (the refused call must not count)", got)
	}
}
