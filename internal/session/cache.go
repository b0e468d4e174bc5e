package session

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/exactcache"
)

// CacheConfig bounds the session cache (session.cache.*).
type CacheConfig = exactcache.Limits

// CacheStats are the session cache's counters.
type CacheStats = exactcache.Stats

// Cache keeps checked sessions in memory, by token hash: the session, its
// identity and addresses, and the whoami answer already rendered. It is
// exact, not a TTL cache (see package exactcache): the storage layer
// reports every write that changes a whoami answer, and an entry is checked
// against its session's expiry on every use.
type Cache struct {
	c *exactcache.Cache[string, *cacheEntry]
}

// cacheEntry is immutable once stored.
type cacheEntry struct {
	session *Session
	whoami  []byte // the 200 answer's body, newline included
}

// entryOverhead estimates the memory of an entry besides its whoami
// answer: the session, the identity and its addresses (about as large as
// their JSON) and the map slots.
const entryOverhead = 512

// NewCache returns an empty cache; it answers nothing until TrustUntil.
func NewCache(cfg CacheConfig) *Cache {
	return &Cache{c: exactcache.New[string, *cacheEntry](cfg)}
}

// Stats reports the counters.
func (c *Cache) Stats() CacheStats { return c.c.Stats() }

// Ready reports whether the cache may answer now (its invalidation feed has
// caught up).
func (c *Cache) Ready() bool { return c != nil && c.c.Ready() }

// Observe reports lookups and invalidations to o under name.
func (c *Cache) Observe(name string, o exactcache.Observer) { c.c.Observe(name, o) }

// Invalidate drops every entry of the identities.
func (c *Cache) Invalidate(identityIDs ...uuid.UUID) { c.c.Invalidate(identityIDs...) }

// Reset drops everything and stops answering until TrustUntil.
func (c *Cache) Reset() { c.c.Reset() }

// TrustUntil lets the cache answer until t.
func (c *Cache) TrustUntil(t time.Time) { c.c.TrustUntil(t) }

// get returns the entry of a token hash if it may answer at now.
func (c *Cache) get(tokenHash string, now time.Time) *cacheEntry {
	if c == nil {
		return nil
	}
	e, _ := c.c.Get(tokenHash, now, func(e *cacheEntry) bool { return e.session.IsActive(now) })
	return e
}

// begin returns the epoch a lookup starts in, for put.
func (c *Cache) begin() uint64 {
	if c == nil {
		return 0
	}
	return c.c.Begin()
}

// put stores an active session read in epoch (see exactcache.Cache.Put).
func (c *Cache) put(epoch uint64, tokenHash string, s *Session, whoami []byte, now time.Time) {
	if c == nil {
		return
	}
	c.c.Put(epoch, tokenHash, s.IdentityID, &cacheEntry{session: s, whoami: whoami}, int64(2*len(whoami))+entryOverhead, now)
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
