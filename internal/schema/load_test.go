package schema

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// paddedDoc returns DefaultSchemaJSON with a title containing "???": the
// third byte of some 3-byte group is '?', whose low six bits encode to '/',
// so the standard and URL-safe base64 encodings of the document differ.
func paddedDoc(t *testing.T) []byte {
	t.Helper()
	doc := []byte(strings.Replace(DefaultSchemaJSON, `"title": "Person"`, `"title": "Person ???"`, 1))
	if !strings.Contains(base64.StdEncoding.EncodeToString(doc), "/") {
		t.Fatal("could not build a document whose base64 differs between alphabets")
	}
	return doc
}

func TestLoadLocations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "identity.schema.json")
	doc := paddedDoc(t)
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/identity.schema.json":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cases := []struct {
		name string
		url  string
	}{
		{"file url", "file://" + filepath.ToSlash(path)},
		{"bare path", path},
		{"base64 standard", "base64://" + base64.StdEncoding.EncodeToString(doc)},
		{"base64 standard unpadded", "base64://" + base64.RawStdEncoding.EncodeToString(doc)},
		{"base64 url-safe", "base64://" + base64.URLEncoding.EncodeToString(doc)},
		{"base64 url-safe unpadded", "base64://" + base64.RawURLEncoding.EncodeToString(doc)},
		{"http", srv.URL + "/identity.schema.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Load(context.Background(), []Source{{ID: "default", URL: tc.url}}, "default", srv.Client())
			if err != nil {
				t.Fatalf("Load(%s): %v", tc.url, err)
			}
			s := r.Default()
			if s.ID != "default" || s.URL != tc.url {
				t.Fatalf("got id %q url %q", s.ID, s.URL)
			}
			if !bytes.Equal(s.Raw, doc) {
				t.Fatalf("Raw is not the document as loaded")
			}
			if _, err := s.ValidateTraits([]byte(`{"email":"a@example.org"}`)); err != nil {
				t.Fatalf("ValidateTraits: %v", err)
			}
		})
	}
}

func TestLoadRelativeFileURL(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.json"), []byte(DefaultSchemaJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, u := range []string{"file://./s.json", "./s.json", "s.json"} {
		if _, err := Load(context.Background(), []Source{{ID: "default", URL: u}}, "", nil); err != nil {
			t.Errorf("Load(%q): %v", u, err)
		}
	}
}

func TestLoadFileReference(t *testing.T) {
	dir := t.TempDir()
	defs := `{"definitions": {"email": {"type": "string", "format": "email",
		"ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}}}}`
	main := `{"$schema": "http://json-schema.org/draft-07/schema#",
		"properties": {"traits": {"type": "object",
			"properties": {"email": {"$ref": "defs.json#/definitions/email"}}}}}`
	if err := os.WriteFile(filepath.Join(dir, "defs.json"), []byte(defs), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.json"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Load(context.Background(), []Source{{ID: "default", URL: filepath.Join(dir, "main.json")}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ve *ValidationError
	if _, err := r.Default().ValidateTraits([]byte(`{"email":"nope"}`)); !errors.As(err, &ve) {
		t.Fatalf("expected the referenced format to apply, got %v", err)
	}
}

func TestLoadHTTPFailures(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()

	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"title":"`))
		_, _ = w.Write(bytes.Repeat([]byte("a"), MaxDocumentSize))
		_, _ = w.Write([]byte(`"}`))
	}))
	defer big.Close()

	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()

	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	cases := []struct {
		name   string
		ctx    context.Context
		url    string
		client *http.Client
		want   string
	}{
		{"timeout", context.Background(), slow.URL + "/s.json", &http.Client{Timeout: 50 * time.Millisecond}, "could not be loaded"},
		{"context cancelled", cancelled, slow.URL + "/s.json", slow.Client(), "context canceled"},
		{"unreachable", context.Background(), closedURL + "/s.json", &http.Client{Timeout: time.Second}, "could not be loaded"},
		{"status 404", context.Background(), missing.URL + "/s.json", missing.Client(), "HTTP status 404"},
		{"too large", context.Background(), big.URL + "/s.json", big.Client(), "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Load(tc.ctx, []Source{{ID: "remote-schema", URL: tc.url}}, "remote-schema", tc.client)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), `identity schema "remote-schema"`) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name the schema or lacks %q", err, tc.want)
			}
			var le *LoadError
			if !errors.As(err, &le) || le.SchemaID != "remote-schema" {
				t.Fatalf("expected *LoadError for remote-schema, got %T", err)
			}
			if time.Since(start) > 3*time.Second {
				t.Fatalf("load took too long: %v", time.Since(start))
			}
		})
	}
}

