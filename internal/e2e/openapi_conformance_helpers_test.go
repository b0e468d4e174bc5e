package e2e_test

// The machinery of the OpenAPI conformance suite
// (openapi_conformance_test.go): it reads api/openapi.yaml of the official
// Go SDK (github.com/ory/kratos-client-go, the module every SDK of the
// v0.9.0-alpha.3 release is generated from the same document as) out of the
// module cache, turns its OpenAPI 3.0 schema objects into one JSON Schema
// (draft 2020-12) document, and checks every answer Hoplite gives against
// the schema the document declares for that operation and status code.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// oaSDKModule is the module whose api/openapi.yaml is the contract.
const oaSDKModule = "github.com/ory/kratos-client-go"

// oaSchemaURL is the (never fetched) URL the converted document is
// registered under.
const oaSchemaURL = "https://hoplite.invalid/kratos-openapi.json"

// oaOperation is one operation of the document.
type oaOperation struct {
	ID     string
	Method string
	Path   string // template, e.g. /admin/identities/{id}
	// Responses maps a status code to the component schema its
	// application/json body must match ("" when it declares no body).
	Responses map[int]oaResponse

	pathRE *regexp.Regexp
}

type oaResponse struct {
	Schema       string   // name under #/$defs/
	ContentTypes []string // declared media types
}

// oaSpec is the loaded and converted document.
type oaSpec struct {
	Version string
	Ops     map[string]*oaOperation
	Defs    map[string]any // converted component schemas

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

var (
	oaOnce   sync.Once
	oaLoaded *oaSpec
	oaErr    error
)

// oaLoad reads and converts the SDK's OpenAPI document once per test
// binary.
func oaLoad(t testing.TB) *oaSpec {
	t.Helper()
	oaOnce.Do(func() { oaLoaded, oaErr = oaLoadSpec() })
	if oaErr != nil {
		t.Fatalf("loading the SDK's OpenAPI document: %v", oaErr)
	}
	return oaLoaded
}

// oaGo returns the go command of the toolchain running the tests.
func oaGo() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// oaModuleDir finds the SDK module in the module cache: go list names the
// version go.mod requires and its directory; when the module is not
// downloaded yet, go mod download fetches it.
func oaModuleDir() (dir, version string, err error) {
	type mod struct {
		Version string
		Dir     string
		Error   *struct{ Err string }
	}
	run := func(args ...string) (mod, error) {
		var m mod
		cmd := exec.Command(oaGo(), args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return m, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
		if err := json.Unmarshal(out, &m); err != nil {
			return m, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
		if m.Error != nil {
			return m, fmt.Errorf("go %s: %s", strings.Join(args, " "), m.Error.Err)
		}
		return m, nil
	}
	m, err := run("list", "-m", "-json", oaSDKModule)
	if err != nil {
		return "", "", err
	}
	if m.Dir == "" {
		if m, err = run("mod", "download", "-json", oaSDKModule+"@"+m.Version); err != nil {
			return "", "", err
		}
	}
	if m.Dir == "" {
		return "", "", fmt.Errorf("%s@%s has no directory in the module cache", oaSDKModule, m.Version)
	}
	return m.Dir, m.Version, nil
}

func oaLoadSpec() (*oaSpec, error) {
	dir, version, err := oaModuleDir()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "api", "openapi.yaml"))
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	// YAML → JSON → the value model the validator works on (json.Number,
	// map[string]any, []any).
	j, err := json.Marshal(y)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml as JSON: %w", err)
	}
	docAny, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	doc, _ := docAny.(map[string]any)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		return nil, fmt.Errorf("api/openapi.yaml is OpenAPI %q, want 3.0.x", v)
	}
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if len(schemas) == 0 {
		return nil, errors.New("api/openapi.yaml has no components.schemas")
	}
	spec := &oaSpec{Version: version, Ops: map[string]*oaOperation{}, Defs: map[string]any{}, compiled: map[string]*jsonschema.Schema{}}
	for name, s := range schemas {
		spec.Defs[name] = oaConvert(s)
	}
	if err := oaOverrideNodeAttributes(schemas, spec.Defs); err != nil {
		return nil, err
	}

	paths, _ := doc["paths"].(map[string]any)
	inline := 0
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for method, o := range methods {
			op, _ := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" {
				continue
			}
			oper := &oaOperation{ID: id, Method: strings.ToUpper(method), Path: path, Responses: map[int]oaResponse{}, pathRE: oaPathRE(path)}
			responses, _ := op["responses"].(map[string]any)
			for code, r := range responses {
				status, err := strconv.Atoi(code)
				if err != nil {
					return nil, fmt.Errorf("%s: response %q is not a status code", id, code)
				}
				resp := oaResponse{}
				content, _ := r.(map[string]any)["content"].(map[string]any)
				for ct, media := range content {
					resp.ContentTypes = append(resp.ContentTypes, ct)
					s := media.(map[string]any)["schema"]
					if s == nil {
						continue
					}
					name := ""
					if ref, ok := s.(map[string]any)["$ref"].(string); ok {
						name = strings.TrimPrefix(ref, "#/components/schemas/")
					} else {
						inline++
						name = fmt.Sprintf("inline.%s.%d", id, inline)
						spec.Defs[name] = oaConvert(s)
					}
					if resp.Schema != "" && resp.Schema != name {
						return nil, fmt.Errorf("%s %d: media types with different schemas", id, status)
					}
					resp.Schema = name
				}
				oper.Responses[status] = resp
			}
			if _, dup := spec.Ops[id]; dup {
				return nil, fmt.Errorf("operationId %s appears twice", id)
			}
			spec.Ops[id] = oper
		}
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(oaSchemaURL, map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$defs":   spec.Defs,
	}); err != nil {
		return nil, err
	}
	spec.compiler = c
	// Compile everything now so a conversion mistake fails loudly and
	// early, not only when some answer happens to use the schema.
	for name := range spec.Defs {
		if _, err := spec.schema(name); err != nil {
			return nil, err
		}
	}
	return spec, nil
}

