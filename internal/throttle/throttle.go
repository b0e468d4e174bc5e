// Package throttle slows down guessing: failure counters per key (an
// account, a client address, a mail recipient), kept in the database so
// that every instance sees the same counts.
//
// A method that checks a secret uses it in three steps:
//
//	keys := []throttle.Key{throttle.Account("password", identifier), throttle.IP(clientIP)}
//	if wait, err := t.Check(ctx, keys...); err != nil || wait > 0 {
//		// refuse without checking the secret: no password hash is spent
//	}
//	if wrong {
//		locked, err := t.Failure(ctx, keys...)
//	} else {
//		err := t.Success(ctx, throttle.Account("password", identifier))
//	}
//
// Check only reads. Failure counts one failed attempt for every key and
// arms the key's delay: after Policy.Free failures in a window, each further
// failure blocks the key for BaseDelay, doubling up to MaxDelay; the Max-th
// failure locks it for Lockout. Success forgets the keys' counts (call it
// for the account keys only: a client address that owns one valid account
// must not reset its count by signing in there). Unknown identifiers must be
// counted like known ones, so that a lockout does not tell which accounts
// exist.
//
// Take is Check and Failure in one atomic step, for rate limits on actions
// that are not guesses (one recovery mail per address per cooldown, keyed
// with Mail("recovery", address)).
//
// Check and Failure are separate steps, so a burst of concurrent attempts
// that all pass Check before any Failure is stored may overshoot a limit by
// the burst's size; the bounded hash queue keeps that burst small.
//
// Second-factor methods (TOTP, lookup codes) key their counters with
// Account("totp", identityID) and the client address the same way.
package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// Kind selects the policy that applies to a key.
type Kind string

const (
	KindAccount Kind = "account"
	KindIP      Kind = "ip"
	KindMail    Kind = "mail"
)

// Key names one counter.
type Key struct {
	Kind  Kind
	Value string
}

// Account is the counter of one account for one method: value is the
// normalized identifier, or the identity id.
func Account(method, value string) Key {
	return Key{Kind: KindAccount, Value: method + ":" + value}
}

// IP is the counter of one client address; IPv6 clients are counted per
// /64, the block one subscriber usually gets. An invalid address (unknown
// client) shares one counter.
func IP(a netip.Addr) Key {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return Key{Kind: KindIP, Value: p.String()}
	}
	return Key{Kind: KindIP, Value: a.Unmap().String()}
}

// Mail is the counter of one kind of mail ("recovery", "verification")
// sent to one address.
func Mail(kind, address string) Key {
	return Key{Kind: KindMail, Value: kind + ":" + strings.ToLower(strings.TrimSpace(address))}
}

// id is what is stored: a hash, so that the table holds neither
// identifiers nor addresses, and every key has the same length.
func (k Key) id() string {
	sum := sha256.Sum256([]byte(string(k.Kind) + "\x00" + k.Value))
	return hex.EncodeToString(sum[:])
}

