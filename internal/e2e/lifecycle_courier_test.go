package e2e_test

// The courier end to end: with the worker running, the mails the flows
// queue reach an SMTP server (plain, STARTTLS, implicit TLS) as
// multipart/alternative plain text and HTML; in development mode without an
// SMTP server they are written to the log.

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestLifecycleCourierSMTP(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		for _, tc := range []struct {
			name   string
			opts   smtptest.Options
			scheme string
			query  string
			tls    bool
		}{
			{"plain", smtptest.Options{}, "smtp", "disable_starttls=true", false},
			{"STARTTLS", smtptest.Options{StartTLS: true, RequireTLS: true}, "smtp", "skip_ssl_verify=true", true},
			{"implicit TLS", smtptest.Options{ImplicitTLS: true}, "smtps", "skip_ssl_verify=true", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				srv := smtptest.Start(t, tc.opts)
				cfg := lcMergeYAML(t, lcConfig, `
courier:
  smtp:
    connection_uri: `+srv.URI(tc.scheme, "", "", tc.query)+`
    from_name: Hoplite Accounts
    headers:
      X-Lifecycle-Test: courier
`)
				s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: cfg})
				if _, ok := s.App.MailSender.(courier.LogSender); ok || s.App.MailSender == nil {
					t.Fatalf("sender %T, want SMTP", s.App.MailSender)
				}
				// Queued before the worker runs: delivered once it does.
				const email = "courier@example.org"
				reg := ssRegister(t, s, email, ssPassword)
				if a := lcVerifiable(t, s, reg.Identity.Id, email); a.Status != "sent" {
					t.Errorf("address status %q, want sent once the mail is queued", a.Status)
				}
				msgs, err := s.App.Store.ListMessages(context.Background(), courier.StatusQueued, 0)
				if err != nil || len(msgs) != 1 || msgs[0].TemplateType != courier.VerificationValid || msgs[0].Recipient != email {
					t.Fatalf("queue before the worker: %v %+v", err, msgs)
				}
				// Until it is sent, the queued mail's link is sealed in the
				// database.
				if stored := msgs[0].Body + string(msgs[0].TemplateData); strings.Contains(stored, "token=") || strings.Contains(stored, "/self-service/verification") {
					t.Errorf("the queued mail shows its link in the database: %s", stored)
				}
				if n := len(srv.Mails()); n != 0 {
					t.Fatalf("%d mails delivered without a worker", n)
				}
				lcWatchCourier(t, s)
				box := &lcMailbox{srv: srv, taken: map[int]bool{}}
				m := box.next(t, email)

				if m.Raw.TLS != tc.tls {
					t.Errorf("delivered over TLS: %v, want %v", m.Raw.TLS, tc.tls)
				}
				if m.Raw.From != "no-reply@ory.kratos.sh" {
					t.Errorf("envelope sender %q", m.Raw.From)
				}
				from, err := mail.ParseAddress(m.Parsed.Header.Get("From"))
				if err != nil || from.Name != "Hoplite Accounts" || from.Address != "no-reply@ory.kratos.sh" {
					t.Errorf("From %q (%v)", m.Parsed.Header.Get("From"), err)
				}
				if m.Parsed.Header.Get("X-Lifecycle-Test") != "courier" {
					t.Errorf("configured header missing: %v", m.Parsed.Header)
				}
				if to := m.Parsed.Header.Get("To"); !strings.Contains(to, email) {
					t.Errorf("To %q", to)
				}
				if m.Subject != "Please verify your email address" {
					t.Errorf("subject %q", m.Subject)
				}
				if m.Parsed.ContentType != "multipart/alternative" || len(m.Parsed.Parts) != 2 ||
					m.Parsed.Parts[0] != "text/plain" || m.Parsed.Parts[1] != "text/html" {
					t.Errorf("content type %s, parts %v; want multipart/alternative with text/plain then text/html", m.Parsed.ContentType, m.Parsed.Parts)
				}
				if !strings.Contains(m.HTML, "<a href=") {
					t.Errorf("HTML body:\n%s", m.HTML)
				}
				link := m.link(t)
				if r := ssNewBrowser(t, s).get(link); r.Status != http.StatusSeeOther {
					t.Fatalf("link: %s", r)
				}
				if a := lcVerifiable(t, s, reg.Identity.Id, email); !a.Verified {
					t.Errorf("address %+v", a)
				}
				// The message is recorded as sent.
				deadline := time.Now().Add(5 * time.Second)
				for {
					sent, err := s.App.Store.ListMessages(context.Background(), courier.StatusSent, 0)
					if err != nil {
						t.Fatal(err)
					}
					if len(sent) == 1 {
						// Sent, the message keeps no usable link in the database.
						if sent[0].Subject != m.Subject || sent[0].Body != "" || strings.Contains(string(sent[0].TemplateData), lcQuery(t, link, "token")) {
							t.Errorf("stored message %+v", sent[0])
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%d messages sent, want 1", len(sent))
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	})
}

func TestLifecycleCourierDevLog(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, b testutil.Backend) {
		s := testutil.StartServer(t, testutil.Options{DSN: b.NewDSN(t), Config: lcConfig})
		// The log sender, behind the built-in UI's dev mail page (on in dev
		// mode).
		if _, ok := s.App.MailSender.(*courier.Outbox); !ok {
			t.Fatalf("sender %T, want the dev outbox over the log sender in dev mode without SMTP", s.App.MailSender)
		}
		lcWatchCourier(t, s)
		const email = "dev-log@example.org"
		reg := ssRegister(t, s, email, ssPassword)
		linkRE := regexp.MustCompile(regexp.QuoteMeta(s.PublicURL) + `self-service/verification\?flow=[0-9a-f-]+&token=[A-Za-z0-9]+`)
		var link string
		deadline := time.Now().Add(10 * time.Second)
		for link == "" {
			link = linkRE.FindString(s.Logs.String())
			if link == "" && time.Now().After(deadline) {
				t.Fatalf("the log has no verification link:\n%s", s.Logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(s.Logs.String(), email) {
			t.Error("the log does not name the recipient")
		}
		if r := ssNewBrowser(t, s).get(link); r.Status != http.StatusSeeOther {
			t.Fatalf("link from the log: %s", r)
		}
		if a := lcVerifiable(t, s, reg.Identity.Id, email); !a.Verified || a.Status != "completed" {
			t.Errorf("address %+v", a)
		}
	})
}

func TestLifecycleCourierNoSenderOutsideDevMode(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{NotDev: true})
	if s.App.MailSender != nil {
		t.Fatalf("sender %T outside dev mode without SMTP, want none", s.App.MailSender)
	}
	if err := s.App.WatchCourier(context.Background()); !errors.Is(err, courier.ErrNoSender) {
		t.Errorf("WatchCourier: %v, want ErrNoSender", err)
	}
}
