package session

import (
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// cache keeps recently checked sessions in memory for at most maxAge
// (session.cache.max_age), so a burst of whoami calls for one token does not
// reach the database each time. It is off by default: with it on, a session
// revoked through another instance keeps passing here for up to maxAge.
// Revocations made through this instance take effect at once.
type cache struct {
	maxAge     time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[string]cacheEntry // token hash → entry
}

type cacheEntry struct {
	session *Session
	until   time.Time
}

func newCache(maxAge time.Duration, maxEntries int) *cache {
	if maxAge <= 0 {
		return nil
	}
	return &cache{maxAge: maxAge, maxEntries: maxEntries, entries: map[string]cacheEntry{}}
}

// get returns a copy of a cached, still valid session.
func (c *cache) get(tokenHash string, now time.Time) (*Session, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.entries[tokenHash]
	if ok && !now.Before(e.until) {
		delete(c.entries, tokenHash)
		ok = false
	}
	c.mu.Unlock()
	if !ok || !e.session.IsActive(now) {
		return nil, false
	}
	s := *e.session
	s.AuthenticationMethods = slices.Clone(s.AuthenticationMethods)
	return &s, true
}

// put remembers a session until maxAge from now (or its expiry, if sooner).
func (c *cache) put(tokenHash string, s *Session, now time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.maxAge)
	if s.ExpiresAt.Before(until) {
		until = s.ExpiresAt
	}
	cp := *s
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.maxEntries {
		// Drop about a tenth of the entries (map order is random enough).
		n := c.maxEntries / 10
		for k := range c.entries {
			delete(c.entries, k)
			if n--; n <= 0 {
				break
			}
		}
	}
	c.entries[tokenHash] = cacheEntry{session: &cp, until: until}
}

// forget drops entries of one session, or of every session of an identity
// except keep.
func (c *cache) forget(identityID, sessionID, keep uuid.UUID) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		s := e.session
		if s.ID == sessionID || (identityID != uuid.Nil && s.IdentityID == identityID && s.ID != keep) {
			delete(c.entries, k)
		}
	}
}

// forgetToken drops the entry of a token hash.
func (c *cache) forgetToken(tokenHash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, tokenHash)
	c.mu.Unlock()
}
