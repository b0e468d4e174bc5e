package schema

import (
	"net/url"
	"strings"
)

// maxRefChain bounds how many local $ref hops are followed from one schema
// position; maxDepth bounds how deep the property walkers descend. Both keep
// recursive schemas ("$ref": "#") from looping forever.
const (
	maxRefChain = 32
	maxDepth    = 32
)

// walker answers keyword questions about positions in a parsed schema
// document, following local references.
type walker struct {
	root *node
}

// resolveLocalRef resolves a document-local reference such as
// "#/definitions/name" or "#/$defs/name". Other references yield nil.
func (w *walker) resolveLocalRef(ref string) *node {
	if !strings.HasPrefix(ref, "#") {
		return nil
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil
	}
	return w.root.pointer(frag)
}

// chain returns n followed by the targets of its local $ref chain.
func (w *walker) chain(n *node) []*node {
	if !n.isObject() {
		if n == nil {
			return nil
		}
		return []*node{n}
	}
	out := []*node{n}
	cur := n
	for len(out) < maxRefChain {
		ref, ok := cur.get("$ref").stringValue()
		if !ok {
			break
		}
		next := w.resolveLocalRef(ref)
		if !next.isObject() {
			break
		}
		for _, seen := range out {
			if seen == next {
				return out
			}
		}
		out = append(out, next)
		cur = next
	}
	return out
}

// lookup returns the first value of keyword kw along the $ref chain of n.
func (w *walker) lookup(n *node, kw string) *node {
	for _, c := range w.chain(n) {
		if v := c.get(kw); v != nil {
			return v
		}
	}
	return nil
}

type namedNode struct {
	name string
	n    *node
}

// properties merges the "properties" of every schema along the $ref chain of
// n, keeping the first declaration of each name and the declared order.
func (w *walker) properties(n *node) []namedNode {
	var out []namedNode
	seen := map[string]bool{}
	for _, c := range w.chain(n) {
		props := c.get("properties")
		if !props.isObject() {
			continue
		}
		for i, k := range props.keys {
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, namedNode{k, props.vals[i]})
		}
	}
	return out
}

// required returns the union of the "required" lists along the $ref chain.
func (w *walker) required(n *node) map[string]bool {
	out := map[string]bool{}
	for _, c := range w.chain(n) {
		req := c.get("required")
		if req == nil || req.kind != kindArray {
			continue
		}
		for _, it := range req.items {
			if s, ok := it.stringValue(); ok {
				out[s] = true
			}
		}
	}
	return out
}

// jsonType returns the declared type of n ("" if none); for type arrays
// the first type other than "null" is used.
func (w *walker) jsonType(n *node) string {
	t := w.lookup(n, "type")
	if t == nil {
		return ""
	}
	if s, ok := t.stringValue(); ok {
		return s
	}
	if t.kind == kindArray {
		for _, it := range t.items {
			if s, ok := it.stringValue(); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

func (w *walker) stringKeyword(n *node, kw string) string {
	s, _ := w.lookup(n, kw).stringValue()
	return s
}

func (w *walker) boolKeyword(n *node, kw string) bool {
	v := w.lookup(n, kw)
	return v != nil && v.kind == kindBool && v.b
}

// recursionGuard stops walkers from descending into a schema that is
// already being walked further up (recursive definitions via $ref).
type recursionGuard map[*node]int

// enter marks the schemas along n's $ref chain as active. It reports false,
// marking nothing, if one of n's reference targets is already active.
func (g *recursionGuard) enter(w *walker, n *node) bool {
	if *g == nil {
		*g = recursionGuard{}
	}
	chain := w.chain(n)
	for _, c := range chain[min(1, len(chain)):] {
		if (*g)[c] > 0 {
			return false
		}
	}
	for _, c := range chain {
		(*g)[c]++
	}
	return true
}

func (g recursionGuard) leave(w *walker, n *node) {
	for _, c := range w.chain(n) {
		g[c]--
	}
}
