package throttle

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// memStore keeps states in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string]State
}

func (s *memStore) ThrottleStates(_ context.Context, keys []string) (map[string]State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]State{}
	for _, k := range keys {
		if st, ok := s.m[k]; ok {
			out[k] = st
		}
	}
	return out, nil
}

func (s *memStore) UpdateThrottle(_ context.Context, key string, fn func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[key]
	fn(&st)
	s.m[key] = st
	return nil
}

func (s *memStore) DeleteThrottle(_ context.Context, keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.m, k)
	}
	return nil
}

func (s *memStore) PruneThrottle(_ context.Context, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for k, st := range s.m {
		if st.ExpiresAt.Before(t) {
			delete(s.m, k)
			n++
		}
	}
	return n, nil
}

func newTest(p map[Kind]Policy) (*Limiter, *memStore, *time.Time) {
	st := &memStore{m: map[string]State{}}
	l := New(st, p)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l.SetClock(func() time.Time { return now })
	return l, st, &now
}

func TestBackOffLockoutAndWindow(t *testing.T) {
	ctx := context.Background()
	l, _, now := newTest(map[Kind]Policy{KindAccount: {Max: 10, Window: time.Hour, Lockout: 2 * time.Hour, Free: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second}})
	k := Account("password", "a@example.com")
	wantWaits := []time.Duration{0, 0, 1, 2, 4, 4, 4, 4, 4}
	for i, want := range wantWaits {
		if locked, err := l.Failure(ctx, k); err != nil || locked {
			t.Fatalf("failure %d: locked=%v err=%v", i+1, locked, err)
		}
		got, _ := l.Check(ctx, k)
		if got != want*time.Second {
			t.Fatalf("after failure %d: wait %v, want %v", i+1, got, want*time.Second)
		}
		*now = now.Add(got)
	}
	// The tenth failure within the window locks for two hours.
	if locked, _ := l.Failure(ctx, k); !locked {
		t.Fatal("the Max-th failure did not lock")
	}
	if got, _ := l.Check(ctx, k); got != 2*time.Hour {
		t.Fatalf("lockout wait %v, want 2h", got)
	}
	// Past the lockout (and the window) the count starts over.
	*now = now.Add(2 * time.Hour)
	if got, _ := l.Check(ctx, k); got != 0 {
		t.Fatalf("wait after the lockout %v", got)
	}
	l.Failure(ctx, k)
	if got, _ := l.Check(ctx, k); got != 0 {
		t.Fatalf("the first failure after a lockout is throttled: %v", got)
	}
	// Other keys are independent; Success forgets.
	if got, _ := l.Check(ctx, Account("password", "b@example.com")); got != 0 {
		t.Fatal("another account is throttled")
	}
	l.Failure(ctx, k)
	l.Failure(ctx, k)
	if got, _ := l.Check(ctx, k); got == 0 {
		t.Fatal("not throttled after three failures")
	}
	l.Success(ctx, k)
	if got, _ := l.Check(ctx, k); got != 0 {
		t.Fatal("Success did not forget")
	}
}

func TestTakeAllowsOnePerCooldown(t *testing.T) {
	ctx := context.Background()
	l, st, now := newTest(map[Kind]Policy{KindMail: {Max: 1, Window: time.Minute, Lockout: time.Minute}})
	k := Mail("recovery", "A@Example.com ")
	if w, _ := l.Take(ctx, k); w != 0 {
		t.Fatalf("first Take waits %v", w)
	}
	if w, _ := l.Take(ctx, Mail("recovery", "a@example.com")); w != time.Minute {
		t.Fatalf("second Take waits %v, want 1m (addresses are compared case-insensitively)", w)
	}
	if w, _ := l.Take(ctx, Mail("verification", "a@example.com")); w != 0 {
		t.Fatalf("another kind of mail waits %v", w)
	}
	*now = now.Add(time.Minute)
	if w, _ := l.Take(ctx, k); w != 0 {
		t.Fatalf("Take after the cooldown waits %v", w)
	}
	*now = now.Add(2 * time.Minute)
	if n, _ := l.Prune(ctx); n != 2 || len(st.m) != 0 {
		t.Fatalf("pruned %d, %d left", n, len(st.m))
	}
}

func TestNilLimiterAndUnlimitedKinds(t *testing.T) {
	ctx := context.Background()
	var l *Limiter
	if w, err := l.Check(ctx, IP(netip.MustParseAddr("192.0.2.1"))); w != 0 || err != nil {
		t.Fatal("a nil limiter throttles")
	}
	l2, st, _ := newTest(map[Kind]Policy{})
	l2.Failure(ctx, IP(netip.MustParseAddr("192.0.2.1")))
	if len(st.m) != 0 {
		t.Fatal("a kind without a policy was counted")
	}
}

func TestIPKeys(t *testing.T) {
	a := IP(netip.MustParseAddr("2001:db8:1:2:aaaa::1"))
	b := IP(netip.MustParseAddr("2001:db8:1:2:bbbb::2"))
	c := IP(netip.MustParseAddr("2001:db8:1:3::1"))
	if a != b || a == c {
		t.Fatalf("IPv6 clients are not counted per /64: %v %v %v", a, b, c)
	}
	if IP(netip.MustParseAddr("::ffff:192.0.2.1")) != IP(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("an IPv4-mapped address is a different client")
	}
	if len(a.id()) != 64 {
		t.Fatal("stored keys are not hashes")
	}
}
