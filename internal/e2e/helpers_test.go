// Package e2e_test drives a real, in-process Hoplite server over HTTP: with
// the official Kratos v0.9 Go SDK where it can express the request, and with
// plain net/http for what the SDK hides (headers, redirects, malformed
// bodies).
package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	kratos "github.com/ory/kratos-client-go"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

// rawClient never follows redirects, so tests see every 307.
var rawClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// response is a fully read HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string {
	return http.StatusText(r.Status) + " " + string(r.Body)
}

// do sends a request and reads the whole answer. body may be nil, a []byte,
// a string or an io.Reader; headers are "Name", "value" pairs.
func do(t testing.TB, method, url string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		t.Fatalf("do: unsupported body type %T", body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k+1 < len(headers); k += 2 {
		req.Header.Set(headers[k], headers[k+1])
	}
	res, err := rawClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// doJSON sends v (marshalled unless it is already []byte or string) as an
// application/json body.
func doJSON(t testing.TB, method, url string, v any, headers ...string) response {
	t.Helper()
	var body any
	switch b := v.(type) {
	case []byte, string:
		body = b
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = raw
	}
	return do(t, method, url, body, append([]string{"Content-Type", "application/json", "Accept", "application/json"}, headers...)...)
}

// errorBody is the "error" object of the Kratos error envelope.
type errorBody struct {
	ID      string         `json:"id"`
	Code    int            `json:"code"`
	Status  string         `json:"status"`
	Request string         `json:"request"`
	Reason  string         `json:"reason"`
	Debug   string         `json:"debug"`
	Details map[string]any `json:"details"`
	Message string         `json:"message"`
}

// requireEnvelope asserts that r is the Kratos error envelope with status
// code and returns its error object.
func requireEnvelope(t testing.TB, r response, code int) errorBody {
	t.Helper()
	if r.Status != code {
		t.Fatalf("status %d, want %d; body: %s", r.Status, code, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json; body: %s", ct, r.Body)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("error body is not a JSON object: %v; body: %s", err, r.Body)
	}
	rawErr, ok := env["error"]
	if !ok {
		t.Fatalf(`error body has no "error" key: %s`, r.Body)
	}
	var e errorBody
	if err := json.Unmarshal(rawErr, &e); err != nil {
		t.Fatalf("error object does not decode: %v; body: %s", err, r.Body)
	}
	if e.Code != code {
		t.Fatalf("error.code %d, want %d; body: %s", e.Code, code, r.Body)
	}
	if e.Status != http.StatusText(code) {
		t.Fatalf("error.status %q, want %q; body: %s", e.Status, http.StatusText(code), r.Body)
	}
	if e.Message == "" {
		t.Fatalf("error.message is empty; body: %s", r.Body)
	}
	return e
}

// decode unmarshals the body of r into v, failing the test on errors.
func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decoding %T: %v; body: %s", v, err, r.Body)
	}
	return v
}

// identityJSON is the identity document as the admin API serializes it,
// with the fields the v0.9 SDK model lacks.
type identityJSON struct {
	ID                  string                       `json:"id"`
	Credentials         map[string]credentialsJSON   `json:"credentials"`
	SchemaID            string                       `json:"schema_id"`
	SchemaURL           string                       `json:"schema_url"`
	State               string                       `json:"state"`
	StateChangedAt      *time.Time                   `json:"state_changed_at"`
	Traits              map[string]any               `json:"traits"`
	VerifiableAddresses []map[string]json.RawMessage `json:"verifiable_addresses"`
	RecoveryAddresses   []map[string]json.RawMessage `json:"recovery_addresses"`
	MetadataPublic      json.RawMessage              `json:"metadata_public"`
	MetadataAdmin       json.RawMessage              `json:"metadata_admin"`
	CreatedAt           time.Time                    `json:"created_at"`
	UpdatedAt           time.Time                    `json:"updated_at"`
}

type credentialsJSON struct {
	Type        string          `json:"type"`
	Identifiers []string        `json:"identifiers"`
	Config      json.RawMessage `json:"config"`
	Version     int             `json:"version"`
}

// adminURL joins the admin base URL and a path below /admin/.
func adminURL(s *testutil.Server, path string) string {
	return s.AdminURL + "admin/" + strings.TrimPrefix(path, "/")
}

// createIdentity creates an identity with the given e-mail over raw HTTP and
// returns it.
func createIdentity(t testing.TB, s *testutil.Server, email string) identityJSON {
	t.Helper()
	r := doJSON(t, http.MethodPost, adminURL(s, "identities"), map[string]any{"traits": map[string]any{"email": email}})
	if r.Status != http.StatusCreated {
		t.Fatalf("creating %s: %s", email, r)
	}
	return decode[identityJSON](t, r)
}

// sdkStatus returns the HTTP status of an SDK call's answer (0 without one).
func sdkStatus(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// sdkErrorBody returns the raw body of an SDK error.
func sdkErrorBody(err error) string {
	if ge, ok := err.(*kratos.GenericOpenAPIError); ok {
		return string(ge.Body())
	}
	if err == nil {
		return ""
	}
	return err.Error()
}
