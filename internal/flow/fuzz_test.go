package flow

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/testutil/bound"
)

// fuzzMaxBody is the public port's default body limit, which the server
// applies before any handler sees a body.
const fuzzMaxBody = 1 << 20

// decodeBudget is what one submission may cost the decoder: a small
// multiple of its size, well below what the hostile shapes cost before the
// limits (hundreds of times the body).
func decodeBudget(n int) bound.Budget {
	return bound.Budget{Bytes: uint64(32*n + 1<<20), Time: 2 * time.Second}
}

// fuzzFields are form fields of the default schema, as the engine passes
// them to Traits.
var fuzzFields = []schema.FormField{
	{Name: "traits.email", JSONType: "string"},
	{Name: "traits.age", JSONType: "number"},
	{Name: "traits.newsletter", JSONType: "boolean"},
	{Name: "traits.name.first", JSONType: "string"},
}

// decodeAndUse decodes a submission the way the engine does and reads it
// the way methods do. Errors must be client errors of the envelope.
func decodeAndUse(t *testing.T, r *http.Request) {
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, fuzzMaxBody)
	b, err := DecodeBody(r)
	if err != nil {
		var he *httpx.Error
		if !errors.As(err, &he) || he.Code < 400 || he.Code >= 500 {
			t.Fatalf("decoding failed with %v, want a 4xx envelope error", err)
		}
		return
	}
	_ = b.Method()
	_ = b.String("password")
	_ = b.String("traits")
	_ = b.Has("csrf_token")
	if _, err := b.Traits(fuzzFields); err != nil {
		if he := httpx.As(err); he.Code >= 500 {
			t.Fatalf("traits failed with %v", err)
		}
	}
}

// Seeds are bodies the Kratos SDK and browsers send.
var jsonSeeds = []string{
	`{"method":"password","password_identifier":"alice@example.org","password":"correct horse battery"}`,
	`{"method":"password","identifier":"alice@example.org","password":"correct horse battery","csrf_token":""}`,
	`{"method":"password","password":"correct horse battery","traits":{"email":"alice@example.org","name":{"first":"Alice"}}}`,
	`{"method":"profile","traits":{"email":"alice@example.org","age":42,"newsletter":true}}`,
	`{"method":"link","email":"alice@example.org"}`,
	`{"method":"link","email":"alice@example.org","csrf_token":"` + strings.Repeat("A", 88) + `"}`,
	`{"traits":{"a":{"a":{"a":{"a":1}}}}}`,
	`[1,2,3]`,
	`{"method":`,
}

var formSeeds = []string{
	"method=password&identifier=alice%40example.org&password=correct+horse+battery&csrf_token=" + strings.Repeat("A", 86) + "%3D%3D",
	"method=password&password=correct+horse&traits.email=alice%40example.org&traits.name.first=Alice&traits.age=42&traits.newsletter=on",
	"method=profile&traits.email=alice%40example.org&traits.newsletter=false",
	"method=link&email=alice%40example.org",
	"traits=x&traits.email=y",
	"traits.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a=x",
	"%ff=%fe",
	"a=1&a=2&b",
}

func FuzzDecodeBodyJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		bound.Check(t, decodeBudget(len(body)), func() {
			r := httptest.NewRequest(http.MethodPost, "/self-service/login?flow=x", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			decodeAndUse(t, r)
		})
	})
}

func FuzzDecodeBodyForm(f *testing.F) {
	for _, s := range formSeeds {
		f.Add(s, "application/x-www-form-urlencoded")
		f.Add(s, "")
	}
	f.Add("--b\r\nContent-Disposition: form-data; name=\"traits.email\"\r\n\r\nalice@example.org\r\n--b--\r\n", "multipart/form-data; boundary=b")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		bound.Check(t, decodeBudget(len(body)), func() {
			r := httptest.NewRequest(http.MethodPost, "/self-service/registration?flow=x", strings.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			decodeAndUse(t, r)
		})
		// The same fields as a link opened by GET: never a method's secret
		// input (the engine drops them from query strings).
		bound.Check(t, decodeBudget(len(body)), func() {
			r := httptest.NewRequest(http.MethodGet, "/self-service/verification", nil)
			r.URL.RawQuery = body
			e := &Engine{secretInputs: []string{"password"}}
			b, err := e.decode(r)
			if err == nil && b.Has("password") {
				t.Fatalf("a password was taken from the query %q", body)
			}
		})
	})
}

func FuzzParseFlowID(f *testing.F) {
	for _, s := range []string{
		"flow=6a2e9d3c-4f0b-4c8e-9a5e-1b2c3d4e5f60",
		"flow=6A2E9D3C-4F0B-4C8E-9A5E-1B2C3D4E5F60&token=abc",
		"flow={6a2e9d3c-4f0b-4c8e-9a5e-1b2c3d4e5f60}",
		"flow=urn:uuid:6a2e9d3c-4f0b-4c8e-9a5e-1b2c3d4e5f60",
		"flow=", "flow=%zz", "id=1&flow=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		bound.Check(t, bound.Budget{Bytes: uint64(8*len(query) + 64<<10), Time: time.Second}, func() {
			r := httptest.NewRequest(http.MethodGet, "/self-service/login/flows", nil)
			r.URL.RawQuery = query
			id, err := parseFlowID(r, "flow")
			if err != nil {
				if he := httpx.As(err); he.Code != http.StatusBadRequest {
					t.Fatalf("error %v, want 400", err)
				}
				return
			}
			if id.String() == "00000000-0000-0000-0000-000000000000" && !strings.Contains(query, "0000") {
				t.Fatalf("nil id from %q", query)
			}
		})
	})
}
