package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ValidationError is returned by ValidateTraits when the traits do not
// satisfy the schema. Every leaf failure is one Cause.
type ValidationError struct {
	Causes []Cause
}

// Cause is one validation failure.
type Cause struct {
	// Pointer is a JSON pointer into the validated document
	// {"traits": ...}, e.g. "#/traits/email"; "#/" is the document itself.
	// For a missing property it names the missing property.
	Pointer string
	// Field is the form field name of Pointer, e.g. "traits.name.first";
	// "" for the document itself.
	Field string
	// Missing marks a failed "required" (message 4000002, context
	// {"property": Property}).
	Missing bool
	// Property is the name of the missing property when Missing.
	Property string
	// Message is the human-readable description of the failure. For missing
	// properties it reads "Property <name> is missing.".
	Message string
}

func (e *ValidationError) Error() string {
	if e == nil || len(e.Causes) == 0 {
		return "the identity traits are invalid"
	}
	var sb strings.Builder
	for i, c := range e.Causes {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(c.Pointer)
		sb.WriteString(": ")
		sb.WriteString(c.Message)
	}
	return sb.String()
}

// MissingMessage is the text of message 4000002 for property name.
func MissingMessage(name string) string {
	return fmt.Sprintf("Property %s is missing.", name)
}

// causesFrom expands a jsonschema error tree into leaf causes.
func causesFrom(err *jsonschema.ValidationError) []Cause {
	var out []Cause
	expand(err, &out)
	// De-duplicate (anyOf/oneOf branches can report the same leaf twice).
	uniq := out[:0]
	for _, c := range out {
		if !slices.Contains(uniq, c) {
			uniq = append(uniq, c)
		}
	}
	return uniq
}

func expand(e *jsonschema.ValidationError, out *[]Cause) {
	if e == nil {
		return
	}
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		if len(e.Causes) == 0 {
			*out = append(*out, newCause(loc, "is invalid"))
		}
		for _, c := range e.Causes {
			expand(c, out)
		}
		return
	case *kind.AnyOf:
		n := len(*out)
		for _, c := range e.Causes {
			expand(c, out)
		}
		if len(*out) == n {
			*out = append(*out, newCause(loc, "must be valid against at least one of the allowed schemas"))
		}
		return
	case *kind.OneOf:
		if len(k.Subschemas) > 0 {
			*out = append(*out, newCause(loc, "must be valid against exactly one of the allowed schemas, but several matched"))
			return
		}
		n := len(*out)
		for _, c := range e.Causes {
			expand(c, out)
		}
		if len(*out) == n {
			*out = append(*out, newCause(loc, "must be valid against exactly one of the allowed schemas"))
		}
		return
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, missingCause(loc, m))
		}
		return
	case *kind.DependentRequired:
		for _, m := range k.Missing {
			*out = append(*out, missingCause(loc, m))
		}
		return
	case *kind.Dependency:
		if len(k.Missing) > 0 {
			for _, m := range k.Missing {
				*out = append(*out, missingCause(loc, m))
			}
			return
		}
	}
	if len(e.Causes) > 0 {
		switch e.ErrorKind.(type) {
		case *kind.PropertyNames, *kind.Contains:
			// The nested failures describe values that were only probed
			// (property names, candidate items); the keyword itself is the
			// meaningful failure.
		default:
			for _, c := range e.Causes {
				expand(c, out)
			}
			return
		}
	}
	*out = append(*out, newCause(loc, describe(e.ErrorKind)))
}

func newCause(loc []string, msg string) Cause {
	return Cause{Pointer: pointerOf(loc), Field: fieldOf(loc), Message: msg}
}

func missingCause(loc []string, name string) Cause {
	full := append(slices.Clone(loc), name)
	return Cause{
		Pointer:  pointerOf(full),
		Field:    fieldOf(full),
		Missing:  true,
		Property: safeText(name),
		Message:  MissingMessage(safeText(name)),
	}
}

func pointerOf(loc []string) string {
	if len(loc) == 0 {
		return "#/"
	}
	var sb strings.Builder
	sb.WriteByte('#')
	for _, tok := range loc {
		sb.WriteByte('/')
		sb.WriteString(escapePointerToken(safeText(tok)))
	}
	return sb.String()
}

