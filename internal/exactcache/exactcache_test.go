package exactcache

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSinksFanOut(t *testing.T) {
	now := time.Now()
	a, b := New[string, int](Limits{}), New[uuid.UUID, []byte](Limits{})
	sinks := Sinks{a, b}
	sinks.TrustUntil(now.Add(time.Minute))
	owner := uuid.New()
	a.Put(a.Begin(), "k", owner, 1, 10, now)
	b.Put(b.Begin(), owner, owner, []byte("{}"), 10, now)
	if _, ok := a.Get("k", now, nil); !ok {
		t.Fatal("a: stored value not answered")
	}
	if _, ok := b.Get(owner, now, nil); !ok {
		t.Fatal("b: stored value not answered")
	}
	sinks.Invalidate(owner)
	if _, ok := a.Get("k", now, nil); ok {
		t.Fatal("a: invalidation not delivered")
	}
	if _, ok := b.Get(owner, now, nil); ok {
		t.Fatal("b: invalidation not delivered")
	}
	b.Put(b.Begin(), owner, owner, []byte("{}"), 10, now)
	sinks.Reset()
	if _, ok := b.Get(owner, now, nil); ok || b.Stats().Entries != 0 {
		t.Fatal("Reset not delivered")
	}
}

func TestValidRefusesAndOversizedIsNotStored(t *testing.T) {
	now := time.Now()
	c := New[string, int](Limits{MaxBytes: 1600})
	c.TrustUntil(now.Add(time.Minute))
	c.Put(c.Begin(), "big", uuid.New(), 1, 101, now) // over MaxBytes/16
	if _, ok := c.Get("big", now, nil); ok {
		t.Fatal("a value over a sixteenth of max_bytes must not be stored")
	}
	c.Put(c.Begin(), "k", uuid.New(), 7, 10, now)
	if _, ok := c.Get("k", now, func(v int) bool { return v != 7 }); ok {
		t.Fatal("valid refused the value; Get must miss")
	}
	if st := c.Stats(); st.Hits != 0 || st.Misses != 2 {
		t.Fatalf("stats %+v", st)
	}
}

type countingObserver struct{ hits, misses, invalidated int }

func (o *countingObserver) CacheHit(string)                  { o.hits++ }
func (o *countingObserver) CacheMiss(string)                 { o.misses++ }
func (o *countingObserver) CacheInvalidated(_ string, n int) { o.invalidated += n }

func TestObserverCounts(t *testing.T) {
	now := time.Now()
	c := New[string, int](Limits{})
	o := &countingObserver{}
	c.Observe("test", o)
	c.TrustUntil(now.Add(time.Minute))
	owner := uuid.New()
	c.Put(c.Begin(), "a", owner, 1, 10, now)
	c.Put(c.Begin(), "b", owner, 2, 10, now)
	c.Get("a", now, nil)
	c.Get("missing", now, nil)
	c.Invalidate(owner, uuid.New())
	if o.hits != 1 || o.misses != 1 || o.invalidated != 2 {
		t.Fatalf("observer saw %+v, want 1 hit, 1 miss, 2 invalidated entries", *o)
	}
}
