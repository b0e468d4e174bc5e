// Package httpx holds the HTTP plumbing every handler shares: the Kratos error
// envelope, JSON encoding and decoding with body limits, and content
// negotiation. Handlers return *Error values; only this package turns them into
// bytes on the wire, so the envelope is built in exactly one place.
package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is an API error carrying everything the Kratos envelope can hold:
//
//	{"error":{"id","code","status","request","reason","debug","details","message"}, <extra>}
//
// Extra holds top-level keys that some errors add beside "error" (for
// example use_flow_id and since on an expired flow, or redirect_browser_to).
type Error struct {
	ID      string
	Code    int
	Reason  string
	Debug   string
	Details map[string]any
	Message string
	Extra   map[string]any
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration

	cause error
}

// Error implements the error interface with a compact, log-friendly text.
func (e *Error) Error() string {
	s := e.Message
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap exposes the underlying cause (for errors.Is/As).
func (e *Error) Unwrap() error { return e.cause }

// StatusText is the Go status text Kratos puts into "status".
func (e *Error) StatusText() string { return http.StatusText(e.Code) }

// Default messages per status, as Kratos (herodot) words its generic errors.
var defaultMessages = map[int]string{
	http.StatusBadRequest:            "The request was malformed or contained invalid parameters",
	http.StatusUnauthorized:          "The request could not be authorized",
	http.StatusForbidden:             "The requested action was forbidden",
	http.StatusNotFound:              "The requested resource could not be found",
	http.StatusConflict:              "Unable to insert or update resource because a resource with that value exists already",
	http.StatusGone:                  "The requested resource is no longer available because it has expired or is otherwise invalid.",
	http.StatusRequestEntityTooLarge: "The request body is too large",
	http.StatusUnsupportedMediaType:  "The request body has an unsupported content type",
	http.StatusUnprocessableEntity:   "The request was well-formed but was unable to be followed due to semantic errors",
	http.StatusInternalServerError:   "An internal server error occurred, please contact the system administrator",
	http.StatusServiceUnavailable:    "The service is currently unavailable",
	http.StatusMethodNotAllowed:      "The request method is not allowed for this resource",
}

// New builds an error with the default message for code.
func New(code int) *Error {
	msg, ok := defaultMessages[code]
	if !ok {
		msg = http.StatusText(code)
	}
	return &Error{Code: code, Message: msg}
}

// Convenience constructors for the common statuses; reason may be empty.
func BadRequest(reason string) *Error   { return New(http.StatusBadRequest).WithReason(reason) }
func Unauthorized(reason string) *Error { return New(http.StatusUnauthorized).WithReason(reason) }
func Forbidden(reason string) *Error    { return New(http.StatusForbidden).WithReason(reason) }
func NotFound(reason string) *Error     { return New(http.StatusNotFound).WithReason(reason) }
func Conflict(reason string) *Error     { return New(http.StatusConflict).WithReason(reason) }
func Gone(reason string) *Error         { return New(http.StatusGone).WithReason(reason) }
func Internal(cause error) *Error       { return New(http.StatusInternalServerError).WithCause(cause) }

// Reasonf formats the reason.
func (e *Error) Reasonf(format string, args ...any) *Error {
	return e.WithReason(fmt.Sprintf(format, args...))
}

// The With* methods return a modified copy so that shared template errors are
// never mutated by one request and seen by another.

func (e *Error) WithID(id string) *Error { c := e.clone(); c.ID = id; return c }
func (e *Error) WithReason(r string) *Error {
	c := e.clone()
	c.Reason = r
	return c
}
func (e *Error) WithMessage(m string) *Error { c := e.clone(); c.Message = m; return c }
func (e *Error) WithDebug(d string) *Error   { c := e.clone(); c.Debug = d; return c }
func (e *Error) WithCause(err error) *Error  { c := e.clone(); c.cause = err; return c }
func (e *Error) WithDetail(k string, v any) *Error {
	c := e.clone()
	c.Details = cloneMap(e.Details)
	c.Details[k] = v
	return c
}
func (e *Error) WithExtra(k string, v any) *Error {
	c := e.clone()
	c.Extra = cloneMap(e.Extra)
	c.Extra[k] = v
	return c
}

func (e *Error) clone() *Error { c := *e; return &c }

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Body is the JSON object of the "error" key (also what the self-service
// error store keeps).
type Body struct {
	ID      string         `json:"id,omitempty"`
	Code    int            `json:"code,omitempty"`
	Status  string         `json:"status,omitempty"`
	Request string         `json:"request,omitempty"`
	Reason  string         `json:"reason,omitempty"`
	Debug   string         `json:"debug,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Message string         `json:"message"`
}

// Body renders the error object; requestID is the caller's X-Request-ID.
func (e *Error) Body(requestID string) Body {
	return Body{
		ID: e.ID, Code: e.Code, Status: e.StatusText(), Request: requestID,
		Reason: e.Reason, Debug: e.Debug, Details: e.Details, Message: e.Message,
	}
}

// Envelope renders the complete response document.
func (e *Error) Envelope(requestID string) map[string]any {
	out := make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		out[k] = v
	}
	out["error"] = e.Body(requestID)
	return out
}

// As converts any error into an *Error. Errors that are not *Error become 500s
// whose cause stays out of the response (it is only logged).
func As(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	// Domain errors say how they are answered without importing this
	// package's callers' concerns: the edge asks them.
	var he2 interface{ HTTPError() *Error }
	if errors.As(err, &he2) {
		return he2.HTTPError()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return TooLarge(mbe.Limit)
	}
	// An overloaded dependency (the password hash queue) asks the client to
	// come back later.
	var later interface{ RetryAfter() time.Duration }
	if errors.As(err, &later) {
		e := New(http.StatusServiceUnavailable).WithReason("The server is busy; please try again shortly.").WithCause(err)
		e.RetryAfter = later.RetryAfter()
		return e
	}
	var ii invalidInput
	if errors.As(err, &ii) {
		return BadRequest(ii.InvalidReason()).WithCause(err)
	}
	return Internal(err)
}

// invalidInput is a domain error that is the caller's fault (a value that
// cannot be stored, an unknown schema): the edge answers it with 400 and its
// reason. Domain packages implement it without importing this package.
type invalidInput interface{ InvalidReason() string }

// TooLarge is the 413 answer for a body over the limit.
func TooLarge(limit int64) *Error {
	return New(http.StatusRequestEntityTooLarge).Reasonf("The request body exceeds the limit of %d bytes.", limit)
}