// oaConvert turns an OpenAPI 3.0 schema object into JSON Schema 2020-12:
//   - $ref '#/components/schemas/X' → '#/$defs/X'; siblings of $ref are
//     ignored, as OpenAPI 3.0 says;
//   - nullable: true adds "null" to the type (OpenAPI 3.0 allows null
//     nowhere else; a schema without a type allows any value);
//   - discriminator is dropped, its oneOf kept (see
//     oaOverrideNodeAttributes for the one response schema where that
//     matters);
//   - format uuid4 → uuid; date-time is asserted; formats JSON Schema does
//     not know (int64) are ignored by the validator;
//   - additionalProperties: false is dropped. It appears once, on
//     genericError.details, a free-form object (map[string]interface{} in
//     the Go SDK, a free dict in the Python SDK) that Kratos itself fills
//     (security_csrf_violation: docs/hint/reject_reason; expired flows:
//     redirect_to or api), so the generators and every SDK ignore it;
//   - description, example and x-* extensions are dropped.
func oaConvert(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v // true/false schemas
	}
	if ref, ok := m["$ref"].(string); ok {
		return map[string]any{"$ref": strings.Replace(ref, "#/components/schemas/", "#/$defs/", 1)}
	}
	out := map[string]any{}
	for k, val := range m {
		switch {
		case k == "nullable", k == "discriminator", k == "description", k == "example", strings.HasPrefix(k, "x-"):
		case k == "properties":
			props := map[string]any{}
			for name, p := range val.(map[string]any) {
				props[name] = oaConvert(p)
			}
			out[k] = props
		case k == "items", k == "not":
			out[k] = oaConvert(val)
		case k == "additionalProperties":
			if b, isBool := val.(bool); isBool {
				if b {
					out[k] = true
				}
				continue
			}
			out[k] = oaConvert(val)
		case k == "allOf", k == "oneOf", k == "anyOf":
			var list []any
			for _, s := range val.([]any) {
				list = append(list, oaConvert(s))
			}
			out[k] = list
		case k == "format" && val == "uuid4":
			out[k] = "uuid"
		default:
			out[k] = val
		}
	}
	if m["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
	}
	return out
}

