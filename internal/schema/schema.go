// Package schema loads identity schemas, validates identity traits against
// them and interprets the "ory.sh/kratos" extension keyword that marks
// traits as credential identifiers and verification/recovery addresses.
package schema

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hoplite-id/hoplite/internal/jsonpos"
)

// DefaultID is the id of the default identity schema when none is configured.
const DefaultID = "default"

// Source is one entry of the identity.schemas configuration.
type Source struct {
	ID  string
	URL string
}

// Schema is a loaded and compiled identity schema. It is immutable and safe
// for concurrent use.
type Schema struct {
	// ID is the configured schema id.
	ID string
	// URL is the configured location of the schema.
	URL string
	// Raw is the document exactly as loaded.
	Raw json.RawMessage

	compiled *jsonschema.Schema
	fields   []FormField
	rules    []extRule
	order    map[string]int // trait path -> schema position, for sorting causes
}

// EncodedID returns the id as used in schema URLs: base64url without padding.
func (s *Schema) EncodedID() string { return EncodeID(s.ID) }

// EncodeID encodes a schema id as base64url without padding, as used in
// schema URLs ("default" -> "ZGVmYXVsdA").
func EncodeID(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// Registry holds the configured identity schemas.
type Registry struct {
	schemas   []*Schema
	byID      map[string]*Schema
	byEncoded map[string]*Schema
	def       *Schema
}

// LoadError reports a schema that could not be loaded.
type LoadError struct {
	SchemaID string
	Err      error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("identity schema %q: %v", e.SchemaID, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Load fetches and compiles every schema. Supported locations are file://
// URLs and bare paths, base64:// (standard or URL-safe base64 of the
// document) and http(s):// (fetched with client, honouring ctx). defaultID
// names the default schema ("" means DefaultID). A bad schema yields a
// *LoadError naming the schema id.
func Load(ctx context.Context, sources []Source, defaultID string, client *http.Client) (*Registry, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if defaultID == "" {
		defaultID = DefaultID
	}
	if len(sources) == 0 {
		return nil, errors.New("no identity schemas are configured")
	}
	f := &fetcher{ctx: ctx, client: client}
	r := &Registry{
		byID:      make(map[string]*Schema, len(sources)),
		byEncoded: make(map[string]*Schema, len(sources)),
	}
	for i, src := range sources {
		if src.ID == "" {
			return nil, fmt.Errorf("identity schema #%d (%s) has no id", i+1, redactURL(src.URL))
		}
		if _, dup := r.byID[src.ID]; dup {
			return nil, &LoadError{SchemaID: src.ID, Err: errors.New("the id is used by more than one schema")}
		}
		s, err := load(f, src)
		if err != nil {
			return nil, &LoadError{SchemaID: src.ID, Err: err}
		}
		r.schemas = append(r.schemas, s)
		r.byID[s.ID] = s
	}
	for _, s := range r.schemas {
		if _, taken := r.byEncoded[s.EncodedID()]; !taken {
			r.byEncoded[s.EncodedID()] = s
		}
	}
	def, ok := r.byID[defaultID]
	if !ok {
		return nil, fmt.Errorf("the default identity schema %q is not configured", defaultID)
	}
	r.def = def
	return r, nil
}

// Get returns the schema with the given id, or whose id encodes to the given
// base64url string (no padding).
func (r *Registry) Get(id string) (*Schema, bool) {
	if s, ok := r.byID[id]; ok {
		return s, true
	}
	s, ok := r.byEncoded[id]
	return s, ok
}

// Default returns the default schema.
func (r *Registry) Default() *Schema { return r.def }

// List returns the schemas in configuration order.
func (r *Registry) List() []*Schema { return slices.Clone(r.schemas) }

func load(f *fetcher, src Source) (*Schema, error) {
	raw, loc, err := f.fetchSource(src)
	if err != nil {
		return nil, fmt.Errorf("could not be loaded: %w", err)
	}
	return compile(src, raw, loc, f)
}

// compile builds a Schema from a document. loc is the base URL used to
// resolve relative references.
func compile(src Source, raw []byte, loc string, f *fetcher) (*Schema, error) {
	if err := jsonpos.Check(raw); err != nil {
		return nil, fmt.Errorf("is not valid JSON (%s): %v", describeLocation(src.URL), err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	tree, err := parseNode(raw)
	if err != nil {
		return nil, fmt.Errorf("is not valid JSON: %v", err)
	}
	if !tree.isObject() {
		return nil, errors.New("is not a JSON object")
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	c.UseLoader(f)
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("is not a valid JSON Schema: %v", err)
	}
	compiled, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("is not a valid JSON Schema: %s", compileErrorText(err, loc))
	}

	w := &walker{root: tree}
	traits := w.lookup(tree, "properties").get("traits")
	if traits == nil {
		return nil, errors.New("has no properties.traits")
	}
	if !traits.isObject() {
		return nil, errors.New("properties.traits is not an object schema")
	}
	if len(w.properties(traits)) == 0 {
		return nil, errors.New("properties.traits declares no properties")
	}
	rules, err := collectRules(w, traits)
	if err != nil {
		return nil, err
	}
	fields, paths := buildFormFields(w, traits)
	order := make(map[string]int, len(paths)+1)
	order[""] = -2
	order["traits"] = -1
	for i, p := range paths {
		if _, ok := order[p]; !ok {
			order[p] = i
		}
	}
	return &Schema{
		ID:       src.ID,
		URL:      src.URL,
		Raw:      json.RawMessage(raw),
		compiled: compiled,
		fields:   fields,
		rules:    rules,
		order:    order,
	}, nil
}

// compileErrorText renders a compilation failure on one line. Mentions of the
// internal location of in-memory documents are shortened to their fragment.
func compileErrorText(err error, loc string) string {
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			causes := causesFrom(ve)
			parts := make([]string, len(causes))
			for i, c := range causes {
				parts[i] = c.Pointer + ": " + c.Message
			}
			return strings.Join(parts, "; ")
		}
		return sve.Err.Error()
	}
	text := strings.ReplaceAll(err.Error(), "\n", " ")
	if strings.HasPrefix(loc, "mem://") {
		text = strings.ReplaceAll(text, loc, "")
	}
	return text
}

// Base64URL returns a base64:// location embedding doc, suitable for
// Source.URL (e.g. for tests or built-in schemas).
func Base64URL(doc []byte) string {
	return "base64://" + base64.StdEncoding.EncodeToString(doc)
}

// redactURL shortens a location for error messages; base64 payloads are not
// repeated.
func redactURL(u string) string {
	if strings.HasPrefix(strings.ToLower(u), "base64://") {
		return "base64://…"
	}
	if p, err := url.Parse(u); err == nil && p.User != nil {
		p.User = nil
		return p.String()
	}
	return u
}

// describeLocation names where a schema came from for an error message: the
// file path, the URL without credentials, or "inline base64".
func describeLocation(u string) string {
	switch lower := strings.ToLower(u); {
	case strings.HasPrefix(lower, "base64://"):
		return "inline base64 document"
	case strings.HasPrefix(lower, "file://"):
		if p, err := url.Parse(u); err == nil && p.Path != "" {
			return "file " + p.Path
		}
	case !strings.Contains(u, "://"):
		return "file " + u
	}
	return redactURL(u)
}

// Warnings lists problems of the loaded schemas that do not stop the server
// but that an operator will want to fix: a schema that marks no trait as a
// login identifier lets nobody sign in with a password or security key.
func (r *Registry) Warnings() []string {
	var out []string
	for _, s := range r.schemas {
		login := false
		for _, f := range s.ExtensionFields() {
			if f.PasswordIdentifier || f.WebAuthnIdentifier {
				login = true
			}
		}
		if !login {
			out = append(out, fmt.Sprintf(`identity schema %q marks no trait as a login identifier (add "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}} to one, such as the email); its identities cannot sign in with a password`, s.ID))
		}
	}
	return out
}

// memoryLocation is the base URL of schemas that do not come from a file or
// web location.
func memoryLocation(id string) string {
	return "mem://identity-schemas/" + EncodeID(id) + ".json"
}

func fileLocation(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}
