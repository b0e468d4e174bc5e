package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func migrated(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	st := open(t, dsn)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

func newMessage(k int, created time.Time) *courier.Message {
	return &courier.Message{
		ID: uuid.New(), Type: courier.MessageTypeEmail, Status: courier.StatusQueued,
		Recipient: fmt.Sprintf("user%d@example.org", k), Subject: fmt.Sprintf("subject %d ✓", k), Body: "body\nwith a link",
		TemplateType: courier.RecoveryValid, TemplateData: []byte(`{"To":"x","RecoveryURL":"https://x/?a=1&b=2"}`),
		CreatedAt: created, UpdatedAt: created,
	}
}

func status(t *testing.T, st *sqlstore.Store, id uuid.UUID) courier.Message {
	t.Helper()
	all, err := st.ListMessages(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not found", id)
	return courier.Message{}
}

func ids(ms []courier.Message) []uuid.UUID {
	out := make([]uuid.UUID, len(ms))
	for k, m := range ms {
		out[k] = m.ID
	}
	return out
}

func TestCourierStore(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := migrated(t, b.NewDSN(t))

		// Five messages, created one second apart, inserted out of order.
		msgs := make([]*courier.Message, 5)
		for k := range msgs {
			msgs[k] = newMessage(k, t0.Add(time.Duration(k)*time.Second))
		}
		for _, k := range []int{3, 0, 4, 1, 2} {
			if err := st.CreateMessage(ctx, msgs[k]); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateMessage(ctx, msgs[0]); !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate id: %v", err)
		}
		all, err := st.ListMessages(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 {
			t.Fatalf("%d messages", len(all))
		}
		got := all[0]
		want := *msgs[0]
		if got.ID != want.ID || got.Type != want.Type || got.Status != courier.StatusQueued || got.Recipient != want.Recipient ||
			got.Subject != want.Subject || got.Body != want.Body || got.TemplateType != want.TemplateType ||
			string(got.TemplateData) != string(want.TemplateData) || got.SendCount != 0 || got.LastError != "" ||
			got.ClaimedUntil != nil || got.ClaimToken != "" || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at not UTC: %v", got.CreatedAt.Location())
		}
		if l, _ := st.ListMessages(ctx, courier.StatusQueued, 2); !slices.Equal(ids(l), []uuid.UUID{msgs[0].ID, msgs[1].ID}) {
			t.Errorf("list with status and limit: %v", ids(l))
		}

		// Claims take the oldest first, up to the limit.
		now := t0.Add(time.Minute)
		lease := now.Add(time.Minute)
		a, err := st.ClaimMessages(ctx, "token-a", now, lease, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(a), []uuid.UUID{msgs[0].ID, msgs[1].ID}) {
			t.Fatalf("first claim %v", ids(a))
		}
		for _, m := range a {
			if m.Status != courier.StatusProcessing || m.ClaimToken != "token-a" || m.ClaimedUntil == nil || !m.ClaimedUntil.Equal(lease) {
				t.Errorf("claimed message %+v", m)
			}
		}
		if s := status(t, st, msgs[0].ID); s.Status != courier.StatusProcessing || s.ClaimToken != "token-a" || !s.ClaimedUntil.Equal(lease) {
			t.Errorf("stored claim %+v", s)
		}
		bClaim, err := st.ClaimMessages(ctx, "token-b", now, lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(bClaim), []uuid.UUID{msgs[2].ID, msgs[3].ID, msgs[4].ID}) {
			t.Fatalf("second claim %v", ids(bClaim))
		}
		if c, _ := st.ClaimMessages(ctx, "token-c", now, lease, 10); len(c) != 0 {
			t.Fatalf("claimed messages under a live lease: %v", ids(c))
		}

		// Outcomes need the claim's token.
		for name, err := range map[string]error{
			"renew":   st.RenewClaim(ctx, msgs[0].ID, "token-b", now, lease),
			"sent":    st.MarkSent(ctx, msgs[0].ID, "token-b", now),
			"release": st.Release(ctx, msgs[0].ID, "token-b", "x", now, now),
			"unclaim": st.Unclaim(ctx, msgs[0].ID, "token-b", now),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s with another worker's token: %v", name, err)
			}
		}
		if err := st.MarkSent(ctx, msgs[0].ID, "token-a", now); err != nil {
			t.Fatal(err)
		}
		if s := status(t, st, msgs[0].ID); s.Status != courier.StatusSent || s.SendCount != 1 || s.ClaimToken != "" || s.ClaimedUntil != nil {
			t.Errorf("sent: %+v", s)
		}
		if err := st.MarkSent(ctx, msgs[0].ID, "token-a", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("marking a sent message again: %v", err)
		}

		// Release: back to the queue, due at retryAt.
		retryAt := now.Add(30 * time.Second)
		if err := st.Release(ctx, msgs[1].ID, "token-a", "451 try later", now, retryAt); err != nil {
			t.Fatal(err)
		}
		if s := status(t, st, msgs[1].ID); s.Status != courier.StatusQueued || s.SendCount != 1 || s.LastError != "451 try later" || s.ClaimToken != "" || !s.ClaimedUntil.Equal(retryAt) {
			t.Errorf("released: %+v", s)
		}
		// Unclaim: back to the queue unchanged.
		if err := st.Unclaim(ctx, msgs[2].ID, "token-b", now); err != nil {
			t.Fatal(err)
		}
		if s := status(t, st, msgs[2].ID); s.Status != courier.StatusQueued || s.SendCount != 0 || s.ClaimedUntil != nil {
			t.Errorf("unclaimed: %+v", s)
		}
		c, err := st.ClaimMessages(ctx, "token-c", now, lease, 10)
		if err != nil || !slices.Equal(ids(c), []uuid.UUID{msgs[2].ID}) {
			t.Fatalf("claim before the retry time: %v %v", ids(c), err)
		}
		// Renewing extends the lease of a live claim.
		longer := lease.Add(time.Hour)
		if err := st.RenewClaim(ctx, msgs[2].ID, "token-c", now, longer); err != nil {
			t.Fatal(err)
		}
		// After the retry time and the end of b's lease (b "crashed"): the
		// stale claims come first, then the due queued message; c's renewed
		// claim stays.
		later := lease.Add(time.Second)
		d, err := st.ClaimMessages(ctx, "token-d", later, later.Add(time.Minute), 10)
		if err != nil || !slices.Equal(ids(d), []uuid.UUID{msgs[3].ID, msgs[4].ID, msgs[1].ID}) {
			t.Fatalf("claim after leases ran out: %v %v", ids(d), err)
		}
		if err := st.MarkSent(ctx, msgs[3].ID, "token-b", later); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the crashed worker still owns its message: %v", err)
		}
		if s := status(t, st, msgs[1].ID); s.SendCount != 1 || s.LastError != "451 try later" {
			t.Errorf("claiming lost the attempt count: %+v", s)
		}
	})
}

