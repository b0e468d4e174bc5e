// Package smtptest is a small SMTP server for tests: it listens on a
// loopback port, speaks EHLO, STARTTLS (or TLS from the first byte), AUTH
// PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, keeps every message it
// accepts, and can be told to answer a command with an error.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stage names a point of the conversation at which a failure can be
// injected.
type Stage string

// Stages.
const (
	StageConnect Stage = "CONNECT" // the greeting
	StageEHLO    Stage = "EHLO"
	StageAuth    Stage = "AUTH"
	StageMail    Stage = "MAIL"
	StageRcpt    Stage = "RCPT"
	StageData    Stage = "DATA" // after the message text was received
)

// Reply is an SMTP reply.
type Reply struct {
	Code int
	Text string
}

// Options configure a server.
type Options struct {
	// ImplicitTLS makes the server speak TLS from the first byte (smtps).
	ImplicitTLS bool
	// StartTLS offers STARTTLS.
	StartTLS bool
	// RequireTLS rejects MAIL on an unencrypted connection.
	RequireTLS bool
	// Users, when not empty, makes the server offer AUTH PLAIN and require
	// authentication with one of these user names and passwords.
	Users map[string]string
	// Hook, when set, is asked at each stage; a non-nil reply is sent
	// instead of the normal one (a 4xx/5xx reply fails the command).
	// Hooks run concurrently for concurrent connections.
	Hook func(stage Stage, arg string) *Reply
}

// Mail is one accepted message.
type Mail struct {
	From string
	To   []string
	// Data is the message text as received (CRLF line ends, dots
	// unstuffed, without the final ".").
	Data []byte
	TLS  bool
	User string // the authenticated user, if any
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port of the listener.
	Addr string
	// Host and Port are the parts of Addr.
	Host, Port string
	// CertPool trusts the server's self-signed certificate.
	CertPool *x509.CertPool

	opts     Options
	ln       net.Listener
	tlsConf  *tls.Config
	mu       sync.Mutex
	mails    []Mail
	failures map[Stage][]Reply
	conns    map[net.Conn]struct{}
	nconns   int
	notify   chan struct{}
	wg       sync.WaitGroup
	closed   bool
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("smtptest: certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &Server{
		Addr: ln.Addr().String(), CertPool: pool,
		opts: o, ln: ln,
		tlsConf:  &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		failures: map[Stage][]Reply{},
		conns:    map[net.Conn]struct{}{},
		notify:   make(chan struct{}),
	}
	s.Host, s.Port, _ = net.SplitHostPort(s.Addr)
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// URI returns a connection URI for the server: scheme smtp or smtps, with
// optional credentials and query (e.g. "skip_ssl_verify=true").
func (s *Server) URI(scheme, user, pass, query string) string {
	u := url.URL{Scheme: scheme, Host: s.Addr, Path: "/", RawQuery: query}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// Close stops the server and closes open connections.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Fail makes the next times commands at stage fail with code and text.
func (s *Server) Fail(stage Stage, times, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := 0; k < times; k++ {
		s.failures[stage] = append(s.failures[stage], Reply{Code: code, Text: text})
	}
}

// ClearFailures drops the failures not injected yet.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[Stage][]Reply{}
}

// Mails returns the accepted messages in order of acceptance.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Connections counts the connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nconns
}

// WaitForMails waits until at least n messages were accepted and returns
// them; it fails the test after timeout.
func (s *Server) WaitForMails(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, ch := len(s.mails), s.notify
		s.mu.Unlock()
		if got >= n {
			return s.Mails()
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("smtptest: %d message(s) received within %s, want %d", got, timeout, n)
			return nil
		}
	}
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.nconns++
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				_ = c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			s.handle(c)
		}()
	}
}

