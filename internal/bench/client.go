package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// Conn is one keep-alive HTTP/1.1 connection to a loopback server, used by
// one goroutine. Requests are written from prebuilt bytes and answers read
// with http.ReadResponse: no transport goroutines, no connection pool, no
// compression, so the client stays far cheaper than the servers it drives.
// A connection the server closes is dialled again on the next request.
type Conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
	// Body holds the last answer's body when Do was asked to keep it.
	Body bytes.Buffer
	// Header is the last answer's header.
	Header http.Header
}

// NewConn returns an unconnected Conn to addr (host:port); each request
// must finish within timeout.
func NewConn(addr string, timeout time.Duration) *Conn {
	return &Conn{addr: addr, timeout: timeout}
}

// Close closes the connection.
func (c *Conn) Close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

func (c *Conn) dial() error {
	nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c.c = nc
	if c.br == nil {
		c.br = bufio.NewReaderSize(nc, 32<<10)
	} else {
		c.br.Reset(nc)
	}
	return nil
}

// Do sends one request (complete bytes, from Request.Build) and reads the
// answer, keeping the body in c.Body when keepBody is set. It returns the
// status code; an error means the exchange failed (the connection is then
// dropped). A request on a reused connection that the server closed while
// idle is retried once on a new connection.
func (c *Conn) Do(req []byte, keepBody bool) (int, error) {
	status, fresh, err := c.try(req, keepBody)
	if err != nil && !fresh && isStaleConn(err) {
		status, _, err = c.try(req, keepBody)
	}
	return status, err
}

func (c *Conn) try(req []byte, keepBody bool) (status int, fresh bool, err error) {
	if c.c == nil {
		if err := c.dial(); err != nil {
			return 0, true, err
		}
		fresh = true
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := c.c.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, fresh, err
	}
	if _, err := c.c.Write(req); err != nil {
		return 0, fresh, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, fresh, err
	}
	c.Header = resp.Header
	c.Body.Reset()
	if keepBody {
		_, err = c.Body.ReadFrom(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, fresh, err
	}
	if resp.Close {
		c.Close()
	}
	return resp.StatusCode, fresh, nil
}

func isStaleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Request builds HTTP/1.1 request bytes into a reusable buffer.
type Request struct {
	Host string
	buf  []byte
}

// Build returns the bytes of one request. headers alternate name, value.
// The returned slice is valid until the next Build.
func (r *Request) Build(method, target string, body []byte, headers ...string) []byte {
	b := r.buf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.Host...)
	b = append(b, "\r\nUser-Agent: hoplite-bench\r\n"...)
	for k := 0; k+1 < len(headers); k += 2 {
		b = append(b, headers[k]...)
		b = append(b, ": "...)
		b = append(b, headers[k+1]...)
		b = append(b, "\r\n"...)
	}
	if body != nil || method == http.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	r.buf = b
	return b
}

// StatusError is an answer with an unexpected status.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	body := e.Body
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return fmt.Sprintf("status %d: %s", e.Status, body)
}
