package config

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Environment overrides follow Kratos: the variable of a key is its path
// upper-cased with ".", "-" and "_" all written as "_" (serve.public.port →
// SERVE_PUBLIC_PORT, sqa-opt-out → SQA_OPT_OUT). Because that mapping is
// ambiguous, the variable name of every key in the key tree is computed and
// looked up; variable names are never parsed back into paths, and variables
// that name no key are ignored.
//
// Values: scalars as text (booleans and integers are parsed); lists as a JSON
// array or a comma-separated string; objects and lists of objects as JSON.
// Objects at depth two or more (SERVE_PUBLIC, COURIER_SMTP_HEADERS, …) can be
// set as a whole; their JSON is merged into what the files set, and variables
// of keys inside them win. Top-level objects (SERVE, LOG, SESSION, …) are not
// looked up, as such short names are too likely to mean something else.

// EnvName returns the environment variable that overrides the dotted key
// path, e.g. "selfservice.flows.login.lifespan" →
// "SELFSERVICE_FLOWS_LOGIN_LIFESPAN".
func EnvName(path string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))
}

// envKey is one key that can be set from the environment.
type envKey struct {
	path string
	node *node
}

// envKeys lists every key that can be set from the environment, parents
// before their children.
func envKeys() []envKey {
	var out []envKey
	var walk func(n *node, path string, depth int)
	walk = func(n *node, path string, depth int) {
		if n.kind != kindObject {
			out = append(out, envKey{path, n})
			return
		}
		if depth >= 2 {
			out = append(out, envKey{path, n})
		}
		for _, f := range n.fields {
			walk(f.node, joinPath(path, f.name), depth+1)
		}
	}
	walk(schema, "", 0)
	return out
}

// applyEnv sets, in tree, every key whose variable lookupEnv knows. Values
// that cannot be parsed are stored as the raw text so that validation reports
// them, naming the key and (through sources) the variable.
func applyEnv(tree map[string]any, sources map[string]string, lookupEnv func(string) (string, bool)) {
	for _, k := range envKeys() {
		name := EnvName(k.path)
		raw, ok := lookupEnv(name)
		if !ok {
			continue
		}
		v := parseEnvValue(k.node, raw)
		setPath(tree, strings.Split(k.path, "."), v)
		recordSources(sources, k.path, v, "env "+name)
	}
}

func parseEnvValue(n *node, raw string) any {
	switch n.kind {
	case kindBool:
		if b, err := strconv.ParseBool(strings.TrimSpace(raw)); err == nil {
			return b
		}
	case kindInt:
		if i, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64); err == nil {
			return i
		}
	case kindNumber:
		if f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64); err == nil {
			return f
		}
	case kindArray:
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "[") {
			var list []any
			if err := json.Unmarshal([]byte(trimmed), &list); err == nil {
				return list
			}
			return raw
		}
		if !isScalar(n.elem) {
			return raw // must be JSON
		}
		list := []any{}
		for _, part := range strings.Split(raw, ",") {
			if part = strings.TrimSpace(part); part != "" {
				list = append(list, parseEnvValue(n.elem, part))
			}
		}
		return list
	case kindObject, kindMap, kindTagged, kindFreeObject:
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err == nil && m != nil {
			return m
		}
	}
	return raw
}

func isScalar(n *node) bool {
	switch n.kind {
	case kindString, kindBool, kindInt, kindNumber, kindDuration, kindByteSize:
		return true
	}
	return false
}

// setPath stores v at path, creating objects on the way. An object value is
// merged into an object already there.
func setPath(tree map[string]any, path []string, v any) {
	m := tree
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	last := path[len(path)-1]
	if existing, ok := m[last].(map[string]any); ok {
		if vm, ok := v.(map[string]any); ok {
			deepMerge(existing, vm)
			return
		}
	}
	m[last] = v
}
