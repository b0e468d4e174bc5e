package e2e_test

// Brute-force protection (a Hoplite addition; Kratos v0.9 has none): failed
// password sign-ins are counted per account and per client address in the
// database, so every instance sees them; a throttled attempt is refused
// with message 4000100 and Retry-After before any password hash is spent;
// recovery and verification mails cool down per address; a full hash queue
// answers 503. The limiter's clock is moved by the tests, never slept.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// tbClock is a clock the tests move by hand.
type tbClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTBClock() *tbClock { return &tbClock{now: time.Now().UTC()} }

func (c *tbClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tbClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// tbStart starts a server whose limiter runs on clk.
func tbStart(t *testing.T, dsn string, clk *tbClock, cfg string) *testutil.Server {
	t.Helper()
	s := testutil.StartServer(t, testutil.Options{DSN: dsn, Config: cfg})
	if s.App.Throttle == nil {
		t.Fatal("the brute-force limiter is not on by default")
	}
	s.App.Throttle.SetClock(clk.Now)
	return s
}

// tbLogin submits a password login on a new API flow.
func tbLogin(t testing.TB, s *testutil.Server, identifier, password string, headers ...string) response {
	t.Helper()
	init := do(t, http.MethodGet, s.PublicURL+"self-service/login/api", nil, "Accept", "application/json")
	if init.Status != http.StatusOK {
		t.Fatalf("login init: %s", init)
	}
	f := ssDecodeFlow(t, init.Body)
	return doJSON(t, http.MethodPost, s.PublicURL+"self-service/login?flow="+f.ID,
		map[string]any{"method": "password", "identifier": identifier, "password": password}, headers...)
}

// tbRequireMessage checks a 400 flow carrying only message id, and returns
// the Retry-After seconds (0 when absent).
func tbRequireMessage(t testing.TB, r response, id int64) int {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 with message %d; body %s", r.Status, id, r.Body)
	}
	f := ssDecodeFlow(t, r.Body)
	ids := ssIDs(f.UI.Messages)
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("ui.messages %v, want [%d]; body %s", ids, id, r.Body)
	}
	if v, _ := f.node(t, "password").value(); v != nil && v != "" {
		t.Fatalf("the password is echoed back: %v", v)
	}
	ra := r.Header.Get("Retry-After")
	if ra == "" {
		return 0
	}
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q is not a positive number of seconds", ra)
	}
	return n
}

func TestBruteForceLockoutAfter100FailuresSharedAcrossInstances(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		dsn := b.NewDSN(t)
		clk := newTBClock()
		// No back-off: this test counts to the hourly limit at once.
		cfg := ssSessionHook + "security:\n  brute_force:\n    base_delay: 0s\n"
		a := tbStart(t, dsn, clk, cfg)
		c := tbStart(t, dsn, clk, cfg)
		const email, unknown = "locked@example.com", "nobody@example.com"
		ssRegister(t, a, email, ssPassword)

		// 100 failures, alternating between the two instances, for a known
		// and for an unknown identifier.
		for k := 0; k < 100; k++ {
			s := []*testutil.Server{a, c}[k%2]
			if ra := tbRequireMessage(t, tbLogin(t, s, email, "wrong-password-"+strconv.Itoa(k)), 4000006); ra != 0 {
				t.Fatalf("failure %d already carries Retry-After %d", k+1, ra)
			}
			tbRequireMessage(t, tbLogin(t, s, unknown, "wrong-password"), 4000006)
		}

		// The 101st attempt is throttled on both instances, even with the
		// right password, and spends no hash.
		for _, s := range []*testutil.Server{a, c} {
			before := s.App.Hasher.Started()
			known := tbLogin(t, s, email, ssPassword)
			raKnown := tbRequireMessage(t, known, 4000100)
			unk := tbRequireMessage(t, tbLogin(t, s, unknown, "wrong-password"), 4000100)
			if got := s.App.Hasher.Started(); got != before {
				t.Fatalf("throttled attempts started %d password hash(es), want 0", got-before)
			}
			if raKnown != 3600 || unk != 3600 {
				t.Fatalf("Retry-After %d (known) / %d (unknown), want 3600 for both (the lockout)", raKnown, unk)
			}
			// A lockout reads the same for accounts that exist and that do not.
			fk, fu := ssDecodeFlow(t, known.Body), ssDecodeFlow(t, tbLogin(t, s, unknown, "x").Body)
			if fk.UI.Messages[0].Text != fu.UI.Messages[0].Text {
				t.Fatalf("lockout texts differ: %q vs %q", fk.UI.Messages[0].Text, fu.UI.Messages[0].Text)
			}
		}

		// A browser is sent back to the form, with Retry-After, and the
		// flow shows the message.
		br := ssNewBrowser(t, a)
		f := br.initFlow("login", "")
		r := br.postForm(f.UI.Action, ssFormFor(t, f, "method", "password", "identifier", email, "password", ssPassword))
		if r.Status != http.StatusSeeOther || r.Header.Get("Retry-After") == "" {
			t.Fatalf("throttled browser login: status %d, Retry-After %q; want 303 with Retry-After", r.Status, r.Header.Get("Retry-After"))
		}
		shown := br.fetch("login", f.ID)
		ssRequireMessage(t, "throttled browser flow", shown.UI.Messages, 4000100)

		// After the lockout, the right password works (on the other
		// instance), and the count starts over.
		clk.Add(time.Hour + time.Second)
		ssLogin(t, c, email, ssPassword)
		tbRequireMessage(t, tbLogin(t, a, email, "wrong-again"), 4000006)
	})
}

