package flow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/schema"
)

// Body is a decoded flow submission. Browsers post forms with dotted names
// ("traits.email"); apps post JSON with nested objects ({"traits":{…}}). Both
// end up as the same nested document.
type Body struct {
	values map[string]any
	// FromForm is true for form submissions, whose values are all strings.
	FromForm bool
}

// Limits of a submission. A flow form has a few dozen fields with names
// like "traits.address.street"; the limits are far above that and keep a
// hostile body (one field named "a.a.a…" with half a million segments, or
// JSON nested thousands of levels) from costing many times its size in maps
// and recursion. They are checked before anything is allocated per field.
const (
	maxFormFields   = 1000
	maxNameLength   = 256
	maxNameSegments = 16
	maxJSONDepth    = 32
)

// DecodeBody reads a submission: a JSON object, an urlencoded or multipart
// form, or (for GET submissions such as links in emails) the query string.
func DecodeBody(r *http.Request) (*Body, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return fromValues(r.URL.Query())
	}
	mt := httpx.MediaType(r)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		raw, err := httpx.ReadBody(r)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := httpx.DecodeJSONBytes(raw, &m, httpx.DecodeOptions{
			AllowUnknownFields: true, MaxDepth: maxJSONDepth, MaxValues: maxFormFields,
		}); err != nil {
			return nil, err
		}
		return &Body{values: m}, nil
	case mt == "application/x-www-form-urlencoded" || mt == "":
		if err := r.ParseForm(); err != nil {
			if isTooLarge(err) {
				return nil, httpx.TooLarge(0).WithReason("The request body is too large.")
			}
			return nil, httpx.BadRequest("The form could not be parsed.").WithCause(err)
		}
		// PostForm holds the body only: fields in the query string (a
		// password among them) are ignored for POST submissions.
		return fromValues(r.PostForm)
	case mt == "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			if isTooLarge(err) {
				return nil, httpx.TooLarge(0).WithReason("The request body is too large.")
			}
			return nil, httpx.BadRequest("The multipart form could not be parsed.").WithCause(err)
		}
		return fromValues(r.MultipartForm.Value)
	default:
		return nil, httpx.BadRequest(fmt.Sprintf("The Content-Type %q is not supported; send application/json or a form.", mt))
	}
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || (err != nil && strings.Contains(err.Error(), "too large"))
}

// fromValues turns flat dotted form names into a nested document; for
// repeated names the first value wins.
func fromValues(v url.Values) (*Body, error) {
	if len(v) > maxFormFields {
		return nil, httpx.BadRequest("The form has too many fields.")
	}
	root := map[string]any{}
	for name, vals := range v {
		if len(vals) == 0 {
			continue
		}
		if !utf8.ValidString(name) || !utf8.ValidString(vals[0]) {
			return nil, httpx.BadRequest("The form contains text that is not valid UTF-8.")
		}
		if len(name) > maxNameLength {
			return nil, httpx.BadRequest(fmt.Sprintf("The form contains a field name longer than %d bytes.", maxNameLength))
		}
		if strings.Count(name, ".") >= maxNameSegments {
			return nil, httpx.BadRequest(fmt.Sprintf("The form contains a field name with more than %d dotted parts.", maxNameSegments))
		}
		parts := strings.Split(name, ".")
		m := root
		ok := true
		for _, p := range parts[:len(parts)-1] {
			next, exists := m[p]
			if !exists {
				nm := map[string]any{}
				m[p] = nm
				m = nm
				continue
			}
			nm, isMap := next.(map[string]any)
			if !isMap {
				ok = false
				break
			}
			m = nm
		}
		if !ok {
			continue
		}
		last := parts[len(parts)-1]
		if _, isMap := m[last].(map[string]any); isMap {
			continue
		}
		m[last] = vals[0]
	}
	return &Body{values: root, FromForm: true}, nil
}

// Value returns the raw value at a dotted path.
func (b *Body) Value(path string) (any, bool) {
	var cur any = b.values
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// String returns the value at path as a string ("" when absent; numbers and
// booleans are formatted).
func (b *Body) String(path string) string {
	v, ok := b.Value(path)
	if !ok || v == nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		raw, _ := json.Marshal(t)
		return string(raw)
	}
}

// Has reports whether path is present.
func (b *Body) Has(path string) bool {
	_, ok := b.Value(path)
	return ok
}

// Method is the submitted "method" field.
func (b *Body) Method() string { return b.String("method") }

// Traits returns the submitted traits as JSON. Form values are converted to
// the JSON types the schema declares (numbers, booleans); JSON bodies pass
// through unchanged.
func (b *Body) Traits(fields []schema.FormField) (json.RawMessage, error) {
	v, ok := b.Value("traits")
	if !ok || v == nil {
		return json.RawMessage("{}"), nil
	}
	if b.FromForm {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, httpx.BadRequest("The traits must be sent as fields named traits.<name>.")
		}
		for _, f := range fields {
			convertFormValue(m, strings.Split(strings.TrimPrefix(f.Name, "traits."), "."), f.JSONType)
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, httpx.BadRequest("The traits could not be encoded.")
	}
	return raw, nil
}

// convertFormValue converts the string at path to jsonType in place. Empty
// strings of non-string fields are dropped, so "not filled in" stays absent.
func convertFormValue(m map[string]any, path []string, jsonType string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	key := path[len(path)-1]
	s, ok := m[key].(string)
	if !ok {
		return
	}
	switch jsonType {
	case "number", "integer":
		if s == "" {
			delete(m, key)
			return
		}
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			m[key] = n
		}
	case "boolean":
		switch strings.ToLower(s) {
		case "true", "on", "1", "yes":
			m[key] = true
		case "false", "off", "0", "no", "":
			m[key] = false
		}
	}
}

// Bool reports whether the value at path is true: a JSON true or a form
// value strconv.ParseBool accepts as true ("true", "1", …).
func (b *Body) Bool(path string) bool {
	v, _ := strconv.ParseBool(b.String(path))
	return v
}
