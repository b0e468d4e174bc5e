package courier_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// A queued link mail does not hold its link in the database: body and
// template data are sealed until the worker opens them to send.
func TestQueuedLinksAreSealed(t *testing.T) {
	t.Parallel()
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		ctx := context.Background()
		st := openStore(t, b.NewDSN(t), true)
		ci, err := cipher.AtRest("noop", nil, []string{"a secret of the courier test, long enough"})
		if err != nil {
			t.Fatal(err)
		}
		c := fastCourier(st, nil, 0).SealLinks(ci)
		if _, err := c.QueueEmail(ctx, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink}); err != nil {
			t.Fatal(err)
		}
		// A message without a link is stored as it is.
		if _, err := c.QueueEmail(ctx, courier.RecoveryInvalid, courier.EmailData{To: "bob@example.org"}); err != nil {
			t.Fatal(err)
		}
		ms := list(t, st)
		if len(ms) != 2 {
			t.Fatalf("%d messages", len(ms))
		}
		sealed, plain := ms[0], ms[1]
		token := recoveryLink[strings.LastIndex(recoveryLink, "=")+1:]
		for _, stored := range []string{sealed.Body, string(sealed.TemplateData)} {
			if strings.Contains(stored, token) || strings.Contains(stored, "recovery") {
				t.Fatalf("the stored message shows its link: %s", stored)
			}
		}
		if !strings.Contains(plain.Body, "ann") && !strings.Contains(plain.Body, "account") {
			t.Errorf("the message without a link was changed: %q", plain.Body)
		}
		opened, err := c.Open(sealed)
		if err != nil || !strings.Contains(opened.Body, recoveryLink) || !strings.Contains(string(opened.TemplateData), token) {
			t.Fatalf("opened %+v: %v", opened, err)
		}
		if same, err := c.Open(plain); err != nil || same.Body != plain.Body {
			t.Fatalf("opening an unsealed message: %v", err)
		}

		// The worker sends the link itself.
		box := courier.NewOutbox(nil, 10)
		if n, err := c.RunOnce(ctx, box); err != nil || n != 2 {
			t.Fatalf("run: %d %v", n, err)
		}
		mails := box.Mails()
		delivered := false
		for _, m := range mails {
			delivered = delivered || (m.To == "ann@example.org" && strings.Contains(m.Body, recoveryLink))
		}
		if len(mails) != 2 || !delivered {
			t.Fatalf("delivered %+v", mails)
		}

		// Another key cannot open a sealed message: it is not sent, and
		// stays queued for a retry.
		if _, err := c.QueueEmail(ctx, courier.VerificationValid, courier.EmailData{To: "cy@example.org", VerificationURL: recoveryLink}); err != nil {
			t.Fatal(err)
		}
		other, _ := cipher.AtRest("noop", nil, []string{"another secret, not the one that sealed it"})
		stranger := fastCourier(st, nil, time.Hour).SealLinks(other)
		box2 := courier.NewOutbox(nil, 10)
		if _, err := stranger.RunOnce(ctx, box2); err != nil {
			t.Fatal(err)
		}
		if n := len(box2.Mails()); n != 0 {
			t.Fatalf("%d mails sent with a message that could not be opened", n)
		}
		queued, err := st.ListMessages(ctx, courier.StatusQueued, 0)
		if err != nil || len(queued) != 1 || queued[0].SendCount != 1 {
			t.Fatalf("after a failed opening: %v %+v", err, queued)
		}
	})
}
