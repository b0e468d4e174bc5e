package courier_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func openStore(t *testing.T, dsn string, migrate bool) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// fastCourier is a courier tuned for tests.
func fastCourier(st courier.Store, tmpl *courier.Templates, ttl time.Duration) *courier.Courier {
	c := courier.New(st, tmpl, ttl, slog.New(slog.DiscardHandler))
	c.PollInterval = 5 * time.Millisecond
	c.RetryDelay = -1
	c.MaxBackoff = 50 * time.Millisecond
	return c
}

func plainSender(t *testing.T, srv *smtptest.Server) *courier.SMTPSender {
	return newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "", "", "disable_starttls=true")})
}

func list(t *testing.T, st courier.Store) []courier.Message {
	t.Helper()
	ms, err := st.ListMessages(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestQueueEmail(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		c := fastCourier(st, nil, 0)
		ident := map[string]any{"id": "5b2bdf0a-5e4c-4b83-9b3a-5b1b5e0b6a00", "traits": map[string]any{"email": "ann@example.org"}}
		id, err := c.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: " ann@example.org ", RecoveryURL: recoveryLink, Identity: ident})
		if err != nil {
			t.Fatal(err)
		}
		// Variables a template does not have are not stored.
		id2, err := c.QueueEmail(ctx, courier.VerificationInvalid, courier.EmailData{To: "bob@example.org", VerificationURL: "https://leak/", Identity: ident})
		if err != nil {
			t.Fatal(err)
		}
		ms := list(t, st)
		if len(ms) != 2 || ms[0].ID != id || ms[1].ID != id2 {
			t.Fatalf("messages %+v", ms)
		}
		m := ms[0]
		if m.Type != courier.MessageTypeEmail || m.Status != courier.StatusQueued || m.Recipient != "ann@example.org" ||
			m.Subject != "Recover access to your account" || !strings.Contains(m.Body, recoveryLink) || m.TemplateType != courier.RecoveryValid ||
			m.SendCount != 0 || time.Since(m.CreatedAt) > time.Minute {
			t.Errorf("queued message %+v", m)
		}
		var data map[string]any
		if err := json.Unmarshal(m.TemplateData, &data); err != nil {
			t.Fatal(err)
		}
		if data["To"] != "ann@example.org" || data["RecoveryURL"] != recoveryLink || data["Identity"].(map[string]any)["id"] != ident["id"] {
			t.Errorf("template data %s", m.TemplateData)
		}
		if string(ms[1].TemplateData) != `{"To":"bob@example.org"}` {
			t.Errorf("invalid-address template data %s", ms[1].TemplateData)
		}

		for _, to := range []string{"", "not-an-address", "a@example.org, b@example.org", "Ann <a@example.org>", "a@example.org\r\nBcc: x@example.org"} {
			if _, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: to}); err == nil {
				t.Errorf("recipient %q accepted", to)
			}
		}
		if _, err := c.QueueEmail(ctx, "otp", courier.EmailData{To: "a@example.org"}); err == nil {
			t.Error("unknown template accepted")
		}
		if n := len(list(t, st)); n != 2 {
			t.Errorf("%d messages after the rejected ones", n)
		}
	})
}

func TestWorkerDelivers(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		srv := smtptest.Start(t, smtptest.Options{StartTLS: true, RequireTLS: true, Users: map[string]string{"u": "p"}})

		queuer := fastCourier(st, nil, 0)
		type queued struct {
			id   uuid.UUID
			link string
		}
		var want []queued
		for k := 0; k < 3; k++ {
			link := fmt.Sprintf("%s-%d", recoveryLink, k)
			id, err := queuer.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: fmt.Sprintf("u%d@example.org", k), RecoveryURL: link})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, queued{id, link})
		}

		// The worker's templates differ from the queuer's in the HTML body:
		// the HTML is rendered when sending, the rest when queueing.
		tmpl, err := courier.LoadTemplates(ctx, courier.TemplateOptions{Sources: map[courier.TemplateType]courier.TemplateSource{
			courier.RecoveryValid: {
				HTML:    "base64://" + base64.StdEncoding.EncodeToString([]byte(`<p>new layout <a href="{{ .RecoveryURL }}">link</a></p>`)),
				Subject: "base64://" + base64.StdEncoding.EncodeToString([]byte(`changed subject`)),
			},
		}})
		if err != nil {
			t.Fatal(err)
		}
		worker := fastCourier(st, tmpl, 0)
		stop := worker.Start(ctx, newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "u", "p", "skip_ssl_verify=true")}))
		mails := srv.WaitForMails(t, 3, 10*time.Second)
		stop()

		byID := map[string]smtptest.Mail{}
		for _, m := range mails {
			p, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			byID[p.Header.Get("Message-Id")] = m
		}
		for k, w := range want {
			m, ok := byID["<"+w.id.String()+"@hoplite.example>"]
			if !ok {
				t.Fatalf("message %d not delivered", k)
			}
			p, _ := m.Parse()
			if !m.TLS || m.To[0] != fmt.Sprintf("u%d@example.org", k) {
				t.Errorf("envelope %+v", m)
			}
			if p.Subject != "Recover access to your account" {
				t.Errorf("subject %q: it is rendered when queued", p.Subject)
			}
			if !strings.Contains(p.Text, w.link) {
				t.Errorf("text lacks the link %s", w.link)
			}
			wantHTML := `<p>new layout <a href="` + strings.ReplaceAll(w.link, "&", "&amp;") + `">link</a></p>`
			if strings.ReplaceAll(p.HTML, "\r\n", "\n") != wantHTML {
				t.Errorf("HTML %q, want %q", p.HTML, wantHTML)
			}
		}
		for _, m := range list(t, st) {
			if m.Status != courier.StatusSent || m.SendCount != 1 || m.ClaimToken != "" || m.ClaimedUntil != nil {
				t.Errorf("after delivery: %+v", m)
			}
		}
	})
}

