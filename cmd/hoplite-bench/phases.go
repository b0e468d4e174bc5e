package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hoplite-id/hoplite/internal/bench"
)

// phaseEnv is what the phases' operations need.
type phaseEnv struct {
	o          *options
	data       *seeded
	cookieName string
	runTag     string // makes registered addresses unique across runs
}

func (e *phaseEnv) phase(name, addr string) bench.Phase {
	p := bench.Phase{
		Name: name, Concurrency: e.o.concurrency, Warmup: e.o.warmup, Duration: e.o.duration, MaxOps: e.o.maxRequests,
	}
	if serialPhase(name) {
		p.Concurrency = 1
	}
	timeout := e.o.timeout
	p.NewWorker = func(w int) (bench.Op, func()) {
		c := bench.NewConn(addr, timeout)
		req := &bench.Request{Host: addr}
		var op bench.Op
		switch name {
		case phaseWhoamiToken, phaseBare:
			op = e.whoami(c, req, w, false)
		case phaseWhoamiCookie:
			op = e.whoami(c, req, w, true)
		case phaseAdminList, phaseAdminListSerial:
			op = func(int) error {
				return expect(c, http.StatusOK)(c.Do(req.Build(http.MethodGet, "/admin/identities?per_page=250", nil, "Accept", "application/json"), true))
			}
		case phaseAdminGet, phaseAdminGetSerial:
			ids := e.data.identityIDs
			off := w * max(1, len(ids)/e.o.concurrency)
			op = func(seq int) error {
				id := ids[(off+seq)%len(ids)]
				return expect(c, http.StatusOK)(c.Do(req.Build(http.MethodGet, "/admin/identities/"+id.String(), nil, "Accept", "application/json"), true))
			}
		case phaseLogin:
			emails := e.data.emails
			off := w * max(1, len(emails)/e.o.concurrency)
			var body []byte
			op = func(seq int) error {
				body = fmt.Appendf(body[:0], `{"method":"password","identifier":%q,"password":%q}`, emails[(off+seq)%len(emails)], benchPassword)
				return submitFlow(c, req, "login", body)
			}
		case phaseRegistration:
			var body []byte
			op = func(seq int) error {
				email := fmt.Sprintf("reg-%s-w%d-%d@bench.example.org", e.runTag, w, seq)
				body = fmt.Appendf(body[:0], `{"method":"password","password":%q,"traits":{"email":%q}}`, benchPassword, email)
				return submitFlow(c, req, "registration", body)
			}
		default:
			panic("unknown phase " + name)
		}
		return op, c.Close
	}
	return p
}

// whoami asks for the session of a seeded token, each worker walking the
// tokens from its own offset so every session gets asked for.
func (e *phaseEnv) whoami(c *bench.Conn, req *bench.Request, w int, cookie bool) bench.Op {
	tokens := e.data.tokens
	off := w * max(1, len(tokens)/e.o.concurrency)
	name, prefix := "X-Session-Token", ""
	if cookie {
		name, prefix = "Cookie", e.cookieName+"="
	}
	var value []byte
	ok := expect(c, http.StatusOK)
	return func(seq int) error {
		value = append(append(value[:0], prefix...), tokens[(off+seq)%len(tokens)]...)
		return ok(c.Do(req.Build(http.MethodGet, "/sessions/whoami", nil, "Accept", "application/json", name, string(value)), true))
	}
}

// expect turns (status, err) into an error unless status is want.
func expect(c *bench.Conn, want int) func(int, error) error {
	return func(status int, err error) error {
		if err != nil {
			return err
		}
		if status != want {
			return &bench.StatusError{Status: status, Body: c.Body.String()}
		}
		return nil
	}
}

var sessionTokenKey = []byte(`"session_token":"`)

// submitFlow runs an API flow: create it (GET /self-service/<kind>/api),
// then submit body to it; the answer must carry a session token.
func submitFlow(c *bench.Conn, req *bench.Request, kind string, body []byte) error {
	if err := expect(c, http.StatusOK)(c.Do(req.Build(http.MethodGet, "/self-service/"+kind+"/api", nil, "Accept", "application/json"), true)); err != nil {
		return fmt.Errorf("creating the %s flow: %w", kind, err)
	}
	var f struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(c.Body.Bytes(), &f); err != nil || f.ID == "" {
		return fmt.Errorf("creating the %s flow: no flow id in %.200q", kind, c.Body.String())
	}
	err := expect(c, http.StatusOK)(c.Do(req.Build(http.MethodPost, "/self-service/"+kind+"?flow="+f.ID, body,
		"Accept", "application/json", "Content-Type", "application/json"), true))
	if err != nil {
		return fmt.Errorf("submitting the %s flow: %w", kind, err)
	}
	if !bytes.Contains(c.Body.Bytes(), sessionTokenKey) {
		return fmt.Errorf("submitting the %s flow: no session_token in %.200q", kind, c.Body.String())
	}
	return nil
}

// fetchWhoami records one real whoami answer (and checks that a seeded
// token works against the server).
func fetchWhoami(addr, cookieName, token string, timeout time.Duration) (*cannedAnswer, error) {
	c := bench.NewConn(addr, timeout)
	defer c.Close()
	req := &bench.Request{Host: addr}
	status, err := c.Do(req.Build(http.MethodGet, "/sessions/whoami", nil, "Accept", "application/json", "X-Session-Token", token), true)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("a seeded session token is refused by whoami: %w", &bench.StatusError{Status: status, Body: c.Body.String()})
	}
	a := &cannedAnswer{Status: status, Headers: map[string][]string{}, Body: c.Body.String()}
	for k, v := range c.Header {
		switch k {
		case "Date", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		a.Headers[k] = v
	}
	// The cookie must work as well.
	status, err = c.Do(req.Build(http.MethodGet, "/sessions/whoami", nil, "Accept", "application/json", "Cookie", cookieName+"="+token), true)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, errors.New("a seeded session token is refused by whoami as a cookie")
	}
	return a, nil
}