func TestBruteForceBackOffDoublesAndEndsWithTheClock(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		clk := newTBClock()
		s := tbStart(t, b.NewDSN(t), clk, ssSessionHook)
		const email = "backoff@example.com"
		ssRegister(t, s, email, ssPassword)
		// Five free failures.
		for k := 0; k < 5; k++ {
			tbRequireMessage(t, tbLogin(t, s, email, "wrong"), 4000006)
		}
		// Each further failure blocks for 1s, 2s, 4s, …
		for _, wait := range []int{1, 2, 4, 8} {
			tbRequireMessage(t, tbLogin(t, s, email, "wrong"), 4000006)
			if got := tbRequireMessage(t, tbLogin(t, s, email, ssPassword), 4000100); got != wait {
				t.Fatalf("Retry-After %d, want %d", got, wait)
			}
			clk.Add(time.Duration(wait) * time.Second)
		}
		// The wait is over: the right password works and resets the count.
		ssLogin(t, s, email, ssPassword)
		for k := 0; k < 5; k++ {
			tbRequireMessage(t, tbLogin(t, s, email, "wrong"), 4000006)
		}
	})
}

func TestBruteForcePerClientAddressBehindTrustedProxy(t *testing.T) {
	clk := newTBClock()
	cfg := ssSessionHook + `
serve:
  public:
    trusted_proxies: ["127.0.0.1", "10.0.0.0/8"]
security:
  brute_force:
    max_failures_per_ip: 3
    lockout: 10m
`
	s := tbStart(t, testutil.NewSQLiteDSN(t), clk, cfg)
	ssRegister(t, s, "victim@example.com", ssPassword)
	// One client, behind two trusted proxies, tries three accounts.
	attacker := []string{"X-Forwarded-For", "203.0.113.7, 10.1.2.3"}
	for _, who := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		tbRequireMessage(t, tbLogin(t, s, who, "guess", attacker...), 4000006)
	}
	if ra := tbRequireMessage(t, tbLogin(t, s, "victim@example.com", ssPassword, attacker...), 4000100); ra != 600 {
		t.Fatalf("Retry-After %d, want 600", ra)
	}
	// A spoofed left-most hop does not help: the proxies' hop is believed.
	tbRequireMessage(t, tbLogin(t, s, "victim@example.com", ssPassword, "X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.2.3"), 4000100)
	// Another client is not affected.
	if r := tbLogin(t, s, "victim@example.com", ssPassword, "X-Forwarded-For", "198.51.100.9"); r.Status != http.StatusOK {
		t.Fatalf("another client's login: %s", r)
	}
}

func TestBruteForceIgnoresForwardedForWithoutTrustedProxies(t *testing.T) {
	clk := newTBClock()
	cfg := ssSessionHook + "security:\n  brute_force:\n    max_failures_per_ip: 2\n"
	s := tbStart(t, testutil.NewSQLiteDSN(t), clk, cfg)
	ssRegister(t, s, "someone@example.com", ssPassword)
	// Rotating X-Forwarded-For does not give an attacker fresh addresses.
	for k, who := range []string{"a@example.com", "b@example.com"} {
		tbRequireMessage(t, tbLogin(t, s, who, "guess", "X-Forwarded-For", "203.0.113."+strconv.Itoa(k+1)), 4000006)
	}
	tbRequireMessage(t, tbLogin(t, s, "someone@example.com", ssPassword, "X-Forwarded-For", "203.0.113.99"), 4000100)
	// The operator is told, once.
	if n := strings.Count(s.Logs.String(), "serve.public.trusted_proxies is empty"); n != 1 {
		t.Fatalf("the untrusted X-Forwarded-For warning was logged %d times, want once", n)
	}
}

