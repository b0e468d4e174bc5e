package flow

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// The responder is the only writer: each answer kind must come out as its
// status, Location and body, whoever built it.
func TestRespondWritesEachAnswerKind(t *testing.T) {
	e := &Engine{Deps: Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	f := &Flow{Kind: Login, Type: TypeAPI}
	cases := []struct {
		name     string
		a        answer
		status   int
		location string
		body     string // a substring of the body
	}{
		{"flow", flowAnswer(f, http.StatusBadRequest), 400, "", `"type":"api"`},
		{"document", documentAnswer(map[string]string{"session_token": "t"}), 200, "", `"session_token":"t"`},
		{"redirect", redirectAnswer("http://127.0.0.1/ui", http.StatusFound), 302, "http://127.0.0.1/ui", ""},
		{"redirect defaults to 303", redirectAnswer("http://127.0.0.1/ui", 0), 303, "http://127.0.0.1/ui", ""},
		{"envelope", envelopeAnswer(httpx.Gone("gone")), 410, "", `"reason":"gone"`},
		{"no content", answer{kind: answerNoContent}, 204, "", ""},
		{"no answer is a bug, not a silent 200", answer{}, 500, "", `"code":500`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			e.respond(w, httptest.NewRequest(http.MethodPost, "/self-service/login", nil), c.a)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.status, w.Body)
			}
			if got := w.Header().Get("Location"); got != c.location {
				t.Fatalf("Location %q, want %q", got, c.location)
			}
			if !strings.Contains(w.Body.String(), c.body) {
				t.Fatalf("body %s lacks %s", w.Body, c.body)
			}
		})
	}
}

// failure sorts an error into the answer Kratos gives for it.
func TestFailureSortsErrors(t *testing.T) {
	e := &Engine{Deps: Deps{Config: Config{Kinds: map[Kind]KindConfig{Login: {UIURL: "http://127.0.0.1/login"}}}}}
	hookErr := publicReasonError{"the web hook answered 500"}
	cases := []struct {
		name   string
		flow   Flow
		json   bool
		err    error
		kind   answerKind
		status int // of the error, for envelopes and error pages
	}{
		{"a form error stays on the form", Flow{Kind: Login, Type: TypeBrowser}, false, NewFormError("", ui.ErrInvalidCredentials()), answerFormError, 0},
		{"a 400 is shown on the form", Flow{Kind: Registration, Type: TypeAPI}, true, httpx.BadRequest("bad"), answerFormError, 0},
		{"a 5xx on an API flow is an envelope", Flow{Kind: Login, Type: TypeAPI}, false, errors.New("boom"), answerEnvelope, 500},
		{"a 5xx for a JSON client of a browser flow is an envelope", Flow{Kind: Login, Type: TypeBrowser}, true, errors.New("boom"), answerEnvelope, 500},
		{"a 5xx for a browser goes to the error UI", Flow{Kind: Login, Type: TypeBrowser}, false, errors.New("boom"), answerErrorUI, 500},
		{"a failed web hook on an API flow is a 400 envelope", Flow{Kind: Registration, Type: TypeAPI}, false, hookErr, answerEnvelope, 400},
		{"a failed web hook in a browser is a 500 on the error UI", Flow{Kind: Registration, Type: TypeBrowser}, false, hookErr, answerErrorUI, 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/self-service/x", nil)
			if c.json {
				r.Header.Set("Accept", "application/json")
			}
			f := c.flow
			a := e.failure(r, &f, nil, c.err)
			if a.kind != c.kind {
				t.Fatalf("answer kind %d, want %d", a.kind, c.kind)
			}
			if c.status != 0 {
				if got := httpx.As(a.err).Code; got != c.status {
					t.Fatalf("status %d, want %d", got, c.status)
				}
			}
			if c.kind == answerFormError && len(a.items) == 0 {
				t.Fatal("a form error without messages")
			}
		})
	}

	// A settings submission whose identity was deleted meanwhile is
	// answered as one without a session.
	f := &Flow{Kind: Settings, Type: TypeBrowser}
	a := e.failure(httptest.NewRequest(http.MethodPost, "/self-service/settings", nil), f, nil, store.ErrNotFound)
	if a.kind != answerRedirect || a.status != http.StatusFound || a.location != "http://127.0.0.1/login" {
		t.Fatalf("deleted identity: %+v", a)
	}
}

type publicReasonError struct{ reason string }

func (e publicReasonError) Error() string        { return "hook failed: " + e.reason }
func (e publicReasonError) PublicReason() string { return e.reason }
