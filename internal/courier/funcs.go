package courier

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// funcs are the functions templates may call besides Go's built-ins. Kratos
// offers the sprig library; these are the sprig functions email templates
// commonly use, with sprig's names and argument order (the value the
// function works on comes last, so pipelines read `.X | default "y"`).
var funcs = map[string]any{
	"default":    dfault,
	"empty":      empty,
	"coalesce":   coalesce,
	"ternary":    ternary,
	"toString":   toString,
	"upper":      strings.ToUpper,
	"lower":      strings.ToLower,
	"title":      title,
	"trim":       strings.TrimSpace,
	"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
	"trimPrefix": func(prefix, s string) string { return strings.TrimPrefix(s, prefix) },
	"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
	"nospace":    func(s string) string { return strings.Join(strings.Fields(s), "") },
	"replace":    func(old, repl, s string) string { return strings.ReplaceAll(s, old, repl) },
	"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
	"hasPrefix":  func(prefix, s string) bool { return strings.HasPrefix(s, prefix) },
	"hasSuffix":  func(suffix, s string) bool { return strings.HasSuffix(s, suffix) },
	"repeat":     func(n int, s string) string { return strings.Repeat(s, max(n, 0)) },
	"substr":     substr,
	"trunc":      trunc,
	"quote":      func(v ...any) string { return joinMapped(v, func(s string) string { return strconv.Quote(s) }) },
	"squote":     func(v ...any) string { return joinMapped(v, func(s string) string { return "'" + s + "'" }) },
	"split":      split,
	"join":       join,
	"indent":     func(n int, s string) string { return indent(n, s) },
	"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
	"toJson":     func(v any) string { b, _ := json.Marshal(v); return string(b) },
	"toPrettyJson": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
	"b64enc":  func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"b64dec":  b64dec,
	"now":     time.Now,
	"date":    date,
	"list":    func(v ...any) []any { return v },
	"dict":    dict,
	"get":     func(m map[string]any, k string) any { return m[k] },
	"hasKey":  func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
	"keys":    keys,
	"initial": func(s string) string { r, _ := utf8.DecodeRuneInString(s); return string(r) },
}

// empty reports whether v is nil or the zero value of its type (sprig's
// notion of empty: "", 0, false, and empty maps, slices and arrays).
func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return rv.IsZero()
}

// dfault returns given when it is not empty, else d (sprig's "default").
func dfault(d any, given ...any) any {
	if len(given) == 0 || empty(given[0]) {
		return d
	}
	return given[0]
}

func coalesce(v ...any) any {
	for _, x := range v {
		if !empty(x) {
			return x
		}
	}
	return nil
}

func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func ternary(yes, no any, cond bool) any {
	if cond {
		return yes
	}
	return no
}

// title upper-cases the first letter of each word.
func title(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		if unicode.IsSpace(prev) || prev == '-' {
			b.WriteRune(unicode.ToTitle(r))
		} else {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

func substr(start, end int, s string) string {
	r := []rune(s)
	if start < 0 {
		start = 0
	}
	if end < 0 || end > len(r) {
		end = len(r)
	}
	if start > end {
		return ""
	}
	return string(r[start:end])
}

func trunc(n int, s string) string {
	r := []rune(s)
	switch {
	case n >= 0 && len(r) > n:
		return string(r[:n])
	case n < 0 && len(r) > -n:
		return string(r[len(r)+n:])
	}
	return s
}

func joinMapped(v []any, f func(string) string) string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		if x != nil {
			out = append(out, f(toString(x)))
		}
	}
	return strings.Join(out, " ")
}

func split(sep, s string) map[string]string {
	out := map[string]string{}
	for k, p := range strings.Split(s, sep) {
		out["_"+strconv.Itoa(k)] = p
	}
	return out
}

func join(sep string, v any) string {
	if v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return toString(v)
	}
	out := make([]string, 0, rv.Len())
	for k := 0; k < rv.Len(); k++ {
		if x := rv.Index(k).Interface(); x != nil {
			out = append(out, toString(x))
		}
	}
	return strings.Join(out, sep)
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", max(n, 0))
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func b64dec(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func date(layout string, v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	case string:
		t, _ = time.Parse(time.RFC3339Nano, x)
	case int64:
		t = time.Unix(x, 0)
	case int:
		t = time.Unix(int64(x), 0)
	case float64:
		t = time.Unix(int64(x), 0)
	default:
		t = time.Now()
	}
	return t.Format(layout)
}

func dict(v ...any) map[string]any {
	out := map[string]any{}
	for k := 0; k+1 < len(v); k += 2 {
		out[toString(v[k])] = v[k+1]
	}
	if len(v)%2 == 1 {
		out[toString(v[len(v)-1])] = ""
	}
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
