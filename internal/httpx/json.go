package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

type ctxKey int

const (
	loggerKey ctxKey = iota
)

// WithLogger stores the request-scoped logger in ctx.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey, l)
}

// Logger returns the request-scoped logger, or slog.Default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// NoCache marks a response as private and never cached, as Kratos does for
// every API route.
func NoCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
}

// WriteJSON writes v with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	buf := bytes.Buffer{}
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		WriteError(w, nil, Internal(fmt.Errorf("encoding response: %w", err)))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// WriteError writes err in the Kratos error envelope. Errors with status 500
// and above are logged with their cause; the cause never reaches the client.
// r may be nil when no request is at hand.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	he := As(err)
	reqID := ""
	ctx := context.Background()
	if r != nil {
		reqID = r.Header.Get("X-Request-Id")
		ctx = r.Context()
	}
	if he.Code >= 500 {
		Logger(ctx).Error("request failed", "status", he.Code, "error", err.Error())
	}
	body, mErr := json.Marshal(he.Envelope(reqID))
	if mErr != nil {
		body = []byte(`{"error":{"code":500,"status":"Internal Server Error","message":"An internal server error occurred, please contact the system administrator"}}`)
		he = New(http.StatusInternalServerError)
	}
	w.Header().Set("Content-Type", "application/json")
	if he.RetryAfter > 0 {
		w.Header().Set("Retry-After", RetryAfterValue(he.RetryAfter))
	}
	w.WriteHeader(he.Code)
	_, _ = w.Write(body)
}

// DecodeOptions tune DecodeJSON.
type DecodeOptions struct {
	// AllowUnknownFields accepts fields the destination does not declare.
	AllowUnknownFields bool
}

// DecodeJSON reads a JSON request body into dst. It refuses wrong content
// types (415), bodies over the server's limit (413), invalid UTF-8,
// malformed JSON, trailing data and, unless allowed, unknown fields (400).
func DecodeJSON(r *http.Request, dst any, opts DecodeOptions) error {
	if err := RequireJSONContentType(r); err != nil {
		return err
	}
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return DecodeJSONBytes(body, dst, opts)
}

// DecodeJSONBytes is DecodeJSON for a body already read.
func DecodeJSONBytes(body []byte, dst any, opts DecodeOptions) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return BadRequest("The request body is empty; a JSON document was expected.")
	}
	if !utf8.Valid(body) {
		return BadRequest("The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if !opts.AllowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return BadRequest(describeJSONError(err)).WithCause(err)
	}
	if dec.More() {
		return BadRequest("The request body contains more than one JSON document.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("The request body contains data after the JSON document.")
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("The request body is not valid JSON (at byte %d): %s.", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("The JSON field %q must be of type %s, not %s.", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
		}
		return fmt.Sprintf("The request body must be a JSON %s, not %s.", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "The request body ends in the middle of a JSON document."
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("The request body contains the unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return "The request body could not be decoded as JSON: " + err.Error()
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return kind
}

// ReadBody reads the whole (already size-limited) request body. A body over
// the limit becomes a 413.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, TooLarge(mbe.Limit)
		}
		return nil, BadRequest("The request body could not be read.").WithCause(err)
	}
	return b, nil
}

// MediaType returns the request's media type without parameters, lower-cased.
func MediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	}
	return mt
}

// RequireJSONContentType refuses bodies declared as something other than
// JSON with a 400, as the API documents only JSON bodies. A missing
// Content-Type is tolerated (the body must still parse as JSON) because Kratos
// never looked at the header and many scripts omit it.
func RequireJSONContentType(r *http.Request) error {
	mt := MediaType(r)
	if mt == "" || mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return BadRequest(fmt.Sprintf("The Content-Type %q is not supported here; send the body as application/json.", mt))
}

// RetryAfterValue is d as a Retry-After value: whole seconds, rounded up,
// at least 1.
func RetryAfterValue(d time.Duration) string {
	return strconv.FormatInt(max(int64((d+time.Second-1)/time.Second), 1), 10)
}
