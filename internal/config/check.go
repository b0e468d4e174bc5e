package config

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error describes one problem with one configuration key. Load and Validate
// return one Error, or several joined with errors.Join.
type Error struct {
	Path    string // dotted key path, e.g. "serve.public.port" or "identity.schemas[0].url"
	Problem string // e.g. `must be an integer between 1 and 65535, got "abc"`
	Source  string // where the value came from ("file.yml", "env SERVE_PUBLIC_PORT"), if known
	unknown bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.unknown:
		fmt.Fprintf(&b, "unknown key %q", e.Path)
	case e.Path == "":
		b.WriteString(e.Problem)
	default:
		b.WriteString(e.Path)
		b.WriteString(": ")
		b.WriteString(e.Problem)
	}
	if e.Source != "" {
		b.WriteString(" (from ")
		b.WriteString(e.Source)
		b.WriteString(")")
	}
	return b.String()
}

// checker validates a generic document tree against the key tree and
// returns it normalised: integers as int64, numbers as float64, durations as
// int64 nanoseconds, byte sizes as uint64 bytes, maps as map[string]any,
// null values and keys tolerated by open objects removed.
type checker struct {
	errs     []*Error
	sources  map[string]string // path → where its value came from
	defaults bool              // checking the defaults layer: required keys are not checked
}

func (c *checker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, &Error{Path: path, Problem: fmt.Sprintf(format, args...), Source: c.sourceOf(path)})
}

func (c *checker) unknownKey(path string) {
	c.errs = append(c.errs, &Error{Path: path, unknown: true, Source: c.sourceOf(path)})
}

// sourceOf returns the source of path or of its nearest ancestor.
func (c *checker) sourceOf(path string) string {
	for p := path; p != ""; p = parentPath(p) {
		if s, ok := c.sources[p]; ok {
			return s
		}
	}
	return ""
}

func (c *checker) fromEnv(path string) bool {
	return strings.HasPrefix(c.sourceOf(path), "env ")
}

