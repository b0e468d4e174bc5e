package courier_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/courier/smtptest"
)

func testMessage(t *testing.T, tt courier.TemplateType, data courier.EmailData) courier.Message {
	t.Helper()
	r, err := courier.BuiltinTemplates().Render(tt, data)
	if err != nil {
		t.Fatal(err)
	}
	return courier.Message{
		ID: uuid.New(), Type: courier.MessageTypeEmail, Recipient: data.To,
		Subject: r.Subject, Body: r.Plaintext, HTMLBody: r.HTML, TemplateType: tt,
	}
}

func newSender(t *testing.T, c courier.SMTPConfig) *courier.SMTPSender {
	t.Helper()
	if c.FromAddress == "" {
		c.FromAddress = "no-reply@hoplite.example"
	}
	c.Timeout = 3 * time.Second
	s, err := courier.NewSMTPSender(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const recoveryLink = "https://id.example.org/self-service/recovery?flow=0d3c&token=Zx9QrT"

// checkDelivered checks one delivered recovery email end to end.
func checkDelivered(t *testing.T, m smtptest.Mail, msg courier.Message) *smtptest.Parsed {
	t.Helper()
	if m.From != "no-reply@hoplite.example" || len(m.To) != 1 || m.To[0] != msg.Recipient {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("the message has bare LF line ends")
	}
	p, err := m.Parse()
	if err != nil {
		t.Fatalf("parsing the delivered message: %v\n%s", err, m.Data)
	}
	if got := p.Header.Get("To"); got != "<"+msg.Recipient+">" {
		t.Errorf("To %q", got)
	}
	if p.Subject != msg.Subject {
		t.Errorf("Subject %q, want %q", p.Subject, msg.Subject)
	}
	if d, err := p.Header.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", p.Header.Get("Date"), err)
	}
	if got := p.Header.Get("Message-Id"); got != "<"+msg.ID.String()+"@hoplite.example>" {
		t.Errorf("Message-ID %q", got)
	}
	if p.Header.Get("Mime-Version") != "1.0" || p.ContentType != "multipart/alternative" {
		t.Errorf("MIME-Version %q, Content-Type %q", p.Header.Get("Mime-Version"), p.ContentType)
	}
	if strings.Join(p.Parts, ",") != "text/plain,text/html" || strings.Join(p.Encodings, ",") != "quoted-printable,quoted-printable" {
		t.Errorf("parts %v encodings %v", p.Parts, p.Encodings)
	}
	if strings.ReplaceAll(p.Text, "\r\n", "\n") != msg.Body {
		t.Errorf("decoded text part differs:\n%q\nwant\n%q", p.Text, msg.Body)
	}
	if strings.ReplaceAll(p.HTML, "\r\n", "\n") != msg.HTMLBody {
		t.Errorf("decoded HTML part differs:\n%q\nwant\n%q", p.HTML, msg.HTMLBody)
	}
	if !strings.Contains(p.Text, recoveryLink) {
		t.Errorf("the text part lacks the link")
	}
	return p
}

func TestSMTPDeliveryPlain(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, courier.SMTPConfig{
		ConnectionURI: srv.URI("smtp", "", "", "disable_starttls=true"),
		FromName:      "Hoplite Accounts",
		Headers:       map[string]string{"x-campaign": "recovery", "Reply-To": "help@hoplite.example"},
	})
	msg := testMessage(t, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink})
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	if mails[0].TLS {
		t.Error("disable_starttls still used TLS")
	}
	p := checkDelivered(t, mails[0], msg)
	if got := p.Header.Get("From"); got != "Hoplite Accounts <no-reply@hoplite.example>" {
		t.Errorf("From %q", got)
	}
	if p.Header.Get("X-Campaign") != "recovery" || p.Header.Get("Reply-To") != "help@hoplite.example" {
		t.Errorf("configured headers missing: %v", p.Header)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true, RequireTLS: true, Users: map[string]string{"mailer": "p@ss:w/rd"}})
	msg := testMessage(t, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink})

	// Trusting the server's certificate.
	s := newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "mailer", "p@ss:w/rd", ""), RootCAs: srv.CertPool})
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	// Not trusting it, but skip_ssl_verify=true.
	s = newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "mailer", "p@ss:w/rd", "skip_ssl_verify=true")})
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 2 {
		t.Fatalf("%d mails", len(mails))
	}
	for _, m := range mails {
		if !m.TLS || m.User != "mailer" {
			t.Errorf("TLS %v, user %q", m.TLS, m.User)
		}
		p := checkDelivered(t, m, msg)
		if got := p.Header.Get("From"); got != "<no-reply@hoplite.example>" {
			t.Errorf("From without a name: %q", got)
		}
	}

	// Without trust and without skip_ssl_verify the certificate is refused.
	s = newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "mailer", "p@ss:w/rd", "")})
	err := s.Send(context.Background(), msg)
	if err == nil || !errors.Is(err, courier.ErrServerUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Wrong password: AUTH fails, and the error does not show the password.
	s = newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "mailer", "wrong-secret", "skip_ssl_verify=true")})
	err = s.Send(context.Background(), msg)
	if err == nil || !errors.Is(err, courier.ErrServerUnavailable) || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("bad credentials: %v", err)
	}
	// No credentials: no AUTH, and this server wants it.
	s = newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "", "", "skip_ssl_verify=true")})
	if err := s.Send(context.Background(), msg); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("without credentials: %v", err)
	}
	if n := len(srv.Mails()); n != 2 {
		t.Errorf("%d mails after the failures, want 2", n)
	}
}