// injected returns the reply to send instead of the normal one, if any.
func (s *Server) injected(stage Stage, arg string) *Reply {
	if s.opts.Hook != nil {
		if r := s.opts.Hook(stage, arg); r != nil {
			return r
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.failures[stage]; len(q) > 0 {
		r := q[0]
		s.failures[stage] = q[1:]
		return &r
	}
	return nil
}

type session struct {
	conn   net.Conn
	r      *bufio.Reader
	tls    bool
	helo   bool
	user   string
	from   string
	to     []string
	inMail bool
}

func (ss *session) reply(code int, text string) error {
	lines := strings.Split(text, "\n")
	var b strings.Builder
	for k, l := range lines {
		sep := "-"
		if k == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%d%s%s\r\n", code, sep, l)
	}
	_, err := io.WriteString(ss.conn, b.String())
	return err
}

func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (s *Server) handle(c net.Conn) {
	ss := &session{conn: c, r: bufio.NewReader(c)}
	if s.opts.ImplicitTLS {
		tc := tls.Server(c, s.tlsConf)
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.r, ss.tls = tc, bufio.NewReader(tc), true
	}
	if r := s.injected(StageConnect, ""); r != nil {
		_ = ss.reply(r.Code, r.Text)
		return
	}
	if ss.reply(220, "smtptest ESMTP ready") != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		var werr error
		switch verb {
		case "EHLO", "HELO":
			if r := s.injected(StageEHLO, arg); r != nil {
				werr = ss.reply(r.Code, r.Text)
				break
			}
			ss.helo = true
			ss.reset()
			ext := []string{"smtptest greets " + arg, "8BITMIME", "SIZE 10485760"}
			if s.opts.StartTLS && !ss.tls {
				ext = append(ext, "STARTTLS")
			}
			if len(s.opts.Users) > 0 {
				ext = append(ext, "AUTH PLAIN")
			}
			if verb == "HELO" {
				ext = ext[:1]
			}
			werr = ss.reply(250, strings.Join(ext, "\n"))
		case "STARTTLS":
			if !s.opts.StartTLS || ss.tls {
				werr = ss.reply(502, "STARTTLS not available")
				break
			}
			if werr = ss.reply(220, "go ahead"); werr != nil {
				break
			}
			tc := tls.Server(ss.conn, s.tlsConf)
			if err := tc.Handshake(); err != nil {
				return
			}
			*ss = session{conn: tc, r: bufio.NewReader(tc), tls: true}
		case "AUTH":
			werr = s.auth(ss, arg)
		case "MAIL":
			switch {
			case !ss.helo:
				werr = ss.reply(503, "say EHLO first")
			case s.opts.RequireTLS && !ss.tls:
				werr = ss.reply(530, "must issue STARTTLS first")
			case len(s.opts.Users) > 0 && ss.user == "":
				werr = ss.reply(530, "authentication required")
			case !strings.HasPrefix(strings.ToUpper(arg), "FROM:"):
				werr = ss.reply(501, "syntax: MAIL FROM:<address>")
			default:
				from := pathArg(arg[5:])
				if r := s.injected(StageMail, from); r != nil {
					werr = ss.reply(r.Code, r.Text)
					break
				}
				ss.reset()
				ss.from, ss.inMail = from, true
				werr = ss.reply(250, "sender ok")
			}
		case "RCPT":
			switch {
			case !ss.inMail:
				werr = ss.reply(503, "need MAIL first")
			case !strings.HasPrefix(strings.ToUpper(arg), "TO:"):
				werr = ss.reply(501, "syntax: RCPT TO:<address>")
			default:
				to := pathArg(arg[3:])
				if r := s.injected(StageRcpt, to); r != nil {
					werr = ss.reply(r.Code, r.Text)
					break
				}
				ss.to = append(ss.to, to)
				werr = ss.reply(250, "recipient ok")
			}
		case "DATA":
			if len(ss.to) == 0 {
				werr = ss.reply(503, "need RCPT first")
				break
			}
			if werr = ss.reply(354, "end data with <CR><LF>.<CR><LF>"); werr != nil {
				break
			}
			data, err := ss.readData()
			if err != nil {
				return
			}
			if r := s.injected(StageData, string(data)); r != nil {
				ss.reset()
				werr = ss.reply(r.Code, r.Text)
				break
			}
			m := Mail{From: ss.from, To: ss.to, Data: data, TLS: ss.tls, User: ss.user}
			ss.reset()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			close(s.notify)
			s.notify = make(chan struct{})
			s.mu.Unlock()
			werr = ss.reply(250, "queued")
		case "RSET":
			ss.reset()
			werr = ss.reply(250, "ok")
		case "NOOP":
			werr = ss.reply(250, "ok")
		case "QUIT":
			_ = ss.reply(221, "bye")
			return
		default:
			werr = ss.reply(502, "command not implemented")
		}
		if werr != nil {
			return
		}
	}
}

func (ss *session) reset() { ss.from, ss.to, ss.inMail = "", nil, false }

func (s *Server) auth(ss *session, arg string) error {
	mech, initial, _ := strings.Cut(arg, " ")
	if len(s.opts.Users) == 0 || !strings.EqualFold(mech, "PLAIN") {
		return ss.reply(504, "mechanism not supported")
	}
	if ss.user != "" {
		return ss.reply(503, "already authenticated")
	}
	if initial == "" {
		if err := ss.reply(334, ""); err != nil {
			return err
		}
		line, err := ss.readLine()
		if err != nil {
			return err
		}
		initial = line
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		return ss.reply(501, "bad base64")
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return ss.reply(501, "bad PLAIN response")
	}
	user, pass := parts[1], parts[2]
	if r := s.injected(StageAuth, user); r != nil {
		return ss.reply(r.Code, r.Text)
	}
	if want, ok := s.opts.Users[user]; !ok || want != pass {
		return ss.reply(535, "authentication failed")
	}
	ss.user = user
	return ss.reply(235, "authenticated")
}

// readData reads the message text up to the line ".", keeping CRLF line
// ends and removing dot-stuffing.
func (ss *session) readData() ([]byte, error) {
	var b bytes.Buffer
	for {
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" || line == ".\n" {
			return b.Bytes(), nil
		}
		if strings.HasPrefix(line, ".") {
			line = line[1:]
		}
		b.WriteString(line)
	}
}