func TestWorkerRetriesFailedMessages(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		srv := smtptest.Start(t, smtptest.Options{})
		c := fastCourier(st, nil, 0)
		id, err := c.QueueEmail(ctx, courier.VerificationValid, courier.EmailData{To: "ann@example.org", VerificationURL: "https://v.example/?t=1"})
		if err != nil {
			t.Fatal(err)
		}
		srv.Fail(smtptest.StageRcpt, 2, 451, "mailbox busy, try later")
		sender := plainSender(t, srv)

		// Round 1 and 2 fail; the message goes back to the queue each time.
		for round := 1; round <= 2; round++ {
			if n, err := c.RunOnce(ctx, sender); err != nil || n != 1 {
				t.Fatalf("round %d: claimed %d, %v", round, n, err)
			}
			m := list(t, st)[0]
			if m.Status != courier.StatusQueued || m.SendCount != round || !strings.Contains(m.LastError, "451") || m.ClaimToken != "" {
				t.Fatalf("after failed round %d: %+v", round, m)
			}
		}
		if len(srv.Mails()) != 0 {
			t.Fatal("a rejected message counts as delivered")
		}
		// Round 3 delivers.
		if n, err := c.RunOnce(ctx, sender); err != nil || n != 1 {
			t.Fatalf("round 3: %d %v", n, err)
		}
		m := list(t, st)[0]
		if m.ID != id || m.Status != courier.StatusSent || m.SendCount != 3 {
			t.Errorf("after delivery: %+v", m)
		}
		if len(srv.Mails()) != 1 {
			t.Errorf("%d deliveries", len(srv.Mails()))
		}
	})
}

func TestWorkerRetryDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, testutil.NewSQLiteDSN(t), true)
	srv := smtptest.Start(t, smtptest.Options{})
	clk := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	c := fastCourier(st, nil, 0)
	c.Now = clk.Now
	c.RetryDelay, c.MaxRetryDelay = 10*time.Second, 15*time.Second
	if _, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: "a@example.org"}); err != nil {
		t.Fatal(err)
	}
	srv.Fail(smtptest.StageData, 2, 452, "insufficient storage")
	sender := plainSender(t, srv)
	step := func(advance time.Duration, wantClaimed int) {
		t.Helper()
		clk.Add(advance)
		if n, err := c.RunOnce(ctx, sender); err != nil || n != wantClaimed {
			t.Fatalf("claimed %d (%v), want %d", n, err, wantClaimed)
		}
	}
	step(0, 1)              // attempt 1 fails: next in 10 s
	step(9*time.Second, 0)  // not yet
	step(time.Second, 1)    // attempt 2 fails: next in min(20 s, 15 s)
	step(14*time.Second, 0) // not yet
	step(time.Second, 1)    // attempt 3 succeeds
	if m := list(t, st)[0]; m.Status != courier.StatusSent || m.SendCount != 3 || len(srv.Mails()) != 1 {
		t.Errorf("after the retries: %+v, %d mails", m, len(srv.Mails()))
	}
}

func TestWorkerServerDownKeepsTheBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, testutil.NewSQLiteDSN(t), true)
	srv := smtptest.Start(t, smtptest.Options{})
	c := fastCourier(st, nil, 0)
	for k := 0; k < 3; k++ {
		if _, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: fmt.Sprintf("u%d@example.org", k)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Fail(smtptest.StageConnect, 1, 421, "service not available")
	sender := plainSender(t, srv)
	if n, err := c.RunOnce(ctx, sender); !errors.Is(err, courier.ErrServerUnavailable) || n != 3 {
		t.Fatalf("claimed %d, %v", n, err)
	}
	ms := list(t, st)
	if ms[0].SendCount != 1 || !strings.Contains(ms[0].LastError, "421") {
		t.Errorf("the failed message: %+v", ms[0])
	}
	for _, m := range ms {
		if m.Status != courier.StatusQueued {
			t.Errorf("message not back in the queue: %+v", m)
		}
	}
	for _, m := range ms[1:] {
		if m.SendCount != 0 || m.LastError != "" {
			t.Errorf("a message after the server failure was attempted: %+v", m)
		}
	}
	if srv.Connections() != 1 {
		t.Errorf("%d connections, want 1: the batch should stop at a server failure", srv.Connections())
	}
	if n, err := c.RunOnce(ctx, sender); err != nil || n != 3 || len(srv.Mails()) != 3 {
		t.Errorf("next round: claimed %d, %v, %d mails", n, err, len(srv.Mails()))
	}
}

func TestWorkerAbandonsOldMessages(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		srv := smtptest.Start(t, smtptest.Options{})
		clk := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
		c := fastCourier(st, nil, 30*time.Minute)
		c.Now = clk.Now
		old, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: "old@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		// The old message also failed once, so it was retried for a while.
		srv.Fail(smtptest.StageRcpt, 1, 450, "greylisted")
		if _, err := c.RunOnce(ctx, plainSender(t, srv)); err != nil {
			t.Fatal(err)
		}
		clk.Add(20 * time.Minute)
		fresh, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: "fresh@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(11 * time.Minute) // old: 31 min, fresh: 11 min
		if n, err := c.RunOnce(ctx, plainSender(t, srv)); err != nil || n != 1 {
			t.Fatalf("claimed %d, %v", n, err)
		}
		mails := srv.Mails()
		if len(mails) != 1 || mails[0].To[0] != "fresh@example.org" {
			t.Fatalf("deliveries %+v", mails)
		}
		for _, m := range list(t, st) {
			switch m.ID {
			case old:
				if m.Status != courier.StatusAbandoned || m.SendCount != 1 {
					t.Errorf("old message %+v", m)
				}
			case fresh:
				if m.Status != courier.StatusSent {
					t.Errorf("fresh message %+v", m)
				}
			}
		}
	})
}

func TestWorkerReclaimsAfterCrash(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		srv := smtptest.Start(t, smtptest.Options{})
		clk := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
		c := fastCourier(st, nil, 0)
		c.Now, c.Lease = clk.Now, time.Minute
		id, err := c.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink})
		if err != nil {
			t.Fatal(err)
		}
		// A worker claims the message and dies before sending it.
		claimed, err := st.ClaimMessages(ctx, "crashed-worker", clk.Now(), clk.Now().Add(time.Minute), 10)
		if err != nil || len(claimed) != 1 || claimed[0].ID != id {
			t.Fatalf("claim %v %v", claimed, err)
		}
		sender := plainSender(t, srv)
		// While its lease lasts, nobody else takes the message.
		clk.Add(59 * time.Second)
		if n, err := c.RunOnce(ctx, sender); err != nil || n != 0 {
			t.Fatalf("claimed %d under a live lease (%v)", n, err)
		}
		// Once it ran out, the message is claimed again and sent.
		clk.Add(2 * time.Second)
		if n, err := c.RunOnce(ctx, sender); err != nil || n != 1 {
			t.Fatalf("claimed %d after the lease (%v)", n, err)
		}
		if mails := srv.Mails(); len(mails) != 1 {
			t.Fatalf("%d deliveries", len(mails))
		}
		if m := list(t, st)[0]; m.Status != courier.StatusSent || m.SendCount != 1 {
			t.Errorf("after the re-claim: %+v", m)
		}
		// The crashed worker, back to life, cannot record anything.
		if err := st.MarkSent(ctx, id, "crashed-worker", clk.Now()); err == nil {
			t.Error("the crashed worker still holds its claim")
		}
	})
}

// slowSender blocks each delivery until released, to let a lease run out
// while a message is in flight.
type slowSender struct {
	started chan courier.Message
	release chan struct{}
	sent    atomic.Int32
}