func fieldOf(loc []string) string {
	parts := make([]string, len(loc))
	for i, tok := range loc {
		parts[i] = safeText(tok)
	}
	return strings.Join(parts, ".")
}

// safeText replaces invalid UTF-8 so the text can be embedded in JSON and HTML.
func safeText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// maxShownValue bounds how many characters of an offending value are
// repeated in a message.
const maxShownValue = 256

// display renders a JSON value for a message: strings double-quoted,
// other values as compact JSON.
func display(v any) string {
	switch t := v.(type) {
	case string:
		s := safeText(t)
		if utf8.RuneCountInString(s) > maxShownValue {
			s = string([]rune(s)[:maxShownValue]) + "…"
		}
		return strconv.Quote(s)
	case nil:
		return "null"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := strings.TrimSuffix(buf.String(), "\n")
	if len(s) > maxShownValue {
		s = s[:maxShownValue] + "…"
	}
	return safeText(s)
}

func displayList(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = display(v)
	}
	return strings.Join(parts, ", ")
}

func quotedNames(names []string) string {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	parts := make([]string, len(sorted))
	for i, n := range sorted {
		parts[i] = display(n)
	}
	return strings.Join(parts, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func typeName(t string) string {
	if t == "integer" {
		return "number"
	}
	return t
}

var fallbackPrinter = message.NewPrinter(language.English)

// describe renders one leaf failure in the message style of the validator
// used by Kratos v0.9.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("expected %s, but got %s", strings.Join(k.Want, " or "), typeName(k.Got))
	case *kind.Format:
		return fmt.Sprintf("%s is not valid %s", display(k.Got), strconv.Quote(k.Want))
	case *kind.MinLength:
		return fmt.Sprintf("length must be >= %d, but got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("length must be <= %d, but got %d", k.Want, k.Got)
	case *kind.Pattern:
		return fmt.Sprintf("does not match pattern %s", strconv.Quote(safeText(k.Want)))
	case *kind.Enum:
		if len(k.Want) == 1 {
			return fmt.Sprintf("value must be %s", display(k.Want[0]))
		}
		return fmt.Sprintf("value must be one of %s", displayList(k.Want))
	case *kind.Const:
		return fmt.Sprintf("value must be %s", display(k.Want))
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s but found %s", ratString(k.Want), ratString(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("must be <= %s but found %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be > %s but found %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be < %s but found %s", ratString(k.Want), ratString(k.Got))
	case *kind.MultipleOf:
		return fmt.Sprintf("%s is not a multiple of %s", ratString(k.Got), ratString(k.Want))
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			return fmt.Sprintf("property %s is not allowed", display(k.Properties[0]))
		}
		return fmt.Sprintf("properties %s are not allowed", quotedNames(k.Properties))
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d properties, but got %d", k.Want, k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d properties, but got %d", k.Want, k.Got)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items, but got %d", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items, but got %d", k.Want, k.Got)
	case *kind.AdditionalItems:
		return fmt.Sprintf("%d additional items are not allowed", k.Count)
	case *kind.UniqueItems:
		return fmt.Sprintf("items at index %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "must contain at least one item matching the schema"
	case *kind.MinContains:
		return fmt.Sprintf("must contain at least %d items matching the schema, but %d matched", k.Want, len(k.Got))
	case *kind.MaxContains:
		return fmt.Sprintf("must contain at most %d items matching the schema, but %d matched", k.Want, len(k.Got))
	case *kind.PropertyNames:
		return fmt.Sprintf("property name %s is not valid", display(k.Property))
	case *kind.FalseSchema:
		return "value is not allowed"
	case *kind.Not:
		return `must not be valid against the "not" schema`
	case *kind.RefCycle:
		return "the schema contains a reference cycle"
	case *kind.InvalidJsonValue:
		return "value is not valid JSON"
	case *kind.Dependency:
		return fmt.Sprintf("is invalid because property %s is present", display(k.Prop))
	case *kind.AnyOf:
		return "must be valid against at least one of the allowed schemas"
	case *kind.OneOf:
		return "must be valid against exactly one of the allowed schemas"
	case *kind.AllOf, *kind.Group, *kind.Schema, *kind.Reference:
		return "is invalid"
	}
	return safeText(k.LocalizedString(fallbackPrinter))
}
