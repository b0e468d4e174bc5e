package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ExtensionKeyword is the schema keyword carrying Kratos-compatible
// identity metadata.
const ExtensionKeyword = "ory.sh/kratos"

// Address channels.
const (
	ViaEmail = "email"
	ViaPhone = "phone"
)

// Address is a verifiable or recovery address derived from traits.
type Address struct {
	Via   string // "email" or "phone"
	Value string // lower-cased and trimmed
}

// Extracted holds what the "ory.sh/kratos" extension derived from traits.
type Extracted struct {
	// PasswordIdentifiers are values flagged credentials.password.identifier
	// (lower-cased, trimmed, de-duplicated, in schema order).
	PasswordIdentifiers []string
	// WebAuthnIdentifiers are values flagged credentials.webauthn.identifier.
	WebAuthnIdentifiers []string
	// TOTPAccountName is the first value flagged credentials.totp.account_name.
	TOTPAccountName string
	// VerifiableAddresses are values flagged verification.via.
	VerifiableAddresses []Address
	// RecoveryAddresses are values flagged recovery.via.
	RecoveryAddresses []Address
}

// ProtectedEqual reports whether e and o carry the same credential
// identifiers and verifiable/recovery addresses (ignoring order). A settings
// change for which this is false touches protected traits.
func (e *Extracted) ProtectedEqual(o *Extracted) bool {
	if e == nil {
		e = &Extracted{}
	}
	if o == nil {
		o = &Extracted{}
	}
	return sameSet(e.PasswordIdentifiers, o.PasswordIdentifiers) &&
		sameSet(e.WebAuthnIdentifiers, o.WebAuthnIdentifiers) &&
		sameSet(e.VerifiableAddresses, o.VerifiableAddresses) &&
		sameSet(e.RecoveryAddresses, o.RecoveryAddresses)
}

func sameSet[T comparable](a, b []T) bool {
	set := make(map[T]bool, len(a))
	for _, v := range a {
		set[v] = true
	}
	other := make(map[T]bool, len(b))
	for _, v := range b {
		if !set[v] {
			return false
		}
		other[v] = true
	}
	return len(set) == len(other)
}

// FieldExtension is the extension configuration of one trait.
type FieldExtension struct {
	// Path is the dotted trait path, e.g. "traits.email". Items of arrays are
	// written "*" (any item) or as their index for positional item schemas,
	// e.g. "traits.emails.*".
	Path               string
	PasswordIdentifier bool
	WebAuthnIdentifier bool
	TOTPAccountName    bool
	VerificationVia    string // "", "email" or "phone"
	RecoveryVia        string // "" or "email"
}

// Protected reports whether changing the trait changes a credential
// identifier or a verifiable/recovery address.
func (f FieldExtension) Protected() bool {
	return f.PasswordIdentifier || f.WebAuthnIdentifier || f.VerificationVia != "" || f.RecoveryVia != ""
}

// ExtensionFields lists every trait position carrying the extension, in
// schema order.
func (s *Schema) ExtensionFields() []FieldExtension {
	out := make([]FieldExtension, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.ext
	}
	return out
}

