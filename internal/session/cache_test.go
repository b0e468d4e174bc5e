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

func TestCacheDisabledByDefault(t *testing.T) {
	if c := newCache(0, 10); c != nil {
		t.Fatal("a zero max age must disable the cache")
	}
	var c *cache
	c.put("h", cachedSession(uuid.New(), time.Now()), time.Now())
	if _, ok := c.get("h", time.Now()); ok {
		t.Fatal("a disabled cache must never answer")
	}
}

func TestCacheHonoursMaxAgeAndExpiry(t *testing.T) {
	now := time.Now()
	c := newCache(time.Second, 10)
	s := cachedSession(uuid.New(), now)
	c.put("h", s, now)
	got, ok := c.get("h", now.Add(500*time.Millisecond))
	if !ok || got.ID != s.ID {
		t.Fatalf("expected a hit within max age, got %v %v", got, ok)
	}
	if _, ok := c.get("h", now.Add(time.Second)); ok {
		t.Fatal("an entry must not outlive max_age")
	}
	short := cachedSession(uuid.New(), now)
	short.ExpiresAt = now.Add(100 * time.Millisecond)
	c.put("s", short, now)
	if _, ok := c.get("s", now.Add(200*time.Millisecond)); ok {
		t.Fatal("an entry must not outlive its session")
	}
}

func TestCacheForgetsRevokedSessions(t *testing.T) {
	now := time.Now()
	c := newCache(time.Minute, 10)
	idA, idB := uuid.New(), uuid.New()
	a1, a2, b1 := cachedSession(idA, now), cachedSession(idA, now), cachedSession(idB, now)
	c.put("a1", a1, now)
	c.put("a2", a2, now)
	c.put("b1", b1, now)

	c.forget(idA, uuid.Nil, a1.ID) // revoke the others of identity A, keep a1
	if _, ok := c.get("a2", now); ok {
		t.Error("a revoked session of identity A is still cached")
	}
	if _, ok := c.get("a1", now); !ok {
		t.Error("the kept session was dropped")
	}
	c.forget(uuid.Nil, b1.ID, uuid.Nil)
	if _, ok := c.get("b1", now); ok {
		t.Error("a revoked single session is still cached")
	}
	c.forgetToken("a1")
	if _, ok := c.get("a1", now); ok {
		t.Error("a revoked token is still cached")
	}
}

func TestCacheCopiesAreIndependent(t *testing.T) {
	now := time.Now()
	c := newCache(time.Minute, 10)
	c.put("h", cachedSession(uuid.New(), now), now)
	got, _ := c.get("h", now)
	got.AuthenticationMethods = append(got.AuthenticationMethods, AuthenticationMethod{Method: "totp"})
	got.AuthenticationMethods[0].Method = "changed"
	again, _ := c.get("h", now)
	if len(again.AuthenticationMethods) != 1 || again.AuthenticationMethods[0].Method != "password" {
		t.Fatalf("a caller's change leaked into the cache: %+v", again.AuthenticationMethods)
	}
}

func TestCacheIsBounded(t *testing.T) {
	now := time.Now()
	c := newCache(time.Minute, 20)
	for k := 0; k < 100; k++ {
		c.put(uuid.NewString(), cachedSession(uuid.New(), now), now)
	}
	if n := len(c.entries); n > 20 {
		t.Fatalf("the cache holds %d entries, more than its bound of 20", n)
	}
}