func TestBruteForceDisabled(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{Config: ssSessionHook + "security:\n  brute_force:\n    enabled: false\n"})
	if s.App.Throttle != nil {
		t.Fatal("security.brute_force.enabled: false still built a limiter")
	}
	ssRegister(t, s, "free@example.com", ssPassword)
	for k := 0; k < 8; k++ {
		tbRequireMessage(t, tbLogin(t, s, "free@example.com", "wrong"), 4000006)
	}
	ssLogin(t, s, "free@example.com", ssPassword)
}

func TestFullHashQueueAnswers503(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: ssSessionHook + "security:\n  max_waiting_hashes: 0\n"})
		ssRegister(t, s, "busy@example.com", ssPassword)
		// Occupy every hash slot; with no room to wait, logins are refused
		// at once — for unknown identifiers as for known ones.
		var releases []func()
		for range s.App.Hasher.Slots() {
			release, err := s.App.Hasher.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			releases = append(releases, release)
		}
		for _, who := range []string{"busy@example.com", "unknown@example.com"} {
			r := tbLogin(t, s, who, ssPassword)
			requireEnvelope(t, r, http.StatusServiceUnavailable)
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After for %s", who)
			}
		}
		// A busy answer is no failed attempt.
		for _, release := range releases {
			release()
		}
		ssLogin(t, s, "busy@example.com", ssPassword)
		for k := 0; k < 5; k++ {
			tbRequireMessage(t, tbLogin(t, s, "busy@example.com", "wrong"), 4000006)
		}
	})
}

// tbQueuedMails counts the mails queued for addr.
func tbQueuedMails(t testing.TB, s *testutil.Server, addr string) int {
	t.Helper()
	var n int
	q := "SELECT COUNT(*) FROM courier_messages WHERE recipient = ?"
	if s.App.Store.Dialect() == "postgres" {
		q = "SELECT COUNT(*) FROM courier_messages WHERE recipient = $1"
	}
	if err := s.App.Store.DB().QueryRow(q, addr).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMailCooldownPerAddress(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		clk := newTBClock()
		s := tbStart(t, b.NewDSN(t), clk, lcMergeYAML(t, lcConfig, ssSessionHook))
		const known, unknown = "cool@example.com", "cool-nobody@example.com"
		ssRegister(t, s, known, ssPassword)
		base := tbQueuedMails(t, s, known) // the registration's verification mail

		for _, addr := range []string{known, unknown} {
			start := tbQueuedMails(t, s, addr)
			lcRequestRecovery(t, s, addr)
			if got := tbQueuedMails(t, s, addr); got != start+1 {
				t.Fatalf("%s: %d mails queued by a recovery request, want 1", addr, got-start)
			}
			// Within the cooldown: the same answer, no mail.
			lcRequestRecovery(t, s, addr)
			if got := tbQueuedMails(t, s, addr); got != start+1 {
				t.Fatalf("%s: %d mails queued within the cooldown, want none", addr, got-start-1)
			}
			// Each kind of mail cools down on its own.
			lcRequestVerification(t, s, addr)
			lcRequestVerification(t, s, addr)
			if got := tbQueuedMails(t, s, addr); got != start+2 {
				t.Fatalf("%s: %d verification mails queued, want 1", addr, got-start-1)
			}
		}
		// The cooled-down answer looks like a normal one.
		f := tbRecoverySubmit(t, s, known)
		if f.State != "sent_email" || !containsID(ssIDs(f.UI.Messages), 1060002) {
			t.Fatalf("cooled-down recovery answer: state %q messages %v, want sent_email with 1060002", f.State, ssIDs(f.UI.Messages))
		}
		// After the cooldown a new mail goes out.
		clk.Add(time.Minute + time.Second)
		lcRequestRecovery(t, s, known)
		if got := tbQueuedMails(t, s, known); got != base+3 {
			t.Fatalf("after the cooldown: %d mails in all, want %d", got, base+3)
		}
	})
}

// tbRecoverySubmit submits a recovery email on a new API flow and returns
// the answered flow.
func tbRecoverySubmit(t testing.TB, s *testutil.Server, email string) ssFlow {
	t.Helper()
	init := do(t, http.MethodGet, s.PublicURL+"self-service/recovery/api", nil, "Accept", "application/json")
	f := ssDecodeFlow(t, init.Body)
	r := doJSON(t, http.MethodPost, s.PublicURL+"self-service/recovery?flow="+f.ID, map[string]any{"method": "link", "email": email})
	if r.Status != http.StatusOK {
		t.Fatalf("recovery submit: %s", r)
	}
	return ssDecodeFlow(t, r.Body)
}
