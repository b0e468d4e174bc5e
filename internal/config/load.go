package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/hoplite-id/hoplite/internal/jsonpos"
)

// Option adjusts Load and LoadBytes.
type Option func(*loadOptions)

type loadOptions struct {
	dataDir  string
	hostname func() (string, error)
}

// WithDataDir sets the directory of the dev-mode SQLite database (see
// DevDSN). Without it the current working directory is used.
func WithDataDir(dir string) Option { return func(o *loadOptions) { o.dataDir = dir } }

// WithHostname replaces os.Hostname in the base URL guess (for tests).
func WithHostname(f func() (string, error)) Option { return func(o *loadOptions) { o.hostname = f } }

// Dev-mode defaults, applied when dev is true and the key is absent from
// every file and from the environment.
const (
	// DevIdentitySchemaURL names the built-in identity schema; the schema
	// registry resolves it. Dev default of identity.schemas:
	// [{id: default, url: hoplite://default}].
	DevIdentitySchemaURL = "hoplite://default"
	// DevDefaultBrowserReturnURL is the dev default of
	// selfservice.default_browser_return_url when the built-in UI is off
	// (where the reference self-service UI runs). With the built-in UI on,
	// the dev default is its home page.
	DevDefaultBrowserReturnURL = "http://127.0.0.1:4455/"
	// devReturnURLPlaceholder stands for the dev default return URL until
	// finishUI knows whether the built-in UI is on.
	devReturnURLPlaceholder = "hoplite://default-return-url"
)

// DevDSN is the dev default of dsn: a SQLite database file hoplite.sqlite in
// dataDir (made absolute; empty means the working directory).
func DevDSN(dataDir string) string {
	if dataDir == "" {
		dataDir = "."
	}
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(dataDir, "hoplite.sqlite")) + "?_fk=true"
}

type document struct {
	name string
	data []byte
}

// Load builds the effective configuration: defaults, then the files in order
// (a later file overrides an earlier one key by key; objects are merged
// deeply, lists and scalars replaced), then environment overrides, which win
// over files. lookupEnv is os.LookupEnv in production; nil disables
// environment overrides. dev is the --dev flag (the dev key, from a file or
// the DEV variable, also turns dev mode on). Files are YAML; JSON is YAML.
//
// The result has passed Validate. Errors name the key path, the problem and,
// when known, the file or environment variable the value came from.
func Load(files []string, lookupEnv func(string) (string, bool), dev bool, opts ...Option) (*Config, error) {
	docs := make([]document, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("config: reading %s: %w", f, err)
		}
		docs = append(docs, document{name: f, data: b})
	}
	return load(docs, lookupEnv, dev, opts)
}

// LoadBytes is Load for in-memory documents; errors call them
// "document 1", "document 2", ….
func LoadBytes(docs [][]byte, lookupEnv func(string) (string, bool), dev bool, opts ...Option) (*Config, error) {
	ds := make([]document, len(docs))
	for i, d := range docs {
		ds[i] = document{name: "document " + strconv.Itoa(i+1), data: d}
	}
	return load(ds, lookupEnv, dev, opts)
}