// IdentifierFields lists the paths of traits that are credential identifiers
// (password, webauthn) or verification/recovery addresses.
func (s *Schema) IdentifierFields() []string {
	var out []string
	for _, r := range s.rules {
		if r.ext.Protected() {
			p := r.ext.Path
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// segment is one step of an instance path: an object member, any array
// item (index anyItem) or a specific array item.
type segment struct {
	key   string
	index int
}

const (
	memberSeg = -2
	anyItem   = -1
)

type instancePath []segment

func (p instancePath) String() string {
	var sb strings.Builder
	for i, s := range p {
		if i > 0 {
			sb.WriteByte('.')
		}
		switch s.index {
		case memberSeg:
			sb.WriteString(s.key)
		case anyItem:
			sb.WriteByte('*')
		default:
			sb.WriteString(strconv.Itoa(s.index))
		}
	}
	return sb.String()
}

func (p instancePath) with(s segment) instancePath {
	out := make(instancePath, len(p), len(p)+1)
	copy(out, p)
	return append(out, s)
}

// extRule binds an extension configuration to the instance positions it
// applies to.
type extRule struct {
	path instancePath
	ext  FieldExtension
}

// parseExtension checks and decodes one extension value.
func parseExtension(n *node) (FieldExtension, error) {
	var ext FieldExtension
	if !n.isObject() {
		return ext, fmt.Errorf("must be an object")
	}
	if err := knownKeys(n, "", "credentials", "verification", "recovery"); err != nil {
		return ext, err
	}
	if c := n.get("credentials"); c != nil {
		if !c.isObject() {
			return ext, fmt.Errorf("credentials must be an object")
		}
		if err := knownKeys(c, "credentials.", "password", "webauthn", "totp"); err != nil {
			return ext, err
		}
		var err error
		if ext.PasswordIdentifier, err = flag(c, "password", "identifier"); err != nil {
			return ext, err
		}
		if ext.WebAuthnIdentifier, err = flag(c, "webauthn", "identifier"); err != nil {
			return ext, err
		}
		if ext.TOTPAccountName, err = flag(c, "totp", "account_name"); err != nil {
			return ext, err
		}
	}
	var err error
	if ext.VerificationVia, err = via(n, "verification", ViaEmail, ViaPhone); err != nil {
		return ext, err
	}
	if ext.RecoveryVia, err = via(n, "recovery", ViaEmail); err != nil {
		return ext, err
	}
	return ext, nil
}

func flag(creds *node, method, key string) (bool, error) {
	m := creds.get(method)
	if m == nil {
		return false, nil
	}
	if !m.isObject() {
		return false, fmt.Errorf("credentials.%s must be an object", method)
	}
	if err := knownKeys(m, "credentials."+method+".", key); err != nil {
		return false, err
	}
	v := m.get(key)
	if v == nil {
		return false, nil
	}
	if v.kind != kindBool {
		return false, fmt.Errorf("credentials.%s.%s must be a boolean", method, key)
	}
	return v.b, nil
}

func via(n *node, section string, allowed ...string) (string, error) {
	sec := n.get(section)
	if sec == nil {
		return "", nil
	}
	if !sec.isObject() {
		return "", fmt.Errorf("%s must be an object", section)
	}
	if err := knownKeys(sec, section+".", "via"); err != nil {
		return "", err
	}
	v := sec.get("via")
	if v == nil {
		return "", nil
	}
	s, ok := v.stringValue()
	if !ok || !slices.Contains(allowed, s) {
		return "", fmt.Errorf("%s.via must be %s", section, quoteList(allowed, " or "))
	}
	return s, nil
}

// knownKeys rejects keywords the extension does not define: a misspelt
// "identifer" would otherwise leave a schema without a login identifier,
// noticed only at the first registration.
func knownKeys(n *node, prefix string, allowed ...string) error {
	for _, k := range n.keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("unknown keyword %q; %s", prefix+k, allowedText(prefix, allowed))
		}
	}
	return nil
}

func allowedText(prefix string, allowed []string) string {
	full := make([]string, len(allowed))
	for i, a := range allowed {
		full[i] = prefix + a
	}
	if len(full) == 1 {
		return "the only keyword here is " + strconv.Quote(full[0])
	}
	return "the keywords here are " + quoteList(full, ", ")
}

func quoteList(vals []string, sep string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, sep)
}

// extensionError reports an invalid "ory.sh/kratos" value.
type extensionError struct {
	location string // JSON pointer into the schema document
	err      error
}

func (e *extensionError) Error() string {
	return fmt.Sprintf("invalid %q extension at #%s: %v", ExtensionKeyword, e.location, e.err)
}

// collectRules walks the traits schema and records every extension,
// validating its value.
func collectRules(w *walker, traits *node) ([]extRule, error) {
	c := &ruleCollector{w: w}
	c.walk(traits, instancePath{{key: "traits", index: memberSeg}}, "/properties/traits", 0)
	return c.rules, c.err
}

type ruleCollector struct {
	w      *walker
	rules  []extRule
	err    error
	active recursionGuard
}