func (s *slowSender) Send(ctx context.Context, m courier.Message) error {
	s.started <- m
	<-s.release
	s.sent.Add(1)
	return nil
}

func TestWorkerSkipsMessagesWhoseClaimWasTaken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, testutil.NewSQLiteDSN(t), true)
	clk := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	a := fastCourier(st, nil, 0)
	a.Now, a.Lease = clk.Now, time.Minute
	for k := 0; k < 2; k++ {
		if _, err := a.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: fmt.Sprintf("u%d@example.org", k)}); err != nil {
			t.Fatal(err)
		}
	}
	slow := &slowSender{started: make(chan courier.Message, 2), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := a.RunOnce(ctx, slow); done <- err }()
	first := <-slow.started
	// Worker a is stuck on the first message past the lease; worker b
	// claims both (the second is still waiting in a's batch) and sends them.
	clk.Add(2 * time.Minute)
	b := fastCourier(st, nil, 0)
	b.Now = clk.Now
	fast := &recordingSender{}
	if n, err := b.RunOnce(ctx, fast); err != nil || n != 2 {
		t.Fatalf("b claimed %d, %v", n, err)
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// a sent the first (its send was already under way) but not the second.
	if slow.sent.Load() != 1 || len(slow.started) != 0 {
		t.Errorf("worker a sent %d messages", slow.sent.Load())
	}
	if got := fast.ids(); len(got) != 2 || got[0] != first.ID {
		t.Errorf("worker b sent %v", got)
	}
}

type recordingSender struct {
	mu   sync.Mutex
	sent []uuid.UUID
}

func (r *recordingSender) Send(_ context.Context, m courier.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m.ID)
	return nil
}

func (r *recordingSender) ids() []uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uuid.UUID(nil), r.sent...)
}

// TestWorkersSendEachMessageOnce runs two workers, each over its own
// connection pool (as two processes would), against one database and one
// SMTP server that rejects some deliveries: every message must arrive
// exactly once.
func TestWorkersSendEachMessageOnce(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		st := openStore(t, dsn, true)
		const total = 200
		var rcpts atomic.Int32
		srv := smtptest.Start(t, smtptest.Options{Hook: func(stage smtptest.Stage, _ string) *smtptest.Reply {
			if stage == smtptest.StageRcpt && rcpts.Add(1)%17 == 0 {
				return &smtptest.Reply{Code: 451, Text: "try again later"}
			}
			return nil
		}})
		queuer := fastCourier(st, nil, 0)
		want := map[string]bool{}
		for k := 0; k < total; k++ {
			id, err := queuer.QueueEmail(ctx, courier.VerificationValid, courier.EmailData{
				To: fmt.Sprintf("user%d@example.org", k), VerificationURL: fmt.Sprintf("https://v.example/?token=%d", k),
			})
			if err != nil {
				t.Fatal(err)
			}
			want["<"+id.String()+"@hoplite.example>"] = true
		}

		var stops []func()
		for w := 0; w < 2; w++ {
			c := fastCourier(openStore(t, dsn, false), nil, 0)
			c.BatchSize = 7
			stops = append(stops, c.Start(ctx, plainSender(t, srv)))
		}
		srv.WaitForMails(t, total, 60*time.Second)
		time.Sleep(200 * time.Millisecond) // time for a duplicate to show up
		for _, stop := range stops {
			stop()
		}

		count := map[string]int{}
		for _, m := range srv.Mails() {
			p, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			count[p.Header.Get("Message-Id")]++
		}
		for id := range want {
			if count[id] != 1 {
				t.Errorf("message %s delivered %d times", id, count[id])
			}
		}
		if len(count) != total {
			t.Errorf("%d distinct messages delivered, want %d", len(count), total)
		}
		retried := 0
		for _, m := range list(t, st) {
			if m.Status != courier.StatusSent {
				t.Errorf("message %s is %s", m.ID, m.Status)
			}
			if m.SendCount > 1 {
				retried++
			}
		}
		if retried == 0 {
			t.Error("no message was retried: the failure injection did not work")
		}
	})
}

// failingStore fails every call, recording when the worker tried.
type failingStore struct {
	courier.Store
	mu    sync.Mutex
	calls []time.Time
}

func (f *failingStore) AbandonMessages(context.Context, time.Time, time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	return 0, errors.New("database is down")
}