// Policy is the limit of one kind of key.
type Policy struct {
	// Max failures in Window; the Max-th locks the key for Lockout. 0
	// means no limit.
	Max     int
	Window  time.Duration
	Lockout time.Duration
	// Free failures before the back-off starts; BaseDelay doubles with
	// each further failure, up to MaxDelay. BaseDelay 0 disables the
	// back-off.
	Free      int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// State is a key's stored counter.
type State struct {
	Failures     int
	WindowStart  time.Time
	BlockedUntil time.Time
	// ExpiresAt is when the row no longer matters (pruning removes it).
	ExpiresAt time.Time
}

// Store keeps the counters.
type Store interface {
	// ThrottleStates returns the stored states of the keys that have one.
	ThrottleStates(ctx context.Context, keys []string) (map[string]State, error)
	// UpdateThrottle reads the key's state (zero when there is none), lets
	// fn change it and stores it, atomically against concurrent updates
	// of the same key on any instance.
	UpdateThrottle(ctx context.Context, key string, fn func(*State)) error
	DeleteThrottle(ctx context.Context, keys []string) error
	// PruneThrottle deletes states that expired before t.
	PruneThrottle(ctx context.Context, t time.Time) (int64, error)
}

// Limiter applies the policies. A nil *Limiter allows everything.
type Limiter struct {
	store    Store
	policies map[Kind]Policy
	now      atomic.Pointer[func() time.Time]
}

// New returns a limiter over st. Kinds without a policy are not limited.
func New(st Store, policies map[Kind]Policy) *Limiter {
	l := &Limiter{store: st, policies: policies}
	now := time.Now
	l.now.Store(&now)
	return l
}

// SetClock replaces the clock (tests move it instead of sleeping).
func (l *Limiter) SetClock(now func() time.Time) { l.now.Store(&now) }

func (l *Limiter) clock() time.Time { return (*l.now.Load())().UTC() }

func (l *Limiter) limited(keys []Key) []Key {
	out := keys[:0:0]
	for _, k := range keys {
		if _, ok := l.policies[k.Kind]; ok {
			out = append(out, k)
		}
	}
	return out
}

// Check returns how long the caller must wait before the next attempt for
// these keys (0: go ahead). It writes nothing.
func (l *Limiter) Check(ctx context.Context, keys ...Key) (time.Duration, error) {
	if l == nil {
		return 0, nil
	}
	keys = l.limited(keys)
	if len(keys) == 0 {
		return 0, nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id()
	}
	states, err := l.store.ThrottleStates(ctx, ids)
	if err != nil {
		return 0, err
	}
	now := l.clock()
	var wait time.Duration
	for _, s := range states {
		wait = max(wait, s.BlockedUntil.Sub(now))
	}
	return roundUp(wait), nil
}

// roundUp makes a wait whole seconds (Retry-After has no fractions), never
// shorter than the real wait.
func roundUp(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return ((d + time.Second - 1) / time.Second) * time.Second
}

// Failure counts one failed attempt for every key. locked reports that one
// of them has just reached its policy's Max (a lockout began).
func (l *Limiter) Failure(ctx context.Context, keys ...Key) (locked bool, err error) {
	if l == nil {
		return false, nil
	}
	now := l.clock()
	for _, k := range l.limited(keys) {
		p := l.policies[k.Kind]
		err := l.store.UpdateThrottle(ctx, k.id(), func(s *State) {
			if fail(s, p, now) {
				locked = true
			}
		})
		if err != nil {
			return locked, err
		}
	}
	return locked, nil
}

// fail applies one failure to s; it reports whether a lockout began.
func fail(s *State, p Policy, now time.Time) bool {
	if now.Before(s.WindowStart) || (!now.Before(s.WindowStart.Add(p.Window)) && !now.Before(s.BlockedUntil)) {
		s.Failures, s.WindowStart = 0, now
	}
	s.Failures++
	locked := false
	switch {
	case p.Max > 0 && s.Failures >= p.Max:
		locked = s.Failures == p.Max
		s.BlockedUntil = now.Add(p.Lockout)
	case p.BaseDelay > 0 && s.Failures > p.Free:
		d := p.BaseDelay
		for i := p.Free + 1; i < s.Failures && d < p.MaxDelay; i++ {
			d *= 2
		}
		if p.MaxDelay > 0 {
			d = min(d, p.MaxDelay)
		}
		s.BlockedUntil = now.Add(d)
	}
	s.ExpiresAt = s.WindowStart.Add(p.Window)
	if s.BlockedUntil.After(s.ExpiresAt) {
		s.ExpiresAt = s.BlockedUntil
	}
	return locked
}

// Success forgets the counts of the keys.
func (l *Limiter) Success(ctx context.Context, keys ...Key) error {
	if l == nil {
		return nil
	}
	keys = l.limited(keys)
	if len(keys) == 0 {
		return nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id()
	}
	// Most successes follow no failure: a read spares them a write.
	states, err := l.store.ThrottleStates(ctx, ids)
	if err != nil || len(states) == 0 {
		return err
	}
	return l.store.DeleteThrottle(ctx, ids)
}

// Take allows one action for key, or returns how long until the next is
// allowed; an allowed action counts as a failure would. Two concurrent
// Takes never both pass when the policy allows one.
func (l *Limiter) Take(ctx context.Context, key Key) (time.Duration, error) {
	if l == nil {
		return 0, nil
	}
	p, ok := l.policies[key.Kind]
	if !ok {
		return 0, nil
	}
	now := l.clock()
	var wait time.Duration
	err := l.store.UpdateThrottle(ctx, key.id(), func(s *State) {
		if d := s.BlockedUntil.Sub(now); d > 0 {
			wait = d
			return
		}
		fail(s, p, now)
	})
	return roundUp(wait), err
}

// Prune deletes counters that no longer matter.
func (l *Limiter) Prune(ctx context.Context) (int64, error) {
	if l == nil {
		return 0, nil
	}
	return l.store.PruneThrottle(ctx, l.clock())
}
