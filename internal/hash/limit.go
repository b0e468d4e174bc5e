package hash

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Limited bounds how many password hashes are computed at once. Hashing is
// the most expensive thing an identity server does, on purpose: beyond one
// hash per core, extra concurrent hashes only add memory (argon2 allocates
// its whole memory cost per hash) and latency for everybody, so a burst of
// logins queues here instead of thrashing. The queue is bounded too (see
// WithMaxWaiting): past it, callers get ErrBusy at once rather than waiting
// behind a flood. Waiting honours the context.
type Limited struct {
	Hasher
	slots      chan struct{}
	maxWaiting int64 // < 0: unbounded
	waiting    atomic.Int64
	started    atomic.Int64
}

// Limit wraps h so that at most n hashes (Generate and Compare together)
// run at once; n <= 0 means one per usable CPU. The queue is unbounded
// until WithMaxWaiting sets a bound.
func Limit(h Hasher, n int) *Limited {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limited{Hasher: h, slots: make(chan struct{}, n), maxWaiting: -1}
}

// WithMaxWaiting bounds the callers waiting for a slot to k (0: none may
// wait). Call it before the limiter is used.
func (l *Limited) WithMaxWaiting(k int) *Limited {
	l.maxWaiting = int64(k)
	return l
}

// Slots is how many hashes may run at once.
func (l *Limited) Slots() int { return cap(l.slots) }

// Started counts the hashes begun so far (Generate and Compare): evidence
// that a refused sign-in cost no hash.
func (l *Limited) Started() int64 { return l.started.Load() }

// ErrBusy is returned when the hash queue is full. It carries the wait to
// suggest to clients (httpx answers it as 503 with Retry-After).
var ErrBusy error = busyError{}

type busyError struct{}

func (busyError) Error() string { return "too many password checks are waiting; try again shortly" }

// RetryAfter is how long clients are asked to wait.
func (busyError) RetryAfter() time.Duration { return time.Second }

// Acquire takes a slot, waiting if none is free (or failing with ErrBusy
// when the queue is full); release gives it back. Generate and Compare use
// it; other CPU-heavy work can share the bound through it.
func (l *Limited) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	default:
	}
	if l.maxWaiting >= 0 {
		if l.waiting.Add(1) > l.maxWaiting {
			l.waiting.Add(-1)
			return nil, ErrBusy
		}
		defer l.waiting.Add(-1)
	}
	select {
	case l.slots <- struct{}{}:
		return l.release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limited) release() { <-l.slots }

// Generate hashes password with the wrapped hasher, waiting for a slot.
func (l *Limited) Generate(ctx context.Context, password []byte) ([]byte, error) {
	release, err := l.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	l.started.Add(1)
	return l.Hasher.Generate(ctx, password)
}

// Compare verifies password against an encoded hash of any supported
// format (see the package function Compare), waiting for a slot.
func (l *Limited) Compare(ctx context.Context, password, encoded []byte) error {
	release, err := l.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	l.started.Add(1)
	return Compare(ctx, password, encoded)
}