// oaNodeAttributeSchemas maps the node_type values Kratos emits to the
// attribute schemas of uiNodeAttributes' oneOf. The document's
// discriminator maps "image" and "anchor", but Kratos v0.9 (and Hoplite)
// emit node_type "img" and "a" (reference §3.2, quirk 9), so the mapping
// is keyed by the values actually emitted.
var oaNodeAttributeSchemas = map[string]string{
	"input":  "uiNodeInputAttributes",
	"text":   "uiNodeTextAttributes",
	"img":    "uiNodeImageAttributes",
	"a":      "uiNodeAnchorAttributes",
	"script": "uiNodeScriptAttributes",
}

// oaOverrideNodeAttributes replaces the uiNodeAttributes oneOf. In plain
// JSON Schema that oneOf is ambiguous (none of the attribute schemas
// forbids extra properties), so attributes are validated against the one
// schema their node_type picks. It first checks that the document still
// says what this replacement assumes.
func oaOverrideNodeAttributes(schemas map[string]any, defs map[string]any) error {
	orig, _ := schemas["uiNodeAttributes"].(map[string]any)
	disc, _ := orig["discriminator"].(map[string]any)
	if disc["propertyName"] != "node_type" {
		return fmt.Errorf("uiNodeAttributes: discriminator %v, want propertyName node_type", disc)
	}
	var refs []string
	for _, s := range orig["oneOf"].([]any) {
		refs = append(refs, strings.TrimPrefix(s.(map[string]any)["$ref"].(string), "#/components/schemas/"))
	}
	var want []string
	for _, s := range oaNodeAttributeSchemas {
		want = append(want, s)
	}
	sort.Strings(refs)
	sort.Strings(want)
	if !slices.Equal(refs, want) {
		return fmt.Errorf("uiNodeAttributes.oneOf is %v, the conformance suite maps %v", refs, want)
	}
	types := []any{}
	var branches []any
	keys := make([]string, 0, len(oaNodeAttributeSchemas))
	for k := range oaNodeAttributeSchemas {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, nodeType := range keys {
		types = append(types, nodeType)
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"node_type": map[string]any{"const": nodeType}}},
			"then": map[string]any{"$ref": "#/$defs/" + oaNodeAttributeSchemas[nodeType]},
		})
	}
	defs["uiNodeAttributes"] = map[string]any{
		"type":       "object",
		"required":   []any{"node_type"},
		"properties": map[string]any{"node_type": map[string]any{"enum": types}},
		"allOf":      branches,
	}
	return nil
}

// oaPathRE matches a request path against a path template; admin
// operations of the metadata and schema groups are also served below
// /admin on the admin port.
func oaPathRE(tmpl string) *regexp.Regexp {
	parts := strings.Split(tmpl, "/")
	for k, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[k] = `[^/]+`
		} else {
			parts[k] = regexp.QuoteMeta(p)
		}
	}
	return regexp.MustCompile(`^(/admin)?` + strings.Join(parts, "/") + `$`)
}

// schema returns the compiled schema of a component.
func (s *oaSpec) schema(name string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.compiled[name]; ok {
		return sch, nil
	}
	if _, ok := s.Defs[name]; !ok {
		return nil, fmt.Errorf("the document has no schema %q", name)
	}
	sch, err := s.compiler.Compile(oaSchemaURL + "#/$defs/" + jsonPointerEscape(name))
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	s.compiled[name] = sch
	return sch, nil
}

func jsonPointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// validate checks a decoded JSON value against a component schema and the
// rules JSON Schema cannot express (see oaExtraChecks).
func (s *oaSpec) validate(name string, v any) error {
	sch, err := s.schema(name)
	if err != nil {
		return err
	}
	if err := sch.Validate(v); err != nil {
		return err
	}
	return oaExtraChecks(v, "")
}

