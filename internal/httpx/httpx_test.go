package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

func TestParsePage(t *testing.T) {
	for query, want := range map[string]httpx.Page{
		"":                        {Number: 1, PerPage: 250},
		"page=0":                  {Number: 1, PerPage: 250},
		"page=1":                  {Number: 1, PerPage: 250},
		"page=3&per_page=2":       {Number: 3, PerPage: 2},
		"per_page=0":              {Number: 1, PerPage: 1},
		"per_page=1000":           {Number: 1, PerPage: 1000},
		"per_page=5000":           {Number: 1, PerPage: 1000},
		"page=&per_page=":         {Number: 1, PerPage: 250},
		"page=2147483&per_page=1": {Number: 2147483, PerPage: 1},
	} {
		r := httptest.NewRequest(http.MethodGet, "/x?"+query, nil)
		got, err := httpx.ParsePage(r)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", query, got, err, want)
		}
	}
	for _, query := range []string{"page=-1", "page=abc", "per_page=abc", "per_page=-1", "page=1.5", "page=99999999999999999999", "page=2147483647&per_page=1000", "per_page=0x10"} {
		r := httptest.NewRequest(http.MethodGet, "/x?"+query, nil)
		_, err := httpx.ParsePage(r)
		if he := httpx.As(err); err == nil || he.Code != http.StatusBadRequest {
			t.Errorf("%q: %v, want a 400", query, err)
		}
	}
	if off := (httpx.Page{Number: 3, PerPage: 20}).Offset(); off != 40 {
		t.Errorf("offset %d", off)
	}
}

func TestSetPaginationHeaders(t *testing.T) {
	base, _ := url.Parse("https://admin.example/admin/identities")
	cases := []struct {
		total, current, perPage, first int
		want                           string
	}{
		{5, 1, 2, 1, "first=1 next=2 last=3"},
		{5, 2, 2, 1, "first=1 prev=1 next=3 last=3"},
		{5, 3, 2, 1, "first=1 prev=2 last=3"},
		{5, 7, 2, 1, "first=1 prev=3 last=3"},
		{0, 1, 2, 1, "first=1 last=1"},
		{4, 1, 2, 1, "first=1 next=2 last=2"},
		// Zero-based (schemas).
		{3, 0, 1, 0, "first=0 next=1 last=2"},
		{3, 2, 1, 0, "first=0 prev=1 last=2"},
		{1, 0, 250, 0, "first=0 last=0"},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		httpx.SetPaginationHeaders(w, base, c.total, c.current, c.perPage, c.first)
		if got := w.Header().Get("X-Total-Count"); got != fmt.Sprint(c.total) {
			t.Errorf("%+v: X-Total-Count %q", c, got)
		}
		var rels []string
		for _, part := range strings.Split(w.Header().Get("Link"), ",") {
			u, rel, ok := strings.Cut(part, ">; rel=")
			if !ok {
				t.Fatalf("%+v: malformed Link %q", c, w.Header().Get("Link"))
			}
			parsed, err := url.Parse(strings.TrimPrefix(u, "<"))
			if err != nil || parsed.Path != "/admin/identities" || parsed.Query().Get("per_page") != fmt.Sprint(c.perPage) {
				t.Errorf("%+v: link %q", c, u)
			}
			rels = append(rels, strings.Trim(rel, `"`)+"="+parsed.Query().Get("page"))
		}
		if got := strings.Join(rels, " "); got != c.want {
			t.Errorf("%+v: links %q, want %q", c, got, c.want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	decode := func(ct, raw string, opts httpx.DecodeOptions) (body, error) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		var b body
		return b, httpx.DecodeJSON(r, &b, opts)
	}
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"} {
		if b, err := decode(ct, `{"name":"x","n":2}`, httpx.DecodeOptions{}); err != nil || b.Name != "x" || b.N != 2 {
			t.Errorf("content type %q: %+v %v", ct, b, err)
		}
	}
	if _, err := decode("", `{"name":"x","extra":1}`, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil {
		t.Errorf("unknown field allowed: %v", err)
	}
	for name, c := range map[string]struct{ ct, raw, reason string }{
		"text/plain":    {"text/plain", `{"name":"x"}`, "text/plain"},
		"form":          {"application/x-www-form-urlencoded", `name=x`, "application/x-www-form-urlencoded"},
		"empty":         {"", ``, "empty"},
		"syntax":        {"", `{"name":}`, "not valid JSON"},
		"truncated":     {"", `{"name":"x"`, "ends in the middle"},
		"array":         {"", `[]`, "object"},
		"type":          {"", `{"n":"two"}`, `"n"`},
		"unknown":       {"", `{"name":"x","extra":1}`, "extra"},
		"two documents": {"", `{} {}`, "more than one"},
		"trailing":      {"", `{} ]`, ""},
		"utf-8":         {"", "{\"name\":\"\xff\"}", "UTF-8"},
	} {
		_, err := decode(c.ct, c.raw, httpx.DecodeOptions{})
		he := httpx.As(err)
		if err == nil || he.Code != http.StatusBadRequest || !strings.Contains(he.Reason, c.reason) {
			t.Errorf("%s: %v (reason %q), want a 400 mentioning %q", name, err, he.Reason, c.reason)
		}
	}

	// Over the limit: 413.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"`+strings.Repeat("x", 100)+`"}`))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 50)
	var b body
	if he := httpx.As(httpx.DecodeJSON(r, &b, httpx.DecodeOptions{})); he.Code != http.StatusRequestEntityTooLarge || !strings.Contains(he.Reason, "50") {
		t.Errorf("over the limit: %+v", he)
	}
}

func TestWriteError(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Request-Id", "abc")
	w := httptest.NewRecorder()
	httpx.WriteError(w, r, httpx.NotFound("gone fishing").WithID("some_id").WithDetail("k", "v").WithExtra("use_flow_id", "f"))
	if w.Code != 404 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var env struct {
		Error     map[string]any `json:"error"`
		UseFlowID string         `json:"use_flow_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	e := env.Error
	if e["code"] != float64(404) || e["status"] != "Not Found" || e["reason"] != "gone fishing" || e["id"] != "some_id" ||
		e["request"] != "abc" || e["message"] == "" || env.UseFlowID != "f" || e["details"].(map[string]any)["k"] != "v" {
		t.Errorf("envelope %s", w.Body)
	}

	// Plain errors become 500s that do not leak their text.
	w = httptest.NewRecorder()
	httpx.WriteError(w, nil, errors.New("dial tcp 10.0.0.7:5432: password=hunter2"))
	if w.Code != 500 || strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("500: %d %s", w.Code, w.Body)
	}
	// A body-size error anywhere in the chain is a 413.
	w = httptest.NewRecorder()
	httpx.WriteError(w, nil, fmt.Errorf("reading: %w", &http.MaxBytesError{Limit: 10}))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("MaxBytesError: %d", w.Code)
	}
	// With* never mutate the template.
	tmpl := httpx.BadRequest("base")
	_ = tmpl.WithReason("changed").WithDetail("a", 1).WithExtra("b", 2)
	if tmpl.Reason != "base" || tmpl.Details != nil || tmpl.Extra != nil {
		t.Errorf("template mutated: %+v", tmpl)
	}
}