func TestCourierStoreAbandon(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := migrated(t, b.NewDSN(t))
		now := t0.Add(2 * time.Hour)
		cutoff := now.Add(-time.Hour)
		old := func(k int) *courier.Message { return newMessage(k, cutoff.Add(-time.Duration(k+1)*time.Second)) }

		oldQueued, oldRetrying, oldLive, oldStale, oldSent := old(0), old(1), old(2), old(3), old(4)
		fresh := newMessage(5, cutoff.Add(time.Second))
		retry := now.Add(time.Minute)
		oldRetrying.ClaimedUntil = &retry
		for _, m := range []*courier.Message{oldQueued, oldRetrying, oldLive, oldStale, oldSent, fresh} {
			if err := st.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// Claims take the oldest due message, so one at a time they give
		// oldSent, oldStale and oldLive, each with its own lease.
		claim := func(token string, at, until time.Time, n int) []courier.Message {
			ms, err := st.ClaimMessages(ctx, token, at, until, n)
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}
		if ms := claim("sent", cutoff, now.Add(time.Hour), 1); len(ms) != 1 || ms[0].ID != oldSent.ID {
			t.Fatalf("claim %v", ids(ms))
		}
		if err := st.MarkSent(ctx, oldSent.ID, "sent", cutoff); err != nil {
			t.Fatal(err)
		}
		if ms := claim("stale", cutoff, now.Add(-time.Second), 1); len(ms) != 1 || ms[0].ID != oldStale.ID {
			t.Fatalf("claim %v", ids(ms))
		}
		if ms := claim("live", cutoff, now.Add(time.Minute), 1); len(ms) != 1 || ms[0].ID != oldLive.ID {
			t.Fatalf("claim %v", ids(ms))
		}

		n, err := st.AbandonMessages(ctx, cutoff, now)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("abandoned %d, want 3", n)
		}
		want := map[uuid.UUID]courier.Status{
			oldQueued.ID: courier.StatusAbandoned, oldRetrying.ID: courier.StatusAbandoned, oldStale.ID: courier.StatusAbandoned,
			oldLive.ID: courier.StatusProcessing, oldSent.ID: courier.StatusSent, fresh.ID: courier.StatusQueued,
		}
		for id, w := range want {
			if s := status(t, st, id); s.Status != w {
				t.Errorf("message %d: %s, want %s", slices.IndexFunc([]*courier.Message{oldQueued, oldRetrying, oldLive, oldStale, oldSent, fresh}, func(m *courier.Message) bool { return m.ID == id }), s.Status, w)
			}
		}
		if ms := claim("after", now, now.Add(time.Minute), 10); !slices.Equal(ids(ms), []uuid.UUID{fresh.ID}) {
			t.Errorf("abandoned messages were claimed: %v", ids(ms))
		}
	})
}

