package session

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// CacheConfig bounds the session cache (session.cache.*).
type CacheConfig struct {
	MaxEntries int
	MaxBytes   int64
	// MaxAge, when above 0, caps how long one entry is served.
	MaxAge time.Duration
}

// Cache keeps checked sessions in memory: the session, its identity and
// addresses, and the whoami answer already rendered. It is exact, not a
// TTL cache: the storage layer reports every write that changes a whoami
// answer (Invalidate), from this instance at once and from the others
// through the invalidation log. Until the log has been read up to date
// (TrustUntil) — after a start, or while the database or the notification
// connection is unreachable — nothing is answered from the cache.
//
// A lookup that misses reads the database; it may store what it read only
// if no invalidation arrived since it began (the epoch is unchanged), so a
// write that commits during the read can never leave a stale entry behind.
type Cache struct {
	cfg CacheConfig

	trustedUntil atomic.Int64 // unix nanoseconds
	epoch        atomic.Uint64

	mu         sync.RWMutex
	byToken    map[string]*cacheEntry      // token hash → entry
	byIdentity map[uuid.UUID][]*cacheEntry // for invalidation
	bytes      int64

	hits, misses, invalidations atomic.Uint64
}

// cacheEntry is immutable once stored.
type cacheEntry struct {
	tokenHash string
	session   *Session
	whoami    []byte // the 200 answer's body, newline included
	size      int64
	storedAt  time.Time
}

// entryOverhead estimates the memory of an entry besides its whoami
// answer: the session, the identity and its addresses (about as large as
// their JSON) and the map slots.
const entryOverhead = 512

// NewCache returns an empty cache; it answers nothing until TrustUntil.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 64 << 20
	}
	return &Cache{cfg: cfg, byToken: map[string]*cacheEntry{}, byIdentity: map[uuid.UUID][]*cacheEntry{}}
}

// CacheStats are counters for metrics.
type CacheStats struct {
	Entries                     int
	Bytes                       int64
	Hits, Misses, Invalidations uint64
}

// Stats reports the counters.
func (c *Cache) Stats() CacheStats {
	c.mu.RLock()
	n, b := len(c.byToken), c.bytes
	c.mu.RUnlock()
	return CacheStats{Entries: n, Bytes: b, Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load()}
}

// Invalidate drops every entry of the identities.
func (c *Cache) Invalidate(identityIDs ...uuid.UUID) {
	c.mu.Lock()
	c.epoch.Add(1)
	for _, id := range identityIDs {
		for _, e := range c.byIdentity[id] {
			if c.byToken[e.tokenHash] == e {
				delete(c.byToken, e.tokenHash)
				c.bytes -= e.size
			}
		}
		delete(c.byIdentity, id)
	}
	c.mu.Unlock()
	c.invalidations.Add(uint64(len(identityIDs)))
}

// Reset drops everything and stops answering until TrustUntil.
func (c *Cache) Reset() {
	c.mu.Lock()
	c.epoch.Add(1)
	c.trustedUntil.Store(0)
	clear(c.byToken)
	clear(c.byIdentity)
	c.bytes = 0
	c.mu.Unlock()
}

// TrustUntil lets the cache answer until t (see InvalidationSink).
func (c *Cache) TrustUntil(t time.Time) {
	c.trustedUntil.Store(t.UnixNano())
}

func (c *Cache) trusted(now time.Time) bool { return now.UnixNano() < c.trustedUntil.Load() }

// get returns the entry of a token hash if it may answer at now.
func (c *Cache) get(tokenHash string, now time.Time) *cacheEntry {
	if c == nil {
		return nil
	}
	if !c.trusted(now) {
		c.misses.Add(1)
		return nil
	}
	c.mu.RLock()
	e := c.byToken[tokenHash]
	c.mu.RUnlock()
	if e == nil || !e.session.IsActive(now) || (c.cfg.MaxAge > 0 && now.Sub(e.storedAt) >= c.cfg.MaxAge) {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return e
}

// begin returns the epoch a lookup starts in, for put.
func (c *Cache) begin() uint64 {
	if c == nil {
		return 0
	}
	return c.epoch.Load()
}

// put stores an active session read in epoch, unless an invalidation came
// in since or the cache is not trusted. Entries beyond the bounds are
// evicted at random (map order).
func (c *Cache) put(epoch uint64, tokenHash string, s *Session, whoami []byte, now time.Time) {
	if c == nil || !c.trusted(now) {
		return
	}
	e := &cacheEntry{tokenHash: tokenHash, session: s, whoami: whoami, size: int64(2*len(whoami)) + entryOverhead, storedAt: now}
	if e.size > c.cfg.MaxBytes/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load() != epoch {
		return
	}
	if old := c.byToken[tokenHash]; old != nil {
		c.removeLocked(old)
	}
	for len(c.byToken) > 0 && (len(c.byToken) >= c.cfg.MaxEntries || c.bytes+e.size > c.cfg.MaxBytes) {
		for _, victim := range c.byToken {
			c.removeLocked(victim)
			break
		}
	}
	c.byToken[tokenHash] = e
	c.byIdentity[s.IdentityID] = append(c.byIdentity[s.IdentityID], e)
	c.bytes += e.size
}

func (c *Cache) removeLocked(e *cacheEntry) {
	delete(c.byToken, e.tokenHash)
	c.bytes -= e.size
	list := c.byIdentity[e.session.IdentityID]
	if k := slices.Index(list, e); k >= 0 {
		list = slices.Delete(list, k, k+1)
	}
	if len(list) == 0 {
		delete(c.byIdentity, e.session.IdentityID)
	} else {
		c.byIdentity[e.session.IdentityID] = list
	}
}

// copySession returns a copy of a cached session that callers may change
// without touching the cache.
func copySession(s *Session) *Session {
	cp := *s
	cp.AuthenticationMethods = slices.Clone(s.AuthenticationMethods)
	if s.Identity != nil {
		i := *s.Identity
		i.VerifiableAddresses = slices.Clone(i.VerifiableAddresses)
		i.RecoveryAddresses = slices.Clone(i.RecoveryAddresses)
		i.Traits = slices.Clone(i.Traits)
		i.MetadataPublic = slices.Clone(i.MetadataPublic)
		i.MetadataAdmin = slices.Clone(i.MetadataAdmin)
		cp.Identity = &i
	}
	return &cp
}