func load(docs []document, lookupEnv func(string) (string, bool), dev bool, opts []Option) (*Config, error) {
	o := loadOptions{hostname: os.Hostname}
	for _, opt := range opts {
		opt(&o)
	}

	// Files, then the environment, into one tree of what the operator set.
	user := map[string]any{}
	sources := map[string]string{}
	for _, d := range docs {
		tree, err := parseDocument(d.data)
		if err != nil {
			return nil, fmt.Errorf("config: parsing %s: %w", d.name, err)
		}
		recordSources(sources, "", tree, d.name)
		deepMerge(user, tree)
	}
	if lookupEnv != nil {
		applyEnv(user, sources, lookupEnv)
	}

	c := &checker{sources: sources}
	normalized, _ := c.value(schema, "", user).(map[string]any)
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	if on, _ := normalized["dev"].(bool); on {
		dev = true
	}

	unsupported := collectUnsupported(normalized)

	full := defaultTree(dev, len(docs) == 0, o.dataDir)
	deepMerge(full, normalized)
	apiKeys := takeAPIKeys(full)

	raw, err := json.Marshal(full)
	if err != nil {
		return nil, fmt.Errorf("config: internal error: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	cfg := &Config{}
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("config: internal error: key tree and Config disagree: %w", err)
	}
	cfg.Dev = dev
	cfg.hostname = o.hostname
	cfg.unsupported = unsupported

	var errs []*Error
	for i, k := range apiKeys {
		path := indexPath("serve.admin.api_keys", i)
		h, plaintext, err := parseAPIKey(k)
		if err != nil {
			errs = append(errs, &Error{Path: path, Problem: err.Error(), Source: c.sourceOf(path)})
			continue
		}
		if plaintext {
			cfg.warnf("%s: a plaintext API key is configured; put its SHA-256 hash there instead (%s<hex>)", path, apiKeyHashPrefix)
		}
		cfg.Serve.Admin.APIKeyHashes = append(cfg.Serve.Admin.APIKeyHashes, h)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}

	cfg.finish()
	if err := cfg.Validate(); err != nil {
		return nil, c.withSources(err)
	}
	return cfg, nil
}

// finish applies the defaults that depend on other values and records
// warnings.
func (c *Config) finish() {
	if c.Hashers.Bcrypt.Cost < minProductionBcryptCost && !c.Dev {
		c.warnf("hashers.bcrypt.cost: %d is below %d and is raised to %d outside dev mode", c.Hashers.Bcrypt.Cost, minProductionBcryptCost, minProductionBcryptCost)
		c.Hashers.Bcrypt.Cost = minProductionBcryptCost
	}
	if c.Hashers.Argon2.Parallelism == 0 {
		c.Hashers.Argon2.Parallelism = uint8(min(2*runtime.NumCPU(), 255))
	}
	c.finishUI()
	// An unset secrets.default stays empty here: internal/app decides where
	// generated secrets live (next to a SQLite database, or per process).
	for _, hl := range c.hookLists() {
		for i, h := range hl.hooks {
			if h.Config == nil || h.Config.Body == "" || hasTemplateScheme(h.Config.Body) {
				continue
			}
			c.warnf("%s.config.body: a bare file path is deprecated; write it as a URI such as file://%s", indexPath(hl.path, i), h.Config.Body)
		}
	}
}

const minProductionBcryptCost = 12

func hasTemplateScheme(s string) bool {
	for _, p := range []string{"http://", "https://", "file://", "base64://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func (c *Config) warnf(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

func joinErrors(es []*Error) error {
	if len(es) == 1 {
		return es[0]
	}
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// parseDocument parses one YAML (or JSON) document into a tree of
// map[string]any, []any and scalars. An empty document is an empty tree.
//
// Syntax errors name the line and column where the parser gave up: a JSON
// document (one that starts with "{") is checked by the JSON decoder first,
// whose messages are the clearer for JSON.
func parseDocument(data []byte) (map[string]any, error) {
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		if err := jsonpos.Check(data); err != nil {
			return nil, err
		}
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, yamlError(err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := asMap(v)
	if !ok {
		return nil, errors.New("the document must be a mapping of keys to values")
	}
	return plain(m).(map[string]any), nil
}

// deepMerge merges src into dst: objects are merged key by key, anything
// else replaces what dst had. Null values in src are ignored.
func deepMerge(dst, src map[string]any) {
	for k, sv := range src {
		if sv == nil {
			continue
		}
		if dm, ok := dst[k].(map[string]any); ok {
			if sm, ok := sv.(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
}

// recordSources notes, for every key path in v, that source set it.
func recordSources(sources map[string]string, prefix string, v any, source string) {
	if prefix != "" {
		sources[prefix] = source
	}
	if m, ok := v.(map[string]any); ok {
		for k, val := range m {
			recordSources(sources, joinPath(prefix, k), val, source)
		}
	}
}

// defaultTree returns the defaults layer: every default of the key tree plus,
// in dev mode, the dev defaults.
//
// With no configuration file at all, dev mode also turns recovery and
// verification on: the built-in schema names the email as the address of
// both, and the log sender shows the mails. A configuration file keeps
// Kratos' defaults (both off).
func defaultTree(dev, noFiles bool, dataDir string) map[string]any {
	tree := defaultsOf(schema)
	if dev && noFiles {
		flows := tree["selfservice"].(map[string]any)["flows"].(map[string]any)
		flows["recovery"].(map[string]any)["enabled"] = true
		flows["verification"].(map[string]any)["enabled"] = true
		// A person trying Hoplite out is signed in right after signing up.
		setPath(tree, []string{"selfservice", "flows", "registration", "after", "password", "hooks"},
			[]any{map[string]any{"hook": HookSession}})
	}
	if dev {
		tree["dsn"] = DevDSN(dataDir)
		tree["identity"].(map[string]any)["schemas"] = []any{map[string]any{"id": "default", "url": DevIdentitySchemaURL}}
		tree["selfservice"].(map[string]any)["default_browser_return_url"] = devReturnURLPlaceholder
		serve := tree["serve"].(map[string]any)
		serve["public"].(map[string]any)["host"] = devDefaultHost
		serve["admin"].(map[string]any)["host"] = devDefaultHost
	}
	c := &checker{defaults: true}
	out, _ := c.value(schema, "", tree).(map[string]any)
	if len(c.errs) > 0 {
		panic("config: invalid default: " + joinErrors(c.errs).Error())
	}
	return out
}

func defaultsOf(n *node) map[string]any {
	out := map[string]any{}
	for _, f := range n.fields {
		switch {
		case f.node.def != nil:
			out[f.name] = f.node.def
		case f.node.kind == kindObject:
			if sub := defaultsOf(f.node); len(sub) > 0 {
				out[f.name] = sub
			}
		}
	}
	return out
}

// takeAPIKeys removes serve.admin.api_keys from the tree and returns them.
func takeAPIKeys(tree map[string]any) []string {
	serve, _ := tree["serve"].(map[string]any)
	admin, _ := serve["admin"].(map[string]any)
	list, _ := admin["api_keys"].([]any)
	delete(admin, "api_keys")
	keys := make([]string, 0, len(list))
	for _, k := range list {
		keys = append(keys, k.(string))
	}
	return keys
}

// finishUI settles the built-in UI: on in dev mode unless ui.enabled says
// otherwise, off elsewhere unless ui.enabled is true. When it is on, every
// flow's ui_url still at Kratos' default (an outside page) points at the
// built-in page instead, and so does the dev default return URL; ui_urls a
// file sets keep their external UI.
func (c *Config) finishUI() {
	if c.UI.Enabled == nil {
		on := c.Dev
		c.UI.Enabled = &on
	}
	if c.UI.BasePath == "" {
		c.UI.BasePath = "/ui"
	}
	builtin := func(page string) string {
		u := *c.PublicBaseURL()
		u.Path = strings.TrimSuffix(u.Path, "/") + c.UI.BasePath + "/" + page
		return u.String()
	}
	ss := &c.Selfservice
	if ss.DefaultBrowserReturnURL == devReturnURLPlaceholder {
		ss.DefaultBrowserReturnURL = DevDefaultBrowserReturnURL
		if *c.UI.Enabled {
			ss.DefaultBrowserReturnURL = builtin("")
		}
	}
	if !*c.UI.Enabled {
		return
	}
	for _, u := range []struct {
		url  *string
		page string
	}{
		{&ss.Flows.Login.UIURL, "login"}, {&ss.Flows.Registration.UIURL, "registration"},
		{&ss.Flows.Settings.UIURL, "settings"}, {&ss.Flows.Recovery.UIURL, "recovery"},
		{&ss.Flows.Verification.UIURL, "verification"}, {&ss.Flows.Error.UIURL, "error"},
	} {
		if *u.url == fallbackUIBase+u.page {
			*u.url = builtin(u.page)
		}
	}
}

// yamlError renders a YAML parser error with the position of the problem
// (the parser's own message names the line where the enclosing block
// started, which is rarely where the mistake is).
func yamlError(err error) error {
	var le *yaml.LoadError
	if !errors.As(err, &le) || le.Mark.Line == 0 {
		return err
	}
	msg := fmt.Sprintf("line %d, column %d: %s", le.Mark.Line, le.Mark.Column, le.Message)
	if le.ContextMsg != "" && le.ContextMark.Line != 0 && le.ContextMark.Line != le.Mark.Line {
		msg += fmt.Sprintf(" (%s that starts at line %d)", le.ContextMsg, le.ContextMark.Line)
	}
	return errors.New(msg)
}

// withSources names, in each of Validate's errors, the file or variable the
// key came from.
func (c *checker) withSources(err error) error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var ce *Error
		if errors.As(e, &ce) && ce.Source == "" {
			ce.Source = c.sourceOf(ce.Path)
		}
	}
	return err
}