// oaExtraChecks walks a body for UI nodes and checks that each node's
// attributes.node_type repeats its type (SDKs pick the attribute model
// from node_type, UIs pick the element from type).
func oaExtraChecks(v any, at string) error {
	switch x := v.(type) {
	case map[string]any:
		if nodes, ok := x["nodes"].([]any); ok {
			if _, isUI := x["action"]; isUI {
				for k, n := range nodes {
					node, _ := n.(map[string]any)
					attrs, _ := node["attributes"].(map[string]any)
					if node["type"] != attrs["node_type"] {
						return fmt.Errorf("%s/nodes/%d: type %v but attributes.node_type %v", at, k, node["type"], attrs["node_type"])
					}
				}
			}
		}
		for k, val := range x {
			if err := oaExtraChecks(val, at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for k, val := range x {
			if err := oaExtraChecks(val, at+"/"+strconv.Itoa(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// oaUndeclared lists the statuses Hoplite answers although the document
// does not declare them for the operation. Each one is Kratos v0.9's
// running behaviour (reference file; "the running Kratos behaviour wins
// for routes and statuses"). Their bodies are still checked: all are the
// jsonError envelope, except getVersion's 307, which has no body. The SDKs
// do not decode undeclared statuses into a model; they surface them as
// generic API errors with the raw body.
var oaUndeclared = map[string]string{
	"getVersion 307": "/version exists only as /admin/version; the admin port 307-redirects every path outside /admin (reference §1.2, quirk 10)",

	"adminGetIdentity 400": "include_credential other than oidc (reference §1.2)",

	"initializeSelfServiceLoginFlowWithoutBrowser 401":     "session_aal1_required: aal2 requested without a session (reference §1.1)",
	"initializeSelfServiceRegistrationFlowForBrowsers 400": "session_already_available for JSON requests with a session (reference §1.1)",
	"initializeSelfServiceSettingsFlowWithoutBrowser 401":  "session_inactive without a session token (reference §1.1)",
	"initializeSelfServiceVerificationFlowForBrowsers 400": "verification disabled (reference §1.1)",

	"getSelfServiceRecoveryFlow 403":     "security_csrf_violation: browser flow fetched without the anti-CSRF cookie (reference §1.1)",
	"getSelfServiceVerificationFlow 410": "expired flow (reference §2.4)",

	"submitSelfServiceRegistrationFlow 302": "an HTML form with errors is sent back to the form with 302, not 303 (reference §6.2, quirk 1)",
	"submitSelfServiceLoginFlow 403":        "security_csrf_violation on a browser flow (reference §6.2)",
	"submitSelfServiceLoginFlow 404":        "unknown flow id (reference §1.1)",
	"submitSelfServiceRegistrationFlow 403": "security_csrf_violation on a browser flow (reference §6.2)",
	"submitSelfServiceRegistrationFlow 404": "unknown flow id (reference §1.1)",
	"submitSelfServiceSettingsFlow 404":     "unknown flow id (reference §1.1)",
	"submitSelfServiceRecoveryFlow 404":     "unknown flow id (reference §1.1)",
	"submitSelfServiceVerificationFlow 404": "unknown flow id (reference §1.1)",
	"submitSelfServiceRecoveryFlow 403":     "security_csrf_violation on a browser flow (reference §6.2)",

	"submitSelfServiceLogoutFlow 400":               "missing logout token (reference §1.1)",
	"submitSelfServiceLogoutFlow 401":               "no session (reference §1.1)",
	"submitSelfServiceLogoutFlow 403":               "logout token does not belong to the session (reference §1.1)",
	"submitSelfServiceLogoutFlowWithoutBrowser 403": "unknown session token (reference §1.1)",
}

// oaExtraMethods are methods Kratos serves an operation with besides the
// one the document names: every submit endpoint also answers GET
// (reference §1.1), which is how e-mailed recovery and verification links
// are consumed.
var oaExtraMethods = map[string][]string{
	"submitSelfServiceLoginFlow":        {"GET"},
	"submitSelfServiceRegistrationFlow": {"GET"},
	"submitSelfServiceSettingsFlow":     {"GET"},
	"submitSelfServiceRecoveryFlow":     {"GET"},
	"submitSelfServiceVerificationFlow": {"GET"},
}

// oaUndeclaredSchema is the body schema of the undeclared statuses.
const oaUndeclaredSchema = "jsonError"

// oaRecorder performs requests, validates the answers and records which
// operation answered with which status.
type oaRecorder struct {
	spec *oaSpec

	mu   sync.Mutex
	seen map[string]map[int]int
	// exceptions that were actually used
	usedUndeclared map[string]bool
}

func newOARecorder(t testing.TB) *oaRecorder {
	return &oaRecorder{spec: oaLoad(t), seen: map[string]map[int]int{}, usedUndeclared: map[string]bool{}}
}

// oaResult is an answer and its decoded JSON body (nil without one).
type oaResult struct {
	response
	JSON any
}

// get returns a field of an object body by a dotted path ("ui.action").
func (r oaResult) get(path string) any {
	var cur any = r.JSON
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// str is get for strings.
func (r oaResult) str(path string) string {
	s, _ := r.get(path).(string)
	return s
}

// call sends a request for operation op with client (rawClient when nil),
// requires status want, and validates the answer against the document.
// body may be nil, a string or []byte (sent as is), url.Values (sent as a
// form) or anything else (sent as JSON); headers are name/value pairs.
func (c *oaRecorder) call(t testing.TB, client *http.Client, op string, want int, method, rawURL string, body any, headers ...string) oaResult {
	t.Helper()
	oper, ok := c.spec.Ops[op]
	if !ok {
		t.Fatalf("the document has no operation %s", op)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if (method != oper.Method && !slices.Contains(oaExtraMethods[op], method)) || !oper.pathRE.MatchString(u.Path) {
		t.Fatalf("%s %s is not operation %s (%s %s)", method, u.Path, op, oper.Method, oper.Path)
	}
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case url.Values:
		rd, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k := 0; k+1 < len(headers); k += 2 {
		req.Header.Set(headers[k], headers[k+1])
	}
	if client == nil {
		client = rawClient
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", op, method, rawURL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: reading the body: %v", op, err)
	}
	r := oaResult{response: response{Status: res.StatusCode, Header: res.Header, Body: raw}}
	if r.Status != want {
		t.Fatalf("%s: %s %s answered %d, want %d; body: %s", op, method, rawURL, r.Status, want, raw)
	}
	r.JSON = c.check(t, oper, r.response)
	return r
}

// check validates an answer of oper and records it.
func (c *oaRecorder) check(t testing.TB, oper *oaOperation, r response) any {
	t.Helper()
	key := fmt.Sprintf("%s %d", oper.ID, r.Status)
	c.mu.Lock()
	if c.seen[oper.ID] == nil {
		c.seen[oper.ID] = map[int]int{}
	}
	c.seen[oper.ID][r.Status]++
	c.mu.Unlock()

	decl, declared := oper.Responses[r.Status]
	if !declared {
		if _, ok := oaUndeclared[key]; !ok {
			t.Errorf("%s: status %d is neither declared by the document (declared: %v) nor a documented Kratos-compatible exception; body: %s",
				oper.ID, r.Status, oper.statuses(), r.Body)
			return nil
		}
		c.mu.Lock()
		c.usedUndeclared[key] = true
		c.mu.Unlock()
		if r.Status >= 300 && r.Status < 400 {
			decl = oaResponse{}
		} else {
			decl = oaResponse{Schema: oaUndeclaredSchema, ContentTypes: []string{"application/json"}}
		}
	}

	if r.Status >= 300 && r.Status < 400 && r.Header.Get("Location") == "" {
		t.Errorf("%s: %d without a Location header", oper.ID, r.Status)
	}
	if decl.Schema == "" {
		// No body declared (204, 303, 307).
		if r.Status == http.StatusNoContent && len(r.Body) != 0 {
			t.Errorf("%s: 204 with a body: %s", oper.ID, r.Body)
		}
		return nil
	}

	ct := r.Header.Get("Content-Type")
	if exc, ok := oaContentTypeExceptions[key]; ok {
		// Not JSON (see oaContentTypeExceptions): only the media type is
		// checked.
		if ct != exc {
			t.Errorf("%s: Content-Type %q, want %q", oper.ID, ct, exc)
		}
		if len(r.Body) == 0 {
			t.Errorf("%s: empty body", oper.ID)
		}
		return nil
	}
	if !slices.Contains(decl.ContentTypes, "application/json") {
		t.Errorf("%s %d: the document declares %v, which this suite cannot check", oper.ID, r.Status, decl.ContentTypes)
		return nil
	}
	if mt := strings.TrimSpace(strings.Split(ct, ";")[0]); mt != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json; body: %s", oper.ID, ct, r.Body)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		t.Errorf("%s: the body is not JSON: %v; body: %s", oper.ID, err, r.Body)
		return nil
	}
	err = c.spec.validate(decl.Schema, v)
	if err != nil && r.Status == http.StatusGone {
		// The expired-flow error (reference §2.4, §5.1) is Kratos' enhanced
		// envelope {"error":{…},"since","use_flow_id"}, which validates
		// against jsonError; the document also has the flat model
		// selfServiceFlowExpiredError. Either shape is accepted for a 410.
		if c.spec.validate("selfServiceFlowExpiredError", v) == nil {
			return v
		}
	}
	if err != nil && r.Status == http.StatusUnprocessableEntity {
		// browser_location_change_required (reference §5.1) is likewise
		// Kratos' enhanced envelope {"error":{…},"redirect_browser_to"},
		// where the document has the flat selfServiceBrowserLocationChangeRequiredError.
		if c.spec.validate("jsonError", v) == nil {
			if m, _ := v.(map[string]any); m["redirect_browser_to"] != nil {
				return v
			}
		}
	}
	if err != nil {
		t.Errorf("%s %d: the body does not match %s:\n%v\nbody: %s", oper.ID, r.Status, decl.Schema, err, r.Body)
		return v
	}
	if decl.Schema == "jsonError" {
		// Beyond the schema: the envelope repeats the status.
		e, _ := v.(map[string]any)["error"].(map[string]any)
		if code, _ := e["code"].(json.Number); code.String() != strconv.Itoa(r.Status) || e["status"] != http.StatusText(r.Status) {
			t.Errorf("%s %d: error.code %v / error.status %v do not repeat the HTTP status; body: %s", oper.ID, r.Status, e["code"], e["status"], r.Body)
		}
	}
	return v
}

// oaContentTypeExceptions are declared JSON bodies that are not JSON.
var oaContentTypeExceptions = map[string]string{
	// The document declares getWebAuthnJavaScript as application/json
	// with a string schema; Kratos serves the script itself as
	// JavaScript (reference §1.1) and the SDKs return it undecoded.
	"getWebAuthnJavaScript 200": "text/javascript; charset=UTF-8",
}

func (o *oaOperation) statuses() []int {
	var out []int
	for s := range o.Responses {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// requireCoverage fails unless every operation of the document answered
// at least once and every exception in oaUndeclared was exercised; it logs
// the declared statuses no request produced.
func (c *oaRecorder) requireCoverage(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id := range c.spec.Ops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var missing, notHit []string
	for _, id := range ids {
		seen := c.seen[id]
		if len(seen) == 0 {
			missing = append(missing, id)
			continue
		}
		for _, s := range c.spec.Ops[id].statuses() {
			if seen[s] == 0 {
				notHit = append(notHit, fmt.Sprintf("%s %d", id, s))
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("operations of the document never exercised: %v", missing)
	}
	var unused []string
	for k := range oaUndeclared {
		if !c.usedUndeclared[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("documented exceptions never exercised (remove them or cover them): %v", unused)
	}
	t.Logf("%d operations exercised; declared statuses not produced: %v", len(ids)-len(missing), notHit)
}