func TestWorkerBacksOffOnStoreErrors(t *testing.T) {
	// Not parallel: it measures timing.
	fs := &failingStore{}
	var logs testutil.SyncBuffer
	c := courier.New(fs, nil, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	c.PollInterval, c.MaxBackoff = 10*time.Millisecond, 80*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Run(ctx, &recordingSender{}); err != nil {
		t.Fatalf("Run returned %v when its context ended", err)
	}
	if time.Since(start) > 800*time.Millisecond {
		t.Errorf("Run took %s to stop", time.Since(start))
	}
	fs.mu.Lock()
	calls := fs.calls
	fs.mu.Unlock()
	// Waits 10, 20, 40, 80, 80, … ms: about 9 calls in 600 ms, where a
	// fixed 10 ms poll would make about 60.
	if len(calls) < 4 || len(calls) > 14 {
		t.Errorf("%d attempts in 600 ms", len(calls))
	}
	if n := len(calls); n >= 5 {
		if gap := calls[n-1].Sub(calls[n-2]); gap < 70*time.Millisecond {
			t.Errorf("the backoff did not grow to the cap: last gap %s", gap)
		}
		if first := calls[1].Sub(calls[0]); first > 60*time.Millisecond {
			t.Errorf("first retry after %s", first)
		}
	}
	if !strings.Contains(logs.String(), "database is down") {
		t.Errorf("the store error was not logged: %s", logs.String())
	}
	if err := courier.New(fs, nil, 0, nil).Run(context.Background(), nil); !errors.Is(err, courier.ErrNoSender) {
		t.Errorf("Run without a sender: %v", err)
	}
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t, testutil.NewSQLiteDSN(t), true)
	srv := smtptest.Start(t, smtptest.Options{})

	// Development mode without SMTP: the log sender.
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	cfg := &config.Config{Dev: true}
	cfg.Courier.MessageTTL = time.Hour
	c, sender, err := courier.FromConfig(ctx, cfg, st, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sender.(courier.LogSender); !ok {
		t.Fatalf("sender %T, want the log sender", sender)
	}
	if _, err := c.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: "dev@example.org", RecoveryURL: recoveryLink}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.RunOnce(ctx, sender); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	if !strings.Contains(logs.String(), `"to":"dev@example.org"`) || !strings.Contains(logs.String(), `"subject":"Recover access to your account"`) ||
		!strings.Contains(logs.String(), recoveryLink) {
		t.Errorf("the log lacks the email: %s", logs.String())
	}
	if m := list(t, st)[0]; m.Status != courier.StatusSent {
		t.Errorf("logged message is %s", m.Status)
	}

	// Without SMTP outside development mode: queueing works, no sender.
	cfg = &config.Config{}
	if _, sender, err := courier.FromConfig(ctx, cfg, st, nil); err != nil || sender != nil {
		t.Errorf("no SMTP: sender %v, err %v", sender, err)
	}

	// SMTP configured: headers, name and templates from the config apply,
	// and nothing is logged at info level about the body.
	logs.Reset()
	cfg = &config.Config{}
	cfg.Courier.SMTP = config.SMTP{ConnectionURI: srv.URI("smtp", "", "", "disable_starttls=true"), FromAddress: "no-reply@hoplite.example",
		FromName: "Hoplite", Headers: map[string]string{"X-Env": "test"}}
	cfg.Courier.Templates.Recovery.Valid.Email.Subject = "base64://" + base64.StdEncoding.EncodeToString([]byte("Custom: {{ .To }}"))
	c, sender, err = courier.FromConfig(ctx, cfg, st, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sender.(*courier.SMTPSender); !ok {
		t.Fatalf("sender %T", sender)
	}
	if _, err := c.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.RunOnce(ctx, sender); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	p, _ := mails[0].Parse()
	if p.Subject != "Custom: ann@example.org" || p.Header.Get("From") != "Hoplite <no-reply@hoplite.example>" || p.Header.Get("X-Env") != "test" {
		t.Errorf("headers %v", p.Header)
	}
	if strings.Contains(logs.String(), "Zx9QrT") {
		t.Errorf("the link was logged outside development mode: %s", logs.String())
	}

	// Bad templates and SMTP settings are start-up errors.
	cfg.Courier.Templates.Verification.Invalid.Email.Body.HTML = "base64://" + base64.StdEncoding.EncodeToString([]byte("{{ end }}"))
	if _, _, err := courier.FromConfig(ctx, cfg, st, nil); err == nil || !strings.Contains(err.Error(), "verification/invalid/email.body.gotmpl") {
		t.Errorf("bad template: %v", err)
	}
	cfg.Courier.Templates.Verification.Invalid.Email.Body.HTML = ""
	cfg.Courier.SMTP.ConnectionURI = "smtp://user:hunter2@h:bad/"
	if _, _, err := courier.FromConfig(ctx, cfg, st, nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URI: %v", err)
	}
}