func (c *checker) objectHint(path string) string {
	if c.fromEnv(path) {
		return " (use a JSON object)"
	}
	return ""
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// got renders a value for an error message.
func got(n *node, v any) string {
	if n != nil && (n.sensitive || n.elem != nil && n.elem.sensitive) {
		// Describe the type only: the value may be a secret.
		switch v.(type) {
		case nil:
			return "null"
		case string:
			return "a string"
		case bool:
			return "a boolean"
		case []any:
			return "a list"
		case map[string]any, map[any]any:
			return "an object"
		default:
			return "a number"
		}
	}
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "an object"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

func (c *checker) value(n *node, path string, v any) any {
	switch n.kind {
	case kindObject:
		return c.object(n, path, v)
	case kindMap:
		m, ok := asMap(v)
		if !ok {
			c.fail(path, "must be an object%s, got %s", c.objectHint(path), got(n, v))
			return nil
		}
		out := make(map[string]any, len(m))
		for _, k := range sortedKeys(m) {
			if m[k] == nil {
				continue
			}
			if nv := c.value(n.elem, joinPath(path, k), m[k]); nv != nil {
				out[k] = nv
			}
		}
		return out
	case kindArray:
		return c.array(n, path, v)
	case kindTagged:
		return c.tagged(n, path, v)
	case kindFreeObject:
		m, ok := asMap(v)
		if !ok {
			c.fail(path, "must be an object, got %s", got(n, v))
			return nil
		}
		return plain(m)
	case kindString:
		return c.str(n, path, v)
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			c.fail(path, "must be true or false, got %s", got(n, v))
			return nil
		}
		return b
	case kindInt:
		return c.integer(n, path, v)
	case kindNumber:
		return c.number(n, path, v)
	case kindDuration:
		s, ok := v.(string)
		var d time.Duration
		var err error
		if ok {
			d, err = time.ParseDuration(strings.TrimSpace(s))
		}
		if !ok || err != nil || d < 0 {
			c.fail(path, `must be a duration such as "1h", "30m" or "15s", got %s`, got(n, v))
			return nil
		}
		return int64(d)
	case kindByteSize:
		var size uint64
		var err error
		switch x := v.(type) {
		case string:
			size, err = parseByteSize(x)
		default:
			var i int64
			var ok bool
			if i, ok = asInt(v); !ok || i < 0 {
				err = fmt.Errorf("not a size")
			}
			size = uint64(i)
		}
		if err != nil {
			c.fail(path, `must be a byte size such as "128MB" or "1GB", or a number of bytes, got %s`, got(n, v))
			return nil
		}
		return size
	}
	panic("config: unhandled node kind")
}

func (c *checker) object(n *node, path string, v any) any {
	m, ok := asMap(v)
	if !ok {
		c.fail(path, "must be an object%s, got %s", c.objectHint(path), got(n, v))
		return nil
	}
	out := make(map[string]any, len(m))
	for _, k := range sortedKeys(m) {
		child := n.child(k)
		if child == nil {
			if !n.open {
				c.unknownKey(joinPath(path, k))
			}
			continue
		}
		if m[k] == nil {
			continue
		}
		if nv := c.value(child, joinPath(path, k), m[k]); nv != nil {
			out[k] = nv
		}
	}
	for _, r := range n.required {
		if c.defaults {
			break
		}
		if _, present := m[r]; !present || m[r] == nil {
			c.fail(joinPath(path, r), "is required")
		}
	}
	return out
}

func (c *checker) array(n *node, path string, v any) any {
	list, ok := v.([]any)
	if !ok {
		hint := ""
		if c.fromEnv(path) {
			hint = " (use a JSON array or comma-separated values)"
			if !isScalar(n.elem) {
				hint = " (use a JSON array)"
			}
		}
		c.fail(path, "must be a list%s, got %s", hint, got(n, v))
		return nil
	}
	out := make([]any, 0, len(list))
	for i, item := range list {
		if item == nil {
			c.fail(indexPath(path, i), "must not be null")
			continue
		}
		nv := c.value(n.elem, indexPath(path, i), item)
		if nv == nil {
			continue
		}
		if n.unique {
			for j, prev := range out {
				if reflect.DeepEqual(prev, nv) {
					c.fail(indexPath(path, i), "repeats entry [%d]; entries must be unique", j)
				}
			}
		}
		out = append(out, nv)
	}
	if len(list) < n.minItems {
		c.fail(path, "must have at least %d %s", n.minItems, plural(n.minItems, "entry", "entries"))
	}
	return out
}

func plural(k int, one, many string) string {
	if k == 1 {
		return one
	}
	return many
}

func (c *checker) tagged(n *node, path string, v any) any {
	m, ok := asMap(v)
	if !ok {
		c.fail(path, "must be an object, got %s", got(n, v))
		return nil
	}
	allowed := make([]string, len(n.variants))
	for i, vr := range n.variants {
		allowed[i] = vr.value
	}
	tag, present := m[n.tag]
	if !present || tag == nil {
		c.fail(joinPath(path, n.tag), "is required (one of %s)", quoteList(allowed))
		return nil
	}
	s, _ := tag.(string)
	for _, vr := range n.variants {
		if vr.value == s {
			return c.object(vr.node, path, m)
		}
	}
	c.fail(joinPath(path, n.tag), "must be one of %s here, got %s", quoteList(allowed), got(nil, tag))
	return nil
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func (c *checker) str(n *node, path string, v any) any {
	s, ok := v.(string)
	if !ok {
		if len(n.enum) > 0 {
			c.fail(path, "must be one of %s, got %s", quoteList(n.enum), got(n, v))
		} else {
			c.fail(path, "must be a string, got %s (quote the value)", got(n, v))
		}
		return nil
	}
	if len(n.enum) > 0 {
		for _, e := range n.enum {
			if s == e {
				return s
			}
		}
		c.fail(path, "must be one of %s, got %s", quoteList(n.enum), got(n, v))
		return nil
	}
	runes := utf8.RuneCountInString(s)
	switch {
	case n.minLen > 0 && n.minLen == n.maxLen && runes != n.minLen:
		c.fail(path, "must be exactly %d characters long, got %d", n.minLen, runes)
		return nil
	case n.minLen > 0 && runes < n.minLen:
		if n.minLen == 1 {
			c.fail(path, "must not be empty")
		} else {
			c.fail(path, "must be at least %d characters long, got %d", n.minLen, runes)
		}
		return nil
	case n.maxLen > 0 && runes > n.maxLen:
		c.fail(path, "must be at most %d characters long, got %d", n.maxLen, runes)
		return nil
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		c.fail(path, "%s, got %s", n.patternMsg, got(n, v))
		return nil
	}
	if problem := checkFormat(n.format, s); problem != "" {
		c.fail(path, "%s, got %s", problem, got(n, v))
		return nil
	}
	return s
}

// checkFormat returns a problem description, or "" when s has the format.
func checkFormat(f format, s string) string {
	switch f {
	case formatURI:
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return "must be an absolute URL"
		}
	case formatURIRef:
		if _, err := url.Parse(s); err != nil {
			return "must be a valid URL"
		}
	case formatEmail:
		a, err := mail.ParseAddress(s)
		if err != nil || a.Address != s {
			return "must be an e-mail address"
		}
	}
	return ""
}

func rangeText(n *node, what string) string {
	switch {
	case n.min != nil && n.max != nil:
		return fmt.Sprintf("must be %s between %s and %s", what, fnum(*n.min), fnum(*n.max))
	case n.min != nil:
		return fmt.Sprintf("must be %s of at least %s", what, fnum(*n.min))
	case n.max != nil:
		return fmt.Sprintf("must be %s of at most %s", what, fnum(*n.max))
	}
	return "must be " + what
}

func fnum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func inRange(n *node, f float64) bool {
	return (n.min == nil || f >= *n.min) && (n.max == nil || f <= *n.max)
}

func (c *checker) integer(n *node, path string, v any) any {
	i, ok := asInt(v)
	if !ok || !inRange(n, float64(i)) {
		c.fail(path, "%s, got %s", rangeText(n, "an integer"), got(n, v))
		return nil
	}
	return i
}

func (c *checker) number(n *node, path string, v any) any {
	var f float64
	ok := true
	switch x := v.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		f, err = x.Float64()
		ok = err == nil
	default:
		var i int64
		i, ok = asInt(v)
		f = float64(i)
	}
	if !ok || !inRange(n, f) {
		c.fail(path, "%s, got %s", rangeText(n, "a number"), got(n, v))
		return nil
	}
	return f
}

// asInt accepts the integer representations YAML and JSON decoders produce.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, false
		}
		return int64(x), true
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	}
	return 0, false
}

// asMap accepts the map types YAML decoders produce. Keys that are not
// strings are rendered with fmt so they surface as unknown keys.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out, true
	}
	return nil, false
}

// plain converts nested YAML maps into map[string]any so the tree can be
// encoded as JSON.
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = plain(val)
		}
		return out
	case map[any]any:
		m, _ := asMap(x)
		return plain(m)
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = plain(val)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