func TestLoadBadSchemas(t *testing.T) {
	good := Source{ID: "default", URL: b64(DefaultSchemaJSON)}
	cases := []struct {
		name string
		url  string
		want string
	}{
		{"invalid json", b64(`{"properties": `), "is not valid JSON"},
		{"trailing data", b64(`{} {}`), "is not valid JSON"},
		{"not an object", b64(`[1,2]`), "is not a JSON object"},
		{"invalid json schema", b64(`{"properties": {"traits": {"type": 5, "properties": {"a": {}}}}}`), "is not a valid JSON Schema"},
		{"invalid minLength", b64(`{"properties": {"traits": {"properties": {"a": {"minLength": "x"}}}}}`), "is not a valid JSON Schema"},
		{"invalid pattern", b64(`{"properties": {"traits": {"properties": {"a": {"pattern": "("}}}}}`), "is not a valid JSON Schema"},
		{"no traits", b64(`{"type": "object", "properties": {"name": {"type": "string"}}}`), "has no properties.traits"},
		{"no properties at all", b64(`{"type": "object"}`), "has no properties.traits"},
		{"traits without properties", b64(`{"properties": {"traits": {"type": "object"}}}`), "declares no properties"},
		{"traits with empty properties", b64(`{"properties": {"traits": {"type": "object", "properties": {}}}}`), "declares no properties"},
		{"extension not an object", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": true}}}}}`), "must be an object"},
		{"identifier not a boolean", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifier": "yes"}}}}}}}}`), "credentials.password.identifier must be a boolean"},
		{"credentials not an object", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"credentials": []}}}}}}`), "credentials must be an object"},
		{"bad verification via", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"verification": {"via": "sms"}}}}}}}`), `verification.via must be "email" or "phone"`},
		{"bad recovery via", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"recovery": {"via": "phone"}}}}}}}`), `recovery.via must be "email"`},
		{"bad extension in definitions", b64(`{"definitions": {"e": {"ory.sh/kratos": {"totp": 1, "credentials": {"totp": {"account_name": 1}}}}}, "properties": {"traits": {"properties": {"a": {"$ref": "#/definitions/e"}}}}}`), "#/definitions/e/ory.sh~1kratos"},
		{"misspelt identifier keyword", b64(`{"properties": {"traits": {"properties": {"email": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifer": true}}}}}}}}`),
			`invalid "ory.sh/kratos" extension at #/properties/traits/properties/email/ory.sh~1kratos: unknown keyword "credentials.password.identifer"; the only keyword here is "credentials.password.identifier"`},
		{"unknown extension keyword", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"verfication": {"via": "email"}}}}}}}`), `unknown keyword "verfication"; the keywords here are "credentials", "verification", "recovery"`},
		{"unknown credential type", b64(`{"properties": {"traits": {"properties": {"a": {"type": "string", "ory.sh/kratos": {"credentials": {"pasword": {"identifier": true}}}}}}}}`), `unknown keyword "credentials.pasword"`},
		{"truncated document", b64("{\n  \"properties\": {\n    \"traits\": "), `is not valid JSON (inline base64 document): line 3, column 15: the document ends before it is complete`},
		{"unresolvable ref", b64(`{"properties": {"traits": {"properties": {"a": {"$ref": "#/definitions/nope"}}}}}`), `"#/definitions/nope" not found`},
		{"bad base64", "base64://@@@", "not valid standard or URL-safe base64"},
		{"missing file", "file:///nonexistent/identity.schema.json", "could not be loaded"},
		{"unsupported scheme", "ftp://example.org/s.json", "unsupported location scheme"},
		{"empty url", "", "no url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), []Source{good, {ID: "broken-one", URL: tc.url}}, "default", nil)
			if err == nil {
				t.Fatal("expected an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `identity schema "broken-one": `) {
				t.Fatalf("error %q does not name the schema id", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Fatalf("error %q spans several lines", msg)
			}
		})
	}
}

func TestLoadRegistryErrors(t *testing.T) {
	good := Source{ID: "default", URL: b64(DefaultSchemaJSON)}
	cases := []struct {
		name      string
		sources   []Source
		defaultID string
		want      string
	}{
		{"no sources", nil, "", "no identity schemas"},
		{"duplicate id", []Source{good, good}, "", `identity schema "default": the id is used by more than one schema`},
		{"missing id", []Source{{URL: good.URL}}, "", "has no id"},
		{"unknown default", []Source{good}, "customer", `default identity schema "customer" is not configured`},
		{"implicit default missing", []Source{{ID: "customer", URL: good.URL}}, "", `"default" is not configured`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(context.Background(), tc.sources, tc.defaultID, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestRegistryLookup(t *testing.T) {
	sources := []Source{
		{ID: "customer", URL: b64(draft07Schema)},
		{ID: "default", URL: b64(DefaultSchemaJSON)},
		{ID: "employee/v2", URL: b64(draft2020Schema)},
	}
	r, err := Load(context.Background(), sources, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if EncodeID("default") != "ZGVmYXVsdA" {
		t.Fatalf("EncodeID(default) = %q", EncodeID("default"))
	}
	if r.Default().ID != "default" {
		t.Fatalf("Default() = %q", r.Default().ID)
	}
	var ids []string
	for _, s := range r.List() {
		ids = append(ids, s.ID)
	}
	if strings.Join(ids, ",") != "customer,default,employee/v2" {
		t.Fatalf("List() order = %v", ids)
	}
	cases := []struct {
		key  string
		want string
	}{
		{"default", "default"},
		{"ZGVmYXVsdA", "default"},
		{"customer", "customer"},
		{EncodeID("customer"), "customer"},
		{"employee/v2", "employee/v2"},
		{EncodeID("employee/v2"), "employee/v2"},
		{"ZGVmYXVsdA==", ""},
		{"unknown", ""},
		{"", ""},
	}
	for _, tc := range cases {
		s, ok := r.Get(tc.key)
		if tc.want == "" {
			if ok {
				t.Errorf("Get(%q) found %q", tc.key, s.ID)
			}
			continue
		}
		if !ok || s.ID != tc.want {
			t.Errorf("Get(%q) = %v, %v; want %q", tc.key, s, ok, tc.want)
		}
		if s.EncodedID() != EncodeID(tc.want) {
			t.Errorf("EncodedID mismatch for %q", tc.want)
		}
	}
	// List returns a copy.
	l := r.List()
	l[0] = nil
	if r.List()[0] == nil {
		t.Fatal("List exposes the registry's slice")
	}
}

func TestDrafts(t *testing.T) {
	t.Run("draft-07", func(t *testing.T) {
		s := mustLoad(t, draft07Schema).Default()
		if _, err := s.ValidateTraits([]byte(`{"email":"a@b.org","name":{"first":"A"}}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ValidateTraits([]byte(`{"email":"nope","name":{"first":"A"}}`)); err == nil {
			t.Fatal("format email is not asserted")
		}
	})
	t.Run("2020-12", func(t *testing.T) {
		s := mustLoad(t, draft2020Schema).Default()
		x, err := s.ValidateTraits([]byte(`{"email":"A@B.org","nickname":null}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(x.PasswordIdentifiers) != 1 || x.PasswordIdentifiers[0] != "a@b.org" {
			t.Fatalf("extraction through $ref siblings: %+v", x)
		}
		checkCauses(t, s, `{"email":"nope"}`, []Cause{{Pointer: "#/traits/email", Field: "traits.email", Message: `"nope" is not valid "email"`}})
		checkCauses(t, s, `{"email":"a@b.org","other":1}`, []Cause{{Pointer: "#/traits/other", Field: "traits.other", Message: "value is not allowed"}})
		checkCauses(t, s, `{"email":"a@b.org","nickname":"x"}`, []Cause{{Pointer: "#/traits/nickname", Field: "traits.nickname", Message: "length must be >= 2, but got 1"}})
		if f := s.FormFields(); len(f) != 2 || f[0].Title != "Mail" || f[0].Type != "email" || !f[0].Required || f[1].JSONType != "string" {
			t.Fatalf("FormFields = %+v", f)
		}
	})
	t.Run("default draft is 07", func(t *testing.T) {
		s := mustLoad(t, noDraftSchema).Default()
		if _, err := s.ValidateTraits([]byte(`{"code":"ab"}`)); err != nil {
			t.Fatalf("a keyword beside $ref applied, so draft-07 was not the default: %v", err)
		}
		if _, err := s.ValidateTraits([]byte(`{"code":1}`)); err == nil {
			t.Fatal("$ref was not followed")
		}
	})
}

func TestBuiltinSchema(t *testing.T) {
	r, err := Load(context.Background(), []Source{BuiltinSource()}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Default()
	if s.ID != DefaultID || string(s.Raw) != DefaultSchemaJSON {
		t.Fatal("built-in schema not served as is")
	}
	want := []FormField{
		{Name: "traits.email", Type: "email", JSONType: "string", Format: "email", Required: true, Title: "E-Mail"},
		{Name: "traits.name.first", Type: "text", JSONType: "string", Title: "First name"},
		{Name: "traits.name.last", Type: "text", JSONType: "string", Title: "Last name"},
	}
	if got := s.FormFields(); !equalFields(got, want) {
		t.Fatalf("FormFields = %+v", got)
	}
	x, err := s.ValidateTraits([]byte(`{"email":"Jane@Example.org","name":{"first":"Jane","last":"Doe"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.PasswordIdentifiers) != 1 || x.PasswordIdentifiers[0] != "jane@example.org" || len(x.WebAuthnIdentifiers) != 0 ||
		len(x.VerifiableAddresses) != 1 || x.VerifiableAddresses[0] != (Address{Via: "email", Value: "jane@example.org"}) ||
		len(x.RecoveryAddresses) != 1 || x.RecoveryAddresses[0] != (Address{Via: "email", Value: "jane@example.org"}) {
		t.Fatalf("extracted %+v", x)
	}
	checkCauses(t, s, `{"name":{"first":"x"}}`, []Cause{{Pointer: "#/traits/email", Field: "traits.email", Missing: true, Property: "email", Message: "Property email is missing."}})
	checkCauses(t, s, `{"email":"a@b.org","phone":"1"}`, []Cause{{Pointer: "#/traits", Field: "traits", Message: `property "phone" is not allowed`}})
	long := strings.Repeat("a", 310) + "@example.org"
	checkCauses(t, s, `{"email":"`+long+`"}`, []Cause{{Pointer: "#/traits/email", Field: "traits.email", Message: `"` + long[:256] + `…" is not valid "email"`}})
}

func equalFields(a, b []FormField) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTruncatedSchemaFileErrorNamesFileAndPosition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "person.schema.json")
	if err := os.WriteFile(path, []byte("{\n  \"$id\": \"person\",\n  \"properties\": {\n    \"traits\": {\"type\": \"obj"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(context.Background(), []Source{{ID: "default", URL: "file://" + path}}, "default", nil)
	want := `identity schema "default": is not valid JSON (file ` + path + `): line 4, column 28: the document ends before it is complete`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestWarningForSchemaWithoutLoginIdentifier(t *testing.T) {
	r, err := Load(context.Background(), []Source{
		{ID: "default", URL: b64(DefaultSchemaJSON)},
		{ID: "contacts", URL: b64(`{"properties": {"traits": {"type": "object", "properties": {"email": {"type": "string", "ory.sh/kratos": {"verification": {"via": "email"}}}}}}}`)},
	}, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := r.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], `identity schema "contacts" marks no trait as a login identifier`) {
		t.Errorf("warnings %q", w)
	}
}