func TestSMTPStartTLSIsMandatory(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{}) // offers no STARTTLS
	s := newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "", "", "")})
	err := s.Send(context.Background(), testMessage(t, courier.RecoveryInvalid, courier.EmailData{To: "x@example.org"}))
	if err == nil || !errors.Is(err, courier.ErrServerUnavailable) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("plain server without disable_starttls: %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Error("a message went out without TLS")
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{ImplicitTLS: true, Users: map[string]string{"u": "p"}})
	msg := testMessage(t, courier.RecoveryValid, courier.EmailData{To: "ann@example.org", RecoveryURL: recoveryLink})
	s := newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtps", "u", "p", ""), RootCAs: srv.CertPool})
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 || !mails[0].TLS || mails[0].User != "u" {
		t.Fatalf("mails %+v", mails)
	}
	checkDelivered(t, mails[0], msg)

	// Plain SMTP to a TLS port fails as a server problem.
	s, err := courier.NewSMTPSender(courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "", "", "disable_starttls=true"), FromAddress: "a@example.org", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), msg); !errors.Is(err, courier.ErrServerUnavailable) {
		t.Errorf("plain to TLS port: %v", err)
	}
}

func TestSMTPRejections(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, courier.SMTPConfig{ConnectionURI: srv.URI("smtp", "", "", "disable_starttls=true")})
	msg := testMessage(t, courier.RecoveryInvalid, courier.EmailData{To: "x@example.org"})
	cases := []struct {
		stage       smtptest.Stage
		code        int
		unavailable bool
	}{
		{smtptest.StageConnect, 421, true},
		{smtptest.StageEHLO, 554, true},
		{smtptest.StageMail, 451, true},
		{smtptest.StageRcpt, 550, false},
		{smtptest.StageData, 452, false},
	}
	for _, c := range cases {
		// (net/smtp answers a failed EHLO with HELO, hence two failures.)
		srv.Fail(c.stage, 2, c.code, "injected failure")
		err := s.Send(context.Background(), msg)
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Errorf("%s: error %v", c.stage, err)
			continue
		}
		if got := errors.Is(err, courier.ErrServerUnavailable); got != c.unavailable {
			t.Errorf("%s: unavailable %v, want %v (%v)", c.stage, got, c.unavailable, err)
		}
		srv.ClearFailures()
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("rejected messages were stored")
	}
	if err := s.Send(context.Background(), msg); err != nil || len(srv.Mails()) != 1 {
		t.Errorf("after the failures: %v, %d mails", err, len(srv.Mails()))
	}
}

func TestSMTPTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s, err := courier.NewSMTPSender(courier.SMTPConfig{ConnectionURI: "smtp://" + ln.Addr().String() + "/", FromAddress: "a@example.org", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	msg := testMessage(t, courier.RecoveryInvalid, courier.EmailData{To: "x@example.org"})
	start := time.Now()
	if err := s.Send(context.Background(), msg); !errors.Is(err, courier.ErrServerUnavailable) || time.Since(start) > 2*time.Second {
		t.Errorf("silent server: %v after %s", err, time.Since(start))
	}
	s, _ = courier.NewSMTPSender(courier.SMTPConfig{ConnectionURI: "smtp://" + ln.Addr().String() + "/", FromAddress: "a@example.org"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.Send(ctx, msg); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled send: %v after %s", err, time.Since(start))
	}
}

func TestSMTPConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		c    courier.SMTPConfig
		want string
	}{
		{courier.SMTPConfig{ConnectionURI: "http://h/", FromAddress: "a@b.example"}, "scheme"},
		{courier.SMTPConfig{ConnectionURI: "smtp:///", FromAddress: "a@b.example"}, "no host"},
		{courier.SMTPConfig{ConnectionURI: "smtp://u:topsecret@h/?disable_starttls=maybe", FromAddress: "a@b.example"}, "disable_starttls"},
		{courier.SMTPConfig{ConnectionURI: "smtp://u:topsecret@h/?skip_ssl_verify=perhaps", FromAddress: "a@b.example"}, "skip_ssl_verify"},
		{courier.SMTPConfig{ConnectionURI: "smtp://h/", FromAddress: "not an address"}, "from_address"},
		{courier.SMTPConfig{ConnectionURI: "smtp://h/", FromAddress: "a@b.example", FromName: "x\r\nBcc: y@z"}, "from_name"},
		{courier.SMTPConfig{ConnectionURI: "smtp://h/", FromAddress: "a@b.example", Headers: map[string]string{"X-A": "1\r\nBcc: y@z"}}, "line breaks"},
		{courier.SMTPConfig{ConnectionURI: "smtp://h/", FromAddress: "a@b.example", Headers: map[string]string{"Bad Name": "1"}}, "header name"},
		{courier.SMTPConfig{ConnectionURI: "smtp://h/", FromAddress: "a@b.example", Headers: map[string]string{"content-type": "text/plain"}}, "Content-Type"},
	}
	for _, c := range cases {
		_, err := courier.NewSMTPSender(c.c)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to mention %q", c.c, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestComposeEncodesHeaders(t *testing.T) {
	t.Parallel()
	s := newSender(t, courier.SMTPConfig{
		ConnectionURI: "smtp://h/", FromName: "Hoplite Zugang ✓",
		Headers: map[string]string{"X-Note": "grüße"},
	})
	msg := courier.Message{
		ID: uuid.New(), Recipient: "ann@example.org",
		Subject: "Bitte bestätigen Sie Ihre E-Mail-Adresse für das Konto bei Hoplite, das Sie gerade angelegt haben\r\nBcc: evil@example.org",
		Body:    "only text, a long line " + strings.Repeat("x", 200) + "\n.leading dot\n",
	}
	raw, err := s.Compose(msg, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line too long")
		}
		for _, r := range line {
			if r > 126 {
				t.Errorf("raw non-ASCII in header line %q", line)
				break
			}
		}
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("header injection: %q", line)
		}
	}
	p, err := (smtptest.Mail{Data: raw}).Parse()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(strings.Fields(msg.Subject), " "); p.Subject != want {
		t.Errorf("subject %q, want %q", p.Subject, want)
	}
	if p.Header.Get("Date") != "Mon, 06 May 2024 07:08:09 +0000" {
		t.Errorf("Date %q", p.Header.Get("Date"))
	}
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Hoplite Zugang ✓" || from[0].Address != "no-reply@hoplite.example" {
		t.Errorf("From %v %v", from, err)
	}
	if p.ContentType != "text/plain" || strings.ReplaceAll(p.Text, "\r\n", "\n") != msg.Body {
		t.Errorf("single-part text body: %q %q", p.ContentType, p.Text)
	}
}