func (c *ruleCollector) walk(n *node, path instancePath, loc string, depth int) {
	if c.err != nil || depth > maxDepth || !n.isObject() || !c.active.enter(c.w, n) {
		return
	}
	defer c.active.leave(c.w, n)
	chain := c.w.chain(n)
	for i, sch := range chain {
		schLoc := loc
		if i > 0 {
			ref, _ := chain[i-1].get("$ref").stringValue()
			schLoc = strings.TrimPrefix(ref, "#")
		}
		if e := sch.get(ExtensionKeyword); e != nil {
			ext, err := parseExtension(e)
			if err != nil {
				c.err = &extensionError{location: schLoc + "/" + escapePointerToken(ExtensionKeyword), err: err}
				return
			}
			ext.Path = path.String()
			if !slices.ContainsFunc(c.rules, func(r extRule) bool { return r.ext == ext }) {
				c.rules = append(c.rules, extRule{path: path, ext: ext})
			}
		}
		if props := sch.get("properties"); props.isObject() {
			for j, k := range props.keys {
				c.walk(props.vals[j], path.with(segment{key: k, index: memberSeg}),
					schLoc+"/properties/"+escapePointerToken(k), depth+1)
			}
		}
		if items := sch.get("items"); items != nil {
			switch items.kind {
			case kindObject:
				c.walk(items, path.with(segment{index: anyItem}), schLoc+"/items", depth+1)
			case kindArray:
				for j, it := range items.items {
					c.walk(it, path.with(segment{index: j}), schLoc+"/items/"+strconv.Itoa(j), depth+1)
				}
			}
		}
		if prefix := sch.get("prefixItems"); prefix != nil && prefix.kind == kindArray {
			for j, it := range prefix.items {
				c.walk(it, path.with(segment{index: j}), schLoc+"/prefixItems/"+strconv.Itoa(j), depth+1)
			}
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			if arr := sch.get(kw); arr != nil && arr.kind == kindArray {
				for j, it := range arr.items {
					c.walk(it, path, schLoc+"/"+kw+"/"+strconv.Itoa(j), depth+1)
				}
			}
		}
		for _, kw := range []string{"then", "else"} {
			c.walk(sch.get(kw), path, schLoc+"/"+kw, depth+1)
		}
	}
}

// extract applies the rules to a validated instance document of the form
// {"traits": ...}.
func extract(rules []extRule, doc any) *Extracted {
	out := &Extracted{}
	seen := map[string]bool{}
	add := func(list *[]string, kind, v string) {
		k := kind + "\x00" + v
		if v == "" || seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, v)
	}
	addAddr := func(list *[]Address, kind string, a Address) {
		k := kind + "\x00" + a.Via + "\x00" + a.Value
		if a.Value == "" || seen[k] {
			return
		}
		seen[k] = true
		*list = append(*list, a)
	}
	for _, r := range rules {
		visit(doc, r.path, func(v any) {
			raw, ok := scalarString(v)
			if !ok {
				return
			}
			norm := strings.ToLower(strings.TrimSpace(raw))
			if r.ext.PasswordIdentifier {
				add(&out.PasswordIdentifiers, "password", norm)
			}
			if r.ext.WebAuthnIdentifier {
				add(&out.WebAuthnIdentifiers, "webauthn", norm)
			}
			if r.ext.TOTPAccountName && out.TOTPAccountName == "" {
				out.TOTPAccountName = raw
			}
			if r.ext.VerificationVia != "" {
				addAddr(&out.VerifiableAddresses, "verification", Address{Via: r.ext.VerificationVia, Value: norm})
			}
			if r.ext.RecoveryVia != "" {
				addAddr(&out.RecoveryAddresses, "recovery", Address{Via: r.ext.RecoveryVia, Value: norm})
			}
		})
	}
	return out
}

func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

func visit(v any, path instancePath, fn func(any)) {
	if len(path) == 0 {
		fn(v)
		return
	}
	s := path[0]
	switch s.index {
	case memberSeg:
		if obj, ok := v.(map[string]any); ok {
			if child, ok := obj[s.key]; ok {
				visit(child, path[1:], fn)
			}
		}
	case anyItem:
		if arr, ok := v.([]any); ok {
			for _, it := range arr {
				visit(it, path[1:], fn)
			}
		}
	default:
		if arr, ok := v.([]any); ok && s.index < len(arr) {
			visit(arr[s.index], path[1:], fn)
		}
	}
}
