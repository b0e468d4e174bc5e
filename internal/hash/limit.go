package hash

import (
	"context"
	"runtime"
)

// Limited bounds how many password hashes are computed at once. Hashing is
// the most expensive thing an identity server does, on purpose: beyond one
// hash per core, extra concurrent hashes only add memory (argon2 allocates
// its whole memory cost per hash) and latency for everybody, so a burst of
// logins queues here instead of thrashing. Waiting honours the context.
type Limited struct {
	Hasher
	slots chan struct{}
}

// Limit wraps h so that at most n hashes (Generate and Compare together)
// run at once; n <= 0 means one per usable CPU.
func Limit(h Hasher, n int) *Limited {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limited{Hasher: h, slots: make(chan struct{}, n)}
}

func (l *Limited) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limited) release() { <-l.slots }

// Generate hashes password with the wrapped hasher, waiting for a slot.
func (l *Limited) Generate(ctx context.Context, password []byte) ([]byte, error) {
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	defer l.release()
	return l.Hasher.Generate(ctx, password)
}

// Compare verifies password against an encoded hash of any supported
// format (see the package function Compare), waiting for a slot.
func (l *Limited) Compare(ctx context.Context, password, encoded []byte) error {
	if err := l.acquire(ctx); err != nil {
		return err
	}
	defer l.release()
	return Compare(ctx, password, encoded)
}
