// Package exactcache is an in-process cache kept exact by invalidation
// rather than expiry: every value belongs to an identity, and the storage
// layer reports each write that changes what an identity's values would be
// (Invalidate) — from this instance at once, from other instances through
// the invalidation log. Until that feed is known to be current (TrustUntil),
// after a start or while the database or the notification connection is
// unreachable, the cache answers nothing and stores nothing.
//
// A reader that misses takes the epoch (Begin) before it reads the
// database, and may store what it read only if no invalidation arrived
// since: a write committing during the read never leaves a stale value.
package exactcache

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Limits bound a cache. Sizes are the caller's estimates in bytes.
type Limits struct {
	MaxEntries int
	MaxBytes   int64
	// MaxAge, when above 0, caps how long one value is served.
	MaxAge time.Duration
}

// Cache maps keys to values owned by identities.
type Cache[K comparable, V any] struct {
	limits Limits

	trustedUntil atomic.Int64 // unix nanoseconds
	epoch        atomic.Uint64

	mu      sync.RWMutex
	byKey   map[K]*entry[K, V]
	byOwner map[uuid.UUID][]*entry[K, V]
	bytes   int64

	hits, misses, invalidations atomic.Uint64

	name string
	obs  Observer
}

// Observer is told of lookups and invalidations (metrics.CacheObserver).
type Observer interface {
	CacheHit(cache string)
	CacheMiss(cache string)
	CacheInvalidated(cache string, entries int)
}

// Observe reports this cache's lookups and invalidated entries to o under
// name (a fixed name, never a key). Call it before use.
func (c *Cache[K, V]) Observe(name string, o Observer) { c.name, c.obs = name, o }

func (c *Cache[K, V]) miss() {
	c.misses.Add(1)
	if c.obs != nil {
		c.obs.CacheMiss(c.name)
	}
}

type entry[K comparable, V any] struct {
	key      K
	owner    uuid.UUID
	value    V
	size     int64
	storedAt time.Time
}

// New returns an empty cache; it answers nothing until TrustUntil.
func New[K comparable, V any](l Limits) *Cache[K, V] {
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 64 << 20
	}
	return &Cache[K, V]{limits: l, byKey: map[K]*entry[K, V]{}, byOwner: map[uuid.UUID][]*entry[K, V]{}}
}

// Stats are counters for metrics.
type Stats struct {
	Entries                     int
	Bytes                       int64
	Hits, Misses, Invalidations uint64
}

// Stats reports the counters.
func (c *Cache[K, V]) Stats() Stats {
	c.mu.RLock()
	n, b := len(c.byKey), c.bytes
	c.mu.RUnlock()
	return Stats{Entries: n, Bytes: b, Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load()}
}

// Invalidate drops every value of the identities.
func (c *Cache[K, V]) Invalidate(identityIDs ...uuid.UUID) {
	dropped := 0
	c.mu.Lock()
	c.epoch.Add(1)
	for _, id := range identityIDs {
		for _, e := range c.byOwner[id] {
			if c.byKey[e.key] == e {
				delete(c.byKey, e.key)
				c.bytes -= e.size
				dropped++
			}
		}
		delete(c.byOwner, id)
	}
	c.mu.Unlock()
	c.invalidations.Add(uint64(len(identityIDs)))
	if c.obs != nil && dropped > 0 {
		c.obs.CacheInvalidated(c.name, dropped)
	}
}

// Reset drops everything and stops answering until TrustUntil.
func (c *Cache[K, V]) Reset() {
	c.mu.Lock()
	c.epoch.Add(1)
	c.trustedUntil.Store(0)
	clear(c.byKey)
	clear(c.byOwner)
	c.bytes = 0
	c.mu.Unlock()
}

// TrustUntil lets the cache answer until t: every invalidation committed
// until shortly before now has been delivered.
func (c *Cache[K, V]) TrustUntil(t time.Time) { c.trustedUntil.Store(t.UnixNano()) }

func (c *Cache[K, V]) trusted(now time.Time) bool { return now.UnixNano() < c.trustedUntil.Load() }

// Ready reports whether the cache may answer now: its invalidation feed
// has caught up.
func (c *Cache[K, V]) Ready() bool { return c != nil && c.trusted(time.Now()) }

// Get returns the value of key if the cache may answer at now; valid, when
// not nil, may refuse a value (an expired session).
func (c *Cache[K, V]) Get(key K, now time.Time, valid func(V) bool) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	if !c.trusted(now) {
		c.miss()
		return zero, false
	}
	c.mu.RLock()
	e := c.byKey[key]
	c.mu.RUnlock()
	if e == nil || (c.limits.MaxAge > 0 && now.Sub(e.storedAt) >= c.limits.MaxAge) || (valid != nil && !valid(e.value)) {
		c.miss()
		return zero, false
	}
	c.hits.Add(1)
	if c.obs != nil {
		c.obs.CacheHit(c.name)
	}
	return e.value, true
}

// Begin returns the epoch a lookup starts in, for Put.
func (c *Cache[K, V]) Begin() uint64 {
	if c == nil {
		return 0
	}
	return c.epoch.Load()
}

// Put stores a value read in epoch, unless an invalidation came in since or
// the cache is not trusted. Beyond the bounds, random entries (map order)
// are evicted; a value larger than a sixteenth of MaxBytes is not stored.
func (c *Cache[K, V]) Put(epoch uint64, key K, owner uuid.UUID, v V, size int64, now time.Time) {
	if c == nil || !c.trusted(now) || size > c.limits.MaxBytes/16 {
		return
	}
	e := &entry[K, V]{key: key, owner: owner, value: v, size: size, storedAt: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return
	}
	if old := c.byKey[key]; old != nil {
		c.removeLocked(old)
	}
	for len(c.byKey) > 0 && (len(c.byKey) >= c.limits.MaxEntries || c.bytes+e.size > c.limits.MaxBytes) {
		for _, victim := range c.byKey {
			c.removeLocked(victim)
			break
		}
	}
	c.byKey[key] = e
	c.byOwner[owner] = append(c.byOwner[owner], e)
	c.bytes += e.size
}

func (c *Cache[K, V]) removeLocked(e *entry[K, V]) {
	delete(c.byKey, e.key)
	c.bytes -= e.size
	list := c.byOwner[e.owner]
	if k := slices.Index(list, e); k >= 0 {
		list = slices.Delete(list, k, k+1)
	}
	if len(list) == 0 {
		delete(c.byOwner, e.owner)
	} else {
		c.byOwner[e.owner] = list
	}
}

// Sinks fans one invalidation feed out to several caches.
type Sinks []interface {
	Invalidate(identityIDs ...uuid.UUID)
	Reset()
	TrustUntil(t time.Time)
}

// Invalidate tells every cache.
func (s Sinks) Invalidate(ids ...uuid.UUID) {
	for _, c := range s {
		c.Invalidate(ids...)
	}
}

// Reset tells every cache.
func (s Sinks) Reset() {
	for _, c := range s {
		c.Reset()
	}
}

// TrustUntil tells every cache.
func (s Sinks) TrustUntil(t time.Time) {
	for _, c := range s {
		c.TrustUntil(t)
	}
}
