package flow

import (
	"encoding/json"
	"strings"

	"github.com/hoplite-id/hoplite/internal/schema"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// TraitNodes renders one input per trait of the schema, in schema order, in
// the given group. values (the identity's traits, may be nil) pre-fill the
// inputs. Registration, the profile settings and social sign-up share it.
func TraitNodes(sc *schema.Schema, group string, values json.RawMessage) []ui.Node {
	var doc map[string]any
	if len(values) > 0 {
		_ = json.Unmarshal(values, &doc)
	}
	var out []ui.Node
	for _, f := range sc.FormFields() {
		var v any
		if doc != nil {
			v = lookup(doc, strings.Split(strings.TrimPrefix(f.Name, "traits."), "."))
		}
		opts := []ui.InputOption{ui.Disabled(f.Disabled)}
		if f.Required {
			opts = append(opts, ui.Required())
		}
		if f.Pattern != "" {
			opts = append(opts, ui.Pattern(f.Pattern))
		}
		if f.Title != "" {
			opts = append(opts, ui.WithLabel(ui.InfoNodeLabelGenerated(f.Title)))
		}
		out = append(out, ui.NewInput(f.Name, v, group, f.Type, opts...))
	}
	return out
}

func lookup(doc map[string]any, path []string) any {
	var cur any = doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	if _, isMap := cur.(map[string]any); isMap {
		return nil
	}
	return cur
}
