package httpclient

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFetch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.jsonnet")
	if err := os.WriteFile(path, []byte("file doc"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/doc" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("remote doc"))
	}))
	defer srv.Close()
	client := New(fastOptions())
	ctx := context.Background()

	cases := []struct {
		loc, want, path string
		deprecated      bool
	}{
		{"base64://" + base64.StdEncoding.EncodeToString([]byte("b64 doc?")), "b64 doc?", "", false},
		{"base64://" + base64.RawURLEncoding.EncodeToString([]byte("b64 doc?")), "b64 doc?", "", false},
		{"file://" + path, "file doc", path, false},
		{path, "file doc", path, true},
		{srv.URL + "/doc", "remote doc", "", false},
	}
	for _, c := range cases {
		doc, err := Fetch(ctx, client, c.loc, 0)
		if err != nil {
			t.Errorf("Fetch(%s): %v", Redact(c.loc), err)
			continue
		}
		if string(doc.Data) != c.want || doc.Path != c.path || doc.Deprecated != c.deprecated {
			t.Errorf("Fetch(%s) = %q path %q deprecated %v", Redact(c.loc), doc.Data, doc.Path, doc.Deprecated)
		}
	}

	for _, c := range []struct{ loc, wantErr string }{
		{srv.URL + "/missing?token=hidden", "returned HTTP status 404"},
		{"base64://!!!", "not valid"},
		{"ftp://example.com/x", "unsupported location scheme"},
		{"file://" + filepath.Join(dir, "nope"), "no such file"},
		{"", "no location"},
	} {
		_, err := Fetch(ctx, client, c.loc, 0)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("Fetch(%q) err = %v, want %q", c.loc, err, c.wantErr)
			continue
		}
		if strings.Contains(err.Error(), "hidden") {
			t.Errorf("the error repeats the query: %v", err)
		}
	}

	if _, err := Fetch(ctx, client, "file://"+path, 4); err == nil || !strings.Contains(err.Error(), "exceeds 4 bytes") {
		t.Errorf("size cap: err = %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"base64://c2VjcmV0":                       "base64://…",
		"https://user:pw@example.com/a?token=x#f": "https://example.com/a",
		"http://example.com/hook":                 "http://example.com/hook",
		"/etc/hoplite/body.jsonnet":               "/etc/hoplite/body.jsonnet",
		"relative/x.jsonnet?x":                    "relative/x.jsonnet",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
