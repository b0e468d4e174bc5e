package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ValidateTraits validates traits (raw JSON; empty means null) by validating
// the document {"traits": <traits>} against the schema. On success it returns
// what the "ory.sh/kratos" extension derived from the traits; on failure it
// returns a *ValidationError.
func (s *Schema) ValidateTraits(traits json.RawMessage) (*Extracted, error) {
	var value any
	if len(bytes.TrimSpace(traits)) > 0 {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(traits))
		if err != nil {
			return nil, &ValidationError{Causes: []Cause{{
				Pointer: "#/traits",
				Field:   "traits",
				Message: "traits must be valid JSON",
			}}}
		}
		value = v
	}
	doc := map[string]any{"traits": value}
	if err := s.compiled.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		causes := causesFrom(ve)
		s.sortCauses(causes)
		return nil, &ValidationError{Causes: causes}
	}
	return extract(s.rules, doc), nil
}

// sortCauses orders causes by the schema position of their field, then by
// pointer and message, so results do not depend on map iteration order.
func (s *Schema) sortCauses(causes []Cause) {
	pos := func(field string) int {
		for name := field; ; {
			if p, ok := s.order[name]; ok {
				return p
			}
			i := strings.LastIndexByte(name, '.')
			if i < 0 {
				return len(s.order)
			}
			name = name[:i]
		}
	}
	slices.SortStableFunc(causes, func(a, b Cause) int {
		if pa, pb := pos(a.Field), pos(b.Field); pa != pb {
			return pa - pb
		}
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
}
