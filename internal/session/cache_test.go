package session

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/identity"
)

func cachedSession(identityID uuid.UUID, now time.Time) *Session {
	return &Session{
		ID: uuid.New(), IdentityID: identityID, Active: true, ExpiresAt: now.Add(time.Hour),
		Identity:              &identity.Identity{ID: identityID, State: identity.StateActive},
		AuthenticationMethods: []AuthenticationMethod{{Method: "password", AAL: identity.AAL1}},
	}
}

// trustedCache is a cache whose invalidation feed is up to date.
func trustedCache(cfg CacheConfig, now time.Time) *Cache {
	c := NewCache(cfg)
	c.TrustUntil(now.Add(time.Hour))
	return c
}

func TestCacheNilNeverAnswers(t *testing.T) {
	var c *Cache
	now := time.Now()
	c.put(c.begin(), "h", cachedSession(uuid.New(), now), nil, now)
	if c.get("h", now) != nil {
		t.Fatal("a disabled cache must never answer")
	}
}

func TestCacheAnswersOnlyWhileTrusted(t *testing.T) {
	now := time.Now()
	c := NewCache(CacheConfig{})
	s := cachedSession(uuid.New(), now)
	c.put(c.begin(), "h", s, []byte("{}\n"), now)
	if c.get("h", now) != nil {
		t.Fatal("an untrusted cache (not caught up yet) must neither store nor answer")
	}
	c.TrustUntil(now.Add(time.Second))
	c.put(c.begin(), "h", s, []byte("{}\n"), now)
	if e := c.get("h", now); e == nil || e.session.ID != s.ID {
		t.Fatal("a trusted cache must answer what it stored")
	}
	if c.get("h", now.Add(time.Second)) != nil {
		t.Fatal("after the trust window the cache must not answer (the feed is late)")
	}
	c.Reset()
	if c.get("h", now) != nil || c.Stats().Entries != 0 {
		t.Fatal("Reset must drop everything and stop answering")
	}
}

func TestCacheInvalidateDropsEveryEntryOfTheIdentity(t *testing.T) {
	now := time.Now()
	c := trustedCache(CacheConfig{}, now)
	id, other := uuid.New(), uuid.New()
	c.put(c.begin(), "a", cachedSession(id, now), nil, now)
	c.put(c.begin(), "b", cachedSession(id, now), nil, now)
	c.put(c.begin(), "c", cachedSession(other, now), nil, now)
	c.Invalidate(id)
	if c.get("a", now) != nil || c.get("b", now) != nil {
		t.Fatal("every session of an invalidated identity must be dropped")
	}
	if c.get("c", now) == nil {
		t.Fatal("other identities' sessions stay")
	}
	if st := c.Stats(); st.Entries != 1 || st.Invalidations != 1 {
		t.Fatalf("stats after invalidation: %+v", st)
	}
}

// A lookup that read the database before an invalidation arrived must not
// store what it read: the write may have committed after the read.
func TestCachePutAfterInvalidationIsDropped(t *testing.T) {
	now := time.Now()
	c := trustedCache(CacheConfig{}, now)
	id := uuid.New()
	epoch := c.begin()
	c.Invalidate(id) // arrives while the lookup is reading SQL
	c.put(epoch, "h", cachedSession(id, now), nil, now)
	if c.get("h", now) != nil {
		t.Fatal("a session read before an invalidation must not be cached")
	}
}

func TestCacheHonoursExpiryAndMaxAge(t *testing.T) {
	now := time.Now()
	c := trustedCache(CacheConfig{MaxAge: time.Minute}, now)
	s := cachedSession(uuid.New(), now)
	s.ExpiresAt = now.Add(2 * time.Minute)
	c.put(c.begin(), "h", s, nil, now)
	if c.get("h", now.Add(30*time.Second)) == nil {
		t.Fatal("a hit within max_age expected")
	}
	if c.get("h", now.Add(time.Minute)) != nil {
		t.Fatal("no hit at or after max_age")
	}
	c2 := trustedCache(CacheConfig{}, now)
	c2.put(c2.begin(), "h", s, nil, now)
	if c2.get("h", now.Add(2*time.Minute)) != nil {
		t.Fatal("an expired session must never be answered from the cache")
	}
}

func TestCacheBoundedByEntriesAndBytes(t *testing.T) {
	now := time.Now()
	c := trustedCache(CacheConfig{MaxEntries: 10}, now)
	for k := 0; k < 100; k++ {
		c.put(c.begin(), uuid.NewString(), cachedSession(uuid.New(), now), nil, now)
	}
	if n := c.Stats().Entries; n != 10 {
		t.Fatalf("entries: got %d, want the bound 10", n)
	}
	body := make([]byte, 1000)
	c = trustedCache(CacheConfig{MaxBytes: 64 << 10}, now)
	for k := 0; k < 1000; k++ {
		c.put(c.begin(), uuid.NewString(), cachedSession(uuid.New(), now), body, now)
	}
	if st := c.Stats(); st.Bytes > 64<<10 || st.Entries == 0 || st.Entries >= 1000 {
		t.Fatalf("bytes bound not kept: %+v", st)
	}
}

func TestCopySessionIsIndependent(t *testing.T) {
	now := time.Now()
	s := cachedSession(uuid.New(), now)
	s.Identity.VerifiableAddresses = []identity.VerifiableAddress{{Value: "a@example.org"}}
	cp := copySession(s)
	cp.AuthenticationMethods[0].Method = "changed"
	cp.Identity.VerifiableAddresses[0].Value = "changed"
	cp.Identity.State = identity.StateInactive
	if s.AuthenticationMethods[0].Method != "password" || s.Identity.VerifiableAddresses[0].Value != "a@example.org" || !s.Identity.IsActive() {
		t.Fatal("changing a copy changed the cached session")
	}
}