// pathArg extracts the address of "<addr> PARAMS".
func pathArg(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") {
		if end := strings.Index(s, ">"); end > 0 {
			return s[1:end]
		}
	}
	addr, _, _ := strings.Cut(s, " ")
	return addr
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool, nil
}

// Parsed is a message taken apart: its header, and the decoded text and
// HTML bodies of a single-part or multipart/alternative message.
type Parsed struct {
	Header mail.Header
	// Subject is the decoded Subject header.
	Subject string
	// ContentType is the media type of the message.
	ContentType string
	// Parts are the media types of the parts in order (multipart only).
	Parts []string
	// Encodings are the Content-Transfer-Encoding of each part.
	Encodings []string
	Text      string
	HTML      string
}

// Parse takes m apart.
func (m Mail) Parse() (*Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, err
	}
	p := &Parsed{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("content-type: %w", err)
	}
	p.ContentType = mediaType
	decode := func(enc string, r io.Reader) (string, error) {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		return string(b), err
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		if err != nil {
			return nil, err
		}
		if mediaType == "text/html" {
			p.HTML = body
		} else {
			p.Text = body
		}
		return p, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			return nil, err
		}
		enc := part.Header.Get("Content-Transfer-Encoding")
		p.Parts = append(p.Parts, pt)
		p.Encodings = append(p.Encodings, enc)
		body, err := decode(enc, part)
		if err != nil {
			return nil, err
		}
		switch pt {
		case "text/plain":
			p.Text = body
		case "text/html":
			p.HTML = body
		}
	}
	return p, nil
}