// TestCourierStoreConcurrentClaims has several pools (as several processes
// would) claim from one queue at once: every message must be claimed by
// exactly one of them.
func TestCourierStoreConcurrentClaims(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		st := migrated(t, dsn)
		const total, workers = 300, 4
		for k := 0; k < total; k++ {
			if err := st.CreateMessage(ctx, newMessage(k, t0.Add(time.Duration(k)*time.Millisecond))); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		claimedBy := map[uuid.UUID][]int{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			pool := open(t, dsn)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for round := 0; ; round++ {
					now := t0.Add(time.Hour)
					ms, err := pool.ClaimMessages(ctx, fmt.Sprintf("w%d-r%d", w, round), now, now.Add(time.Hour), 7)
					if err != nil {
						errs <- err
						return
					}
					if len(ms) == 0 {
						return
					}
					mu.Lock()
					for _, m := range ms {
						claimedBy[m.ID] = append(claimedBy[m.ID], w)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("claim: %v", err)
		}
		if len(claimedBy) != total {
			t.Errorf("%d messages claimed, want %d", len(claimedBy), total)
		}
		perWorker := map[int]int{}
		for id, by := range claimedBy {
			if len(by) != 1 {
				t.Errorf("message %s claimed by %v", id, by)
			}
			perWorker[by[0]]++
		}
		t.Logf("claims per worker: %v", perWorker)
	})
}

// TestCourierStoreDropsSentLinks: once a message with a single-use link is
// sent or abandoned, neither its body nor its template data hold the link;
// messages without a link keep theirs.
func TestCourierStoreDropsSentLinks(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		st := migrated(t, b.NewDSN(t))
		ctx := context.Background()
		link := newMessage(1, t0)
		plain := newMessage(2, t0.Add(time.Second))
		plain.TemplateType, plain.TemplateData = courier.RecoveryInvalid, []byte(`{"To":"y"}`)
		stale := newMessage(3, t0.Add(2*time.Second))
		for _, m := range []*courier.Message{link, plain, stale} {
			if err := st.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := st.ClaimMessages(ctx, "tok", t0.Add(time.Minute), t0.Add(2*time.Minute), 2)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claimed %d, %v", len(claimed), err)
		}
		for _, m := range claimed {
			if err := st.MarkSent(ctx, m.ID, "tok", t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := st.AbandonMessages(ctx, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("abandoned %d, %v", n, err)
		}
		for _, id := range []uuid.UUID{link.ID, stale.ID} {
			got := status(t, st, id)
			if got.Body != "" || string(got.TemplateData) != "{}" || got.Subject == "" || got.Recipient == "" {
				t.Errorf("message %s (%v) after delivery: body %q, data %s", id, got.Status, got.Body, got.TemplateData)
			}
		}
		if got := status(t, st, plain.ID); got.Body != plain.Body || string(got.TemplateData) != string(plain.TemplateData) {
			t.Errorf("a message without a link lost its body: %+v", got)
		}
	})
}
