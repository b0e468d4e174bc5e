package courier

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
)

// SMTPConfig configures the SMTP sender.
type SMTPConfig struct {
	// ConnectionURI is smtp://[user:pass@]host[:port]/ (STARTTLS required
	// unless ?disable_starttls=true) or smtps://… (TLS from the first
	// byte); ?skip_ssl_verify=true accepts any server certificate.
	// Credentials in the URI enable AUTH PLAIN.
	ConnectionURI string
	FromAddress   string
	FromName      string
	// Headers are added to every mail.
	Headers map[string]string
	// Timeout bounds connecting and each step of the conversation; 0 means
	// 10 s.
	Timeout time.Duration
	// RootCAs verifies server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// LocalName is the name given in EHLO; empty means the host name.
	LocalName string
}

// SMTPSender delivers messages over SMTP, one connection per message.
type SMTPSender struct {
	addr       string
	host       string
	implicit   bool // smtps://
	startTLS   bool
	user, pass string
	auth       bool
	tls        *tls.Config
	timeout    time.Duration
	localName  string
	from       string // envelope and header address
	fromHeader string
	headers    [][2]string // extra headers, sorted, encoded
	domain     string      // for Message-ID
}

// reservedHeaders are written by the sender itself and cannot be
// configured in courier.smtp.headers.
var reservedHeaders = []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"}

// NewSMTPSender checks the configuration and returns the sender. Errors
// never contain the password of the URI.
func NewSMTPSender(c SMTPConfig) (*SMTPSender, error) {
	if problem := config.CheckSMTPURI(c.ConnectionURI); problem != "" {
		return nil, errors.New("courier.smtp.connection_uri " + problem)
	}
	u, err := url.Parse(strings.TrimSpace(c.ConnectionURI))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("courier.smtp.connection_uri is not a valid URL: %v", err)
	}
	s := &SMTPSender{timeout: c.Timeout, localName: c.LocalName}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	port := u.Port()
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		if port == "" {
			port = "25"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("courier.smtp.connection_uri %s: the scheme must be smtp or smtps", u.Redacted())
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, fmt.Errorf("courier.smtp.connection_uri %s: no host", u.Redacted())
	}
	s.addr = net.JoinHostPort(s.host, port)
	q := u.Query()
	boolParam := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("courier.smtp.connection_uri %s: %s must be true or false", u.Redacted(), name)
		}
		return b, nil
	}
	disableStartTLS, err := boolParam("disable_starttls")
	if err != nil {
		return nil, err
	}
	skipVerify, err := boolParam("skip_ssl_verify")
	if err != nil {
		return nil, err
	}
	s.startTLS = !s.implicit && !disableStartTLS
	s.tls = &tls.Config{ServerName: s.host, InsecureSkipVerify: skipVerify, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12} // #nosec G402 -- skip_ssl_verify is the operator's explicit choice
	if u.User != nil && u.User.Username() != "" {
		s.auth = true
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if s.localName == "" {
		s.localName = "localhost"
		if h, err := os.Hostname(); err == nil && validHostname(h) {
			s.localName = h
		}
	}

	from, err := mail.ParseAddress(strings.TrimSpace(c.FromAddress))
	if err != nil || from.Name != "" {
		return nil, fmt.Errorf("courier.smtp.from_address %q is not an email address", c.FromAddress)
	}
	s.from = from.Address
	if _, d, ok := strings.Cut(s.from, "@"); ok {
		s.domain = d
	}
	if strings.ContainsAny(c.FromName, "\r\n") {
		return nil, errors.New("courier.smtp.from_name must not contain line breaks")
	}
	s.fromHeader = formatAddress(strings.TrimSpace(c.FromName), s.from)

	for name, value := range c.Headers {
		canon := textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
		if !validHeaderName(canon) {
			return nil, fmt.Errorf("courier.smtp.headers: %q is not a valid header name", name)
		}
		for _, r := range reservedHeaders {
			if canon == r {
				return nil, fmt.Errorf("courier.smtp.headers: %s is set by the courier and cannot be configured", canon)
			}
		}
		if strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("courier.smtp.headers: the value of %s must not contain line breaks", canon)
		}
		s.headers = append(s.headers, [2]string{canon, encodeHeaderValue(value)})
	}
	sort.Slice(s.headers, func(i, j int) bool { return s.headers[i][0] < s.headers[j][0] })
	return s, nil
}

