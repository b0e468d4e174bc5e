package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSchemaMatchesStruct walks the key tree and the Config struct together:
// every key must have a field with the same JSON name and a compatible type,
// and every field (except Hoplite's derived ones) must have a key.
func TestSchemaMatchesStruct(t *testing.T) {
	checkNode(t, schema, reflect.TypeOf(Config{}), "", false)
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	rawType      = reflect.TypeOf(json.RawMessage(nil))
)

// checkNode checks n against typ. In a tagged object the struct holds the
// union of the variants' keys, so partial skips the check that every field
// has a key.
func checkNode(t *testing.T, n *node, typ reflect.Type, path string, partial bool) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch n.kind {
	case kindObject:
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s: object key, but %s is not a struct", path, typ)
			return
		}
		fields := jsonFields(typ)
		for _, f := range n.fields {
			sf, ok := fields[f.name]
			if !ok {
				if path == "serve.admin" && f.name == "api_keys" {
					continue // stored as APIKeyHashes
				}
				t.Errorf("%s: no field of %s for key %q", path, typ, f.name)
				continue
			}
			delete(fields, f.name)
			checkNode(t, f.node, sf.Type, joinPath(path, f.name), partial)
		}
		for name := range fields {
			if partial {
				break
			}
			if name == "-" || (path == "" && name == "dev") {
				continue
			}
			t.Errorf("%s: field %q of %s has no key", path, name, typ)
		}
	case kindTagged:
		// The struct holds the union of the variants' keys.
		fields := jsonFields(typ)
		for _, v := range n.variants {
			for _, f := range v.node.fields {
				sf, ok := fields[f.name]
				if !ok {
					t.Errorf("%s: no field for key %q of variant %q", path, f.name, v.value)
					continue
				}
				checkNode(t, f.node, sf.Type, joinPath(path, f.name), true)
			}
		}
	case kindArray:
		if typ.Kind() != reflect.Slice {
			t.Errorf("%s: list key, but %s is not a slice", path, typ)
			return
		}
		checkNode(t, n.elem, typ.Elem(), path+"[]", partial)
	case kindMap:
		if typ.Kind() != reflect.Map {
			t.Errorf("%s: map key, but %s is not a map", path, typ)
			return
		}
		checkNode(t, n.elem, typ.Elem(), path+".*", partial)
	case kindFreeObject:
		if typ != rawType {
			t.Errorf("%s: free object should be json.RawMessage, is %s", path, typ)
		}
	case kindString:
		wantKind(t, path, typ, reflect.String)
	case kindBool:
		wantKind(t, path, typ, reflect.Bool)
	case kindInt:
		wantKind(t, path, typ, reflect.Int, reflect.Int64, reflect.Uint8, reflect.Uint32)
	case kindNumber:
		wantKind(t, path, typ, reflect.Float64)
	case kindDuration:
		if typ != durationType {
			t.Errorf("%s: duration key, but field is %s", path, typ)
		}
	case kindByteSize:
		wantKind(t, path, typ, reflect.Uint64)
	}
}

func wantKind(t *testing.T, path string, typ reflect.Type, kinds ...reflect.Kind) {
	t.Helper()
	for _, k := range kinds {
		if typ.Kind() == k {
			return
		}
	}
	t.Errorf("%s: field type %s does not fit", path, typ)
}

func jsonFields(typ reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = f
	}
	return out
}

// TestHookPositionsAreAllInTheTree makes sure every hook list of Config is
// described by the key tree and by hookPositions.
func TestHookPositionsAreAllInTheTree(t *testing.T) {
	lists := (&Config{}).hookLists()
	if len(lists) != len(hookPositions) {
		t.Errorf("hookLists has %d entries, hookPositions %d", len(lists), len(hookPositions))
	}
	for _, hl := range lists {
		if _, ok := hookPositions[hl.path]; !ok {
			t.Errorf("%s is not in hookPositions", hl.path)
		}
		n := schema
		for _, seg := range strings.Split(hl.path, ".") {
			if n = n.child(seg); n == nil {
				t.Fatalf("%s is not in the key tree", hl.path)
			}
		}
		if n.kind != kindArray || n.elem.kind != kindTagged {
			t.Errorf("%s is not a hook list in the key tree", hl.path)
		}
	}
}

// TestImplementedPrefixesExist keeps the implemented table honest.
func TestImplementedPrefixesExist(t *testing.T) {
	for _, p := range implemented {
		n := schema
		for _, seg := range strings.Split(p, ".") {
			if n = n.child(seg); n == nil {
				t.Errorf("implemented prefix %q is not a key", p)
				break
			}
		}
	}
}
