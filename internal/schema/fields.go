package schema

import "slices"

// FormField describes one HTML input derived from a leaf of properties.traits.
type FormField struct {
	// Name is the form field name, e.g. "traits.email" or "traits.name.first".
	Name string
	// Type is the HTML input type: "text", "number", "checkbox", "email",
	// "datetime-local", "date" or "url".
	Type string
	// JSONType is the JSON Schema type declared for the field ("string",
	// "number", "integer", "boolean" or "" when undeclared). Form decoders
	// use it to turn submitted strings into JSON values.
	JSONType string
	// Format is the JSON Schema "format", if any.
	Format string
	// Pattern is the JSON Schema "pattern", if any.
	Pattern string
	// Required reports whether the field and all its enclosing objects are
	// listed in their parent's "required".
	Required bool
	// Title is the JSON Schema "title", used as the node label (message 1070002).
	Title string
	// Disabled is set by the custom keyword "disableFormField": true.
	Disabled bool
}

// FormFields lists one entry per leaf of properties.traits in the schema's
// declared key order, descending into nested objects (names joined with ".")
// and following local references. Arrays and objects without declared
// properties have no form representation and are not listed.
func (s *Schema) FormFields() []FormField {
	return slices.Clone(s.fields)
}

// buildFormFields returns the form fields and every declared trait path
// (leaves, objects and arrays) in schema order.
func buildFormFields(w *walker, traits *node) ([]FormField, []string) {
	c := &fieldCollector{w: w}
	c.collect(traits, "traits", true, 0)
	return c.fields, c.paths
}

type fieldCollector struct {
	w      *walker
	fields []FormField
	paths  []string
	active recursionGuard
}

func (c *fieldCollector) collect(obj *node, prefix string, parentRequired bool, depth int) {
	if depth > maxDepth || !c.active.enter(c.w, obj) {
		return
	}
	defer c.active.leave(c.w, obj)
	w, out := c.w, &c.fields
	req := w.required(obj)
	for _, p := range w.properties(obj) {
		name := prefix + "." + p.name
		c.paths = append(c.paths, name)
		required := parentRequired && req[p.name]
		child := p.n
		if child == nil || child.kind == kindBool {
			if child != nil && !child.b {
				continue // the "false" schema forbids the property
			}
			*out = append(*out, FormField{Name: name, Type: "text", Required: required})
			continue
		}
		if !child.isObject() {
			continue
		}
		t := w.jsonType(child)
		hasProps := len(w.properties(child)) > 0
		switch {
		case t == "object" || (t == "" && hasProps):
			if hasProps {
				c.collect(child, name, required, depth+1)
			}
			continue
		case t == "array":
			continue
		}
		format := w.stringKeyword(child, "format")
		*out = append(*out, FormField{
			Name:     name,
			Type:     inputType(t, format),
			JSONType: t,
			Format:   format,
			Pattern:  w.stringKeyword(child, "pattern"),
			Required: required,
			Title:    w.stringKeyword(child, "title"),
			Disabled: w.boolKeyword(child, "disableFormField"),
		})
	}
}

func inputType(jsonType, format string) string {
	switch format {
	case "email":
		return "email"
	case "date-time":
		return "datetime-local"
	case "date":
		return "date"
	case "uri":
		return "url"
	}
	switch jsonType {
	case "number", "integer":
		return "number"
	case "boolean":
		return "checkbox"
	}
	return "text"
}