// formatAddress writes "Name <addr>": the name as is when it is made of
// plain words, else quoted or RFC 2047 encoded by net/mail.
func formatAddress(name, addr string) string {
	if name == "" {
		return (&mail.Address{Address: addr}).String()
	}
	bracketed := (&mail.Address{Address: addr}).String()
	for _, r := range name {
		plain := r == ' ' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
		if !plain {
			return (&mail.Address{Name: name, Address: addr}).String()
		}
	}
	return strings.Join(strings.Fields(name), " ") + " " + bracketed
}

func validHeaderName(n string) bool {
	if n == "" {
		return false
	}
	for _, r := range n {
		if r < 33 || r > 126 || r == ':' {
			return false
		}
	}
	return true
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// encodeHeaderValue returns v as is when it is printable ASCII, else as
// RFC 2047 encoded words (UTF-8, Q encoding), folded between words.
func encodeHeaderValue(v string) string {
	ascii := true
	for _, r := range v {
		if r < 32 || r > 126 {
			ascii = false
			break
		}
	}
	if ascii {
		return v
	}
	enc := mime.QEncoding.Encode("utf-8", v)
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}

// Send delivers m: MAIL FROM the configured address, RCPT TO m.Recipient,
// and a multipart/alternative body of m.Body and m.HTMLBody.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := s.Compose(m, time.Now())
	if err != nil {
		return err
	}
	unavailable := func(step string, err error) error {
		return fmt.Errorf("%w: %s (%s): %w", ErrServerUnavailable, step, s.addr, err)
	}

	dialer := &net.Dialer{Timeout: s.timeout}
	var conn net.Conn
	if s.implicit {
		td := &tls.Dialer{NetDialer: dialer, Config: s.tls}
		conn, err = td.DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return unavailable("connecting", err)
	}
	defer conn.Close()
	// Cancelling ctx aborts the conversation.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	step := func() { _ = conn.SetDeadline(time.Now().Add(s.timeout)) }

	step()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return unavailable("reading the greeting", err)
	}
	defer c.Close()
	step()
	if err := c.Hello(s.localName); err != nil {
		return unavailable("EHLO", err)
	}
	if s.startTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return unavailable("STARTTLS", errors.New("the server does not offer STARTTLS; add ?disable_starttls=true to the connection URI to send without TLS"))
		}
		step()
		if err := c.StartTLS(s.tls); err != nil {
			return unavailable("STARTTLS", err)
		}
	}
	if s.auth {
		if ok, _ := c.Extension("AUTH"); !ok {
			return unavailable("AUTH", errors.New("the server does not offer authentication but the connection URI has credentials"))
		}
		step()
		if err := c.Auth(plainAuth{user: s.user, pass: s.pass}); err != nil {
			return unavailable("AUTH PLAIN", err)
		}
	}
	step()
	if err := c.Mail(s.from); err != nil {
		return unavailable("MAIL FROM", err)
	}
	step()
	if err := c.Rcpt(m.Recipient); err != nil {
		return fmt.Errorf("RCPT TO rejected by %s: %w", s.addr, err)
	}
	step()
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA rejected by %s: %w", s.addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("writing the message to %s: %w", s.addr, err)
	}
	step()
	if err := w.Close(); err != nil {
		return fmt.Errorf("message rejected by %s: %w", s.addr, err)
	}
	// The server has accepted the message: a failing QUIT changes nothing.
	step()
	_ = c.Quit()
	return nil
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike net/smtp's, it does not refuse
// an unencrypted connection to a remote host: that only happens when the
// operator disabled STARTTLS in the connection URI.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge during AUTH PLAIN")
	}
	return nil, nil
}

// Compose builds the message text (headers and MIME body, CRLF line ends).
func (s *SMTPSender) Compose(m Message, now time.Time) ([]byte, error) {
	to, err := parseRecipient(m.Recipient)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", s.fromHeader)
	header("To", (&mail.Address{Address: to}).String())
	header("Subject", encodeHeaderValue(cleanSubject(m.Subject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID.String()+"@"+s.domain+">")
	for _, h := range s.headers {
		header(h[0], h[1])
	}
	header("MIME-Version", "1.0")

	textPart := func(w *bytes.Buffer, body string) error {
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(body)); err != nil {
			return err
		}
		return qp.Close()
	}
	if m.HTMLBody == "" {
		header("Content-Type", "text/plain; charset=UTF-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := textPart(&b, m.Body); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, text string }{
		{"text/plain; charset=UTF-8", m.Body},
		{"text/html; charset=UTF-8", m.HTMLBody},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		var part bytes.Buffer
		if err := textPart(&part, p.text); err != nil {
			return nil, err
		}
		if _, err := pw.Write(part.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}
