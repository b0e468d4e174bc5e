package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func checkCauses(t *testing.T, s *Schema, traits string, want []Cause) {
	t.Helper()
	_, err := s.ValidateTraits([]byte(traits))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("ValidateTraits(%s) = %v, want *ValidationError", traits, err)
	}
	if !reflect.DeepEqual(ve.Causes, want) {
		t.Fatalf("ValidateTraits(%s) causes:\n got %#v\nwant %#v", traits, ve.Causes, want)
	}
}

func msg(ptr, text string) Cause {
	return Cause{Pointer: ptr, Field: strings.ReplaceAll(strings.TrimPrefix(ptr, "#/"), "/", "."), Message: text}
}

func missing(ptr string) Cause {
	c := msg(ptr, "")
	c.Missing = true
	c.Property = ptr[strings.LastIndexByte(ptr, '/')+1:]
	c.Message = "Property " + c.Property + " is missing."
	return c
}

// withBase merges extra top-level trait members into a valid base document.
func withBase(extra string) string {
	base := `"email":"a@example.org","name":{"first":"A"}`
	if extra == "" {
		return "{" + base + "}"
	}
	return "{" + base + "," + extra + "}"
}

func TestValidationCauses(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	cases := []struct {
		name   string
		traits string
		want   []Cause
	}{
		{"required top-level", `{}`, []Cause{missing("#/traits/email"), missing("#/traits/name")}},
		{"required nested", `{"email":"a@example.org","name":{}}`, []Cause{missing("#/traits/name/first")}},
		{"required deeply nested", withBase(`"address":{}`), []Cause{missing("#/traits/address/city")}},
		{"format email", `{"email":"foo","name":{"first":"A"}}`, []Cause{msg("#/traits/email", `"foo" is not valid "email"`)}},
		{"format date", withBase(`"birthday":"2020-13-01"`), []Cause{msg("#/traits/birthday", `"2020-13-01" is not valid "date"`)}},
		{"format uri", withBase(`"website":"not a uri"`), []Cause{msg("#/traits/website", `"not a uri" is not valid "uri"`)}},
		{"minLength", withBase(`"username":"a"`), []Cause{msg("#/traits/username", "length must be >= 3, but got 1")}},
		{"minLength counts runes", withBase(`"username":"aé"`), []Cause{msg("#/traits/username", "length must be >= 3, but got 2")}},
		{"maxLength", withBase(`"username":"aaaaaaaaaaaa"`), []Cause{msg("#/traits/username", "length must be <= 10, but got 12")}},
		{"pattern", withBase(`"username":"bcdef"`), []Cause{msg("#/traits/username", `does not match pattern "^a"`)}},
		{"pattern and minLength", withBase(`"username":"b"`), []Cause{
			msg("#/traits/username", `does not match pattern "^a"`),
			msg("#/traits/username", "length must be >= 3, but got 1"),
		}},
		{"escaped pattern", withBase(`"address":{"city":"x","zip":"12"}`), []Cause{msg("#/traits/address/zip", `does not match pattern "^[0-9]{5}$"`)}},
		{"type string", withBase(`"username":5`), []Cause{msg("#/traits/username", "expected string, but got number")}},
		{"type integer from string", withBase(`"age":"x"`), []Cause{msg("#/traits/age", "expected integer, but got string")}},
		{"type integer from fraction", withBase(`"age":1.5`), []Cause{msg("#/traits/age", "expected integer, but got number")}},
		{"type boolean", withBase(`"newsletter":"yes"`), []Cause{msg("#/traits/newsletter", "expected boolean, but got string")}},
		{"type object", `"hello"`, []Cause{msg("#/traits", "expected object, but got string")}},
		{"null traits", `null`, []Cause{msg("#/traits", "expected object, but got null")}},
		{"empty traits", ``, []Cause{msg("#/traits", "expected object, but got null")}},
		{"invalid JSON", `{"email":`, []Cause{msg("#/traits", "traits must be valid JSON")}},
		{"minimum", withBase(`"age":3`), []Cause{msg("#/traits/age", "must be >= 5 but found 3")}},
		{"maximum", withBase(`"age":200`), []Cause{msg("#/traits/age", "must be <= 130 but found 200")}},
		{"exclusiveMinimum", withBase(`"score":0`), []Cause{msg("#/traits/score", "must be > 0 but found 0")}},
		{"exclusiveMinimum fraction", withBase(`"score":-0.5`), []Cause{msg("#/traits/score", "must be > 0 but found -0.5")}},
		{"enum", withBase(`"plan":"gold"`), []Cause{msg("#/traits/plan", `value must be one of "free", "pro"`)}},
		{"enum single", withBase(`"color":"blue"`), []Cause{msg("#/traits/color", `value must be "red"`)}},
		{"nested type", `{"email":"a@example.org","name":{"first":1}}`, []Cause{msg("#/traits/name/first", "expected string, but got number")}},
		{"nested minLength", `{"email":"a@example.org","name":{"first":""}}`, []Cause{msg("#/traits/name/first", "length must be >= 1, but got 0")}},
		{"array item", withBase(`"emails":["a@example.org","x"]`), []Cause{msg("#/traits/emails/1", `"x" is not valid "email"`)}},
		{"additionalProperties", withBase(`"foo":1`), []Cause{msg("#/traits", `property "foo" is not allowed`)}},
		{"additionalProperties several", withBase(`"zed":1,"foo":2`), []Cause{msg("#/traits", `properties "foo", "zed" are not allowed`)}},
		{"additionalProperties nested", withBase(`"address":{"city":"x","street":"y"}`), []Cause{msg("#/traits/address", `property "street" is not allowed`)}},
		{"several fields in schema order", `{"name":{},"username":"b","email":"x","age":1}`, []Cause{
			msg("#/traits/username", `does not match pattern "^a"`),
			msg("#/traits/username", "length must be >= 3, but got 1"),
			msg("#/traits/email", `"x" is not valid "email"`),
			msg("#/traits/age", "must be >= 5 but found 1"),
			missing("#/traits/name/first"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkCauses(t, s, tc.traits, tc.want)
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	_, err := s.ValidateTraits([]byte(`{"email":"x"}`))
	want := `#/traits/email: "x" is not valid "email"; #/traits/name: Property name is missing.`
	if err == nil || err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err, want)
	}
}

func TestValidationRootRequired(t *testing.T) {
	// A schema whose root requires a member other than traits reports it at the document level.
	s := mustLoad(t, `{"required": ["other"], "properties": {"traits": {"properties": {"a": {"type": "string"}}}}}`).Default()
	checkCauses(t, s, `{}`, []Cause{{Pointer: "#/other", Field: "other", Missing: true, Property: "other", Message: "Property other is missing."}})
}

func TestValidationCombinators(t *testing.T) {
	s := mustLoad(t, `{
	  "properties": {"traits": {"type": "object", "properties": {
	    "contact": {"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "pattern": "^\\+[0-9]+$"}]},
	    "one": {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 1}]},
	    "never": false,
	    "not": {"not": {"type": "string"}},
	    "dep": {"type": "object", "dependencies": {"a": ["b"]}}
	  }}}}`).Default()
	checkCauses(t, s, `{"contact":"foo"}`, []Cause{
		msg("#/traits/contact", `"foo" is not valid "email"`),
		msg("#/traits/contact", `does not match pattern "^\\+[0-9]+$"`),
	})
	if _, err := s.ValidateTraits([]byte(`{"contact":"+49123"}`)); err != nil {
		t.Fatal(err)
	}
	checkCauses(t, s, `{"one":"x"}`, []Cause{msg("#/traits/one", "must be valid against exactly one of the allowed schemas, but several matched")})
	checkCauses(t, s, `{"never":1}`, []Cause{msg("#/traits/never", "value is not allowed")})
	checkCauses(t, s, `{"not":"x"}`, []Cause{msg("#/traits/not", `must not be valid against the "not" schema`)})
	checkCauses(t, s, `{"dep":{"a":1}}`, []Cause{missing("#/traits/dep/b")})
}

func TestValidationUnsafeValues(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	inputs := []string{
		"{\"email\":\"\xff\xfe@\",\"name\":{\"first\":\"A\"}}",
		"{\"email\":\"a@example.org\",\"name\":{\"first\":\"A\"},\"\xff/~k\":1}",
		`{"email":"<script>alert(1)</script>","name":{"first":"A"}}`,
		`{"email":"a\u0000b","name":{"first":"A"}}`,
		"{\"email\":\"a@example.org\",\"name\":{\"first\":\"A\"},\"username\":\"\xff\"}",
	}
	for _, in := range inputs {
		_, err := s.ValidateTraits([]byte(in))
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Causes) == 0 {
			t.Fatalf("ValidateTraits(%q) = %v", in, err)
		}
		for _, c := range ve.Causes {
			for _, f := range []string{c.Pointer, c.Field, c.Message, c.Property} {
				if !utf8.ValidString(f) {
					t.Errorf("cause %#v contains invalid UTF-8", c)
				}
			}
		}
	}
	// Pointer tokens are escaped.
	checkCauses(t, s, `{"email":"a@example.org","name":{"first":"A"},"a/b~c":1}`, []Cause{msg("#/traits", `property "a/b~c" is not allowed`)})
	s2 := mustLoad(t, `{"properties": {"traits": {"properties": {"a/b": {"type": "string"}}, "required": ["a/b"]}}}`).Default()
	checkCauses(t, s2, `{}`, []Cause{{Pointer: "#/traits/a~1b", Field: "traits.a/b", Missing: true, Property: "a/b", Message: "Property a/b is missing."}})
}

func TestFormFields(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	want := []FormField{
		{Name: "traits.username", Type: "text", JSONType: "string", Pattern: "^a", Title: "Username"},
		{Name: "traits.email", Type: "email", JSONType: "string", Format: "email", Required: true, Title: "E-Mail"},
		{Name: "traits.phone", Type: "text", JSONType: "string"},
		{Name: "traits.age", Type: "number", JSONType: "integer", Title: "Age"},
		{Name: "traits.score", Type: "number", JSONType: "number"},
		{Name: "traits.newsletter", Type: "checkbox", JSONType: "boolean", Title: "Newsletter"},
		{Name: "traits.birthday", Type: "date", JSONType: "string", Format: "date"},
		{Name: "traits.seen_at", Type: "datetime-local", JSONType: "string", Format: "date-time"},
		{Name: "traits.website", Type: "url", JSONType: "string", Format: "uri"},
		{Name: "traits.plan", Type: "text", JSONType: "string", Disabled: true},
		{Name: "traits.color", Type: "text", JSONType: "string"},
		{Name: "traits.name.first", Type: "text", JSONType: "string", Required: true, Title: "First name"},
		{Name: "traits.name.last", Type: "text", JSONType: "string", Title: "Last name"},
		{Name: "traits.name.extra.nick", Type: "text", JSONType: "string"},
		{Name: "traits.address.city", Type: "text", JSONType: "string", Title: "City"},
		{Name: "traits.address.zip", Type: "text", JSONType: "string", Pattern: "^[0-9]{5}$"},
	}
	got := s.FormFields()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FormFields:\n got %+v\nwant %+v", got, want)
	}
	got[0].Name = "mutated"
	if s.FormFields()[0].Name != "traits.username" {
		t.Fatal("FormFields exposes internal state")
	}
}

func TestFormFieldsRefsAndOrder(t *testing.T) {
	// Key order is the document's, not alphabetical; $ref targets supply
	// properties, required lists and titles.
	s := mustLoad(t, `{
	  "$schema": "https://json-schema.org/draft/2020-12/schema",
	  "$defs": {
	    "person": {"type": "object", "required": ["zeta"], "properties": {
	      "zeta": {"type": "string", "title": "Zeta"},
	      "alpha": {"$ref": "#/$defs/flag"}
	    }},
	    "flag": {"type": "boolean", "title": "Flag"},
	    "loop": {"type": "object", "properties": {"self": {"$ref": "#/$defs/loop"}, "leaf": {"type": "string"}}}
	  },
	  "properties": {"traits": {"$ref": "#/$defs/person", "properties": {
	    "mid": {"type": "string", "format": "email", "pattern": "@x$"},
	    "loop": {"$ref": "#/$defs/loop"}
	  }}}
	}`).Default()
	got := s.FormFields()
	var names []string
	for _, f := range got {
		names = append(names, f.Name)
	}
	if len(names) < 4 || names[0] != "traits.mid" || names[1] != "traits.loop.leaf" {
		t.Fatalf("unexpected order %v", names)
	}
	var zeta, alpha FormField
	for _, f := range got {
		switch f.Name {
		case "traits.zeta":
			zeta = f
		case "traits.alpha":
			alpha = f
		}
	}
	if !zeta.Required || zeta.Title != "Zeta" || alpha.Type != "checkbox" || alpha.Title != "Flag" || alpha.Required {
		t.Fatalf("zeta %+v alpha %+v", zeta, alpha)
	}
	if got[0].Type != "email" || got[0].Pattern != "@x$" {
		t.Fatalf("mid %+v", got[0])
	}
	// The recursive definition is cut off instead of looping forever.
	if len(got) > 64 {
		t.Fatalf("recursion produced %d fields", len(got))
	}
}

func TestExtraction(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	x, err := s.ValidateTraits([]byte(`{
	  "username": "aLICE  ",
	  "email": "ALICE@Example.org",
	  "phone": " +4912345 ",
	  "name": {"first": "Alice"},
	  "emails": ["Second@Example.org", "alice@example.org", "SECOND@example.org"]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Extracted{
		PasswordIdentifiers: []string{"alice", "alice@example.org"},
		WebAuthnIdentifiers: []string{"alice@example.org", "second@example.org"},
		TOTPAccountName:     "ALICE@Example.org",
		VerifiableAddresses: []Address{{Via: "email", Value: "alice@example.org"}, {Via: "phone", Value: "+4912345"}},
		RecoveryAddresses:   []Address{{Via: "email", Value: "alice@example.org"}, {Via: "email", Value: "second@example.org"}},
	}
	if !reflect.DeepEqual(x, want) {
		t.Fatalf("extracted\n got %+v\nwant %+v", x, want)
	}

	// Absent traits yield nothing.
	x, err = s.ValidateTraits([]byte(`{"email":"b@example.org","name":{"first":"B"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.PasswordIdentifiers) != 1 || len(x.VerifiableAddresses) != 1 || len(x.RecoveryAddresses) != 1 || len(x.WebAuthnIdentifiers) != 1 {
		t.Fatalf("extracted %+v", x)
	}

	fields := s.ExtensionFields()
	var paths []string
	for _, f := range fields {
		paths = append(paths, f.Path)
	}
	if fmt.Sprint(paths) != "[traits.username traits.email traits.phone traits.emails.*]" {
		t.Fatalf("ExtensionFields paths %v", paths)
	}
	if f := fields[1]; !f.PasswordIdentifier || !f.WebAuthnIdentifier || !f.TOTPAccountName || f.VerificationVia != "email" || f.RecoveryVia != "email" {
		t.Fatalf("email extension %+v", f)
	}
	if got := fmt.Sprint(s.IdentifierFields()); got != "[traits.username traits.email traits.phone traits.emails.*]" {
		t.Fatalf("IdentifierFields %s", got)
	}
}

func TestExtractedProtectedEqual(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	get := func(traits string) *Extracted {
		t.Helper()
		x, err := s.ValidateTraits([]byte(traits))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	base := get(`{"email":"a@example.org","name":{"first":"A"},"username":"abc"}`)
	cases := []struct {
		traits string
		equal  bool
	}{
		{`{"email":"a@example.org","name":{"first":"Changed"},"username":"abc","age":40}`, true},
		{`{"email":"A@EXAMPLE.org","name":{"first":"A"},"username":"aBC"}`, true},
		{`{"email":"b@example.org","name":{"first":"A"},"username":"abc"}`, false},
		{`{"email":"a@example.org","name":{"first":"A"},"username":"abd"}`, false},
		{`{"email":"a@example.org","name":{"first":"A"},"username":"abc","phone":"1"}`, false},
	}
	for _, tc := range cases {
		if got := base.ProtectedEqual(get(tc.traits)); got != tc.equal {
			t.Errorf("ProtectedEqual(%s) = %v", tc.traits, got)
		}
	}
	if !(*Extracted)(nil).ProtectedEqual(&Extracted{}) {
		t.Error("nil and empty differ")
	}
}

func TestValidateConcurrent(t *testing.T) {
	s := mustLoad(t, draft07Schema).Default()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				email := fmt.Sprintf("u%d-%d@example.org", i, j)
				x, err := s.ValidateTraits([]byte(`{"email":"` + email + `","name":{"first":"A"}}`))
				if err != nil || x.PasswordIdentifiers[0] != email {
					t.Errorf("concurrent validation: %v %+v", err, x)
					return
				}
				if _, err := s.ValidateTraits([]byte(`{}`)); err == nil {
					t.Error("expected an error")
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func BenchmarkValidateTraits(b *testing.B) {
	r := mustLoad(b, DefaultSchemaJSON, draft07Schema)
	benches := []struct {
		name   string
		schema *Schema
		traits []byte
	}{
		{"default/valid", r.Default(), []byte(`{"email":"jane@example.org","name":{"first":"Jane","last":"Doe"}}`)},
		{"default/invalid", r.Default(), []byte(`{"email":"nope","extra":1}`)},
	}
	if s, ok := r.Get("s1"); ok {
		benches = append(benches, struct {
			name   string
			schema *Schema
			traits []byte
		}{"large/valid", s, []byte(`{"username":"alice","email":"alice@example.org","phone":"+4912345","age":30,
			"newsletter":true,"name":{"first":"Alice","last":"L"},"emails":["a@example.org","b@example.org"],
			"address":{"city":"Berlin","zip":"10115"}}`)})
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = bc.schema.ValidateTraits(bc.traits)
			}
		})
	}
}

func TestValidationMessagesOtherKeywords(t *testing.T) {
	s := mustLoad(t, `{
	  "properties": {"traits": {"type": "object", "properties": {
	    "list": {"type": "array", "minItems": 2, "maxItems": 3, "uniqueItems": true},
	    "has": {"type": "array", "contains": {"const": 1}},
	    "fixed": {"const": "x"},
	    "step": {"type": "number", "multipleOf": 0.5, "exclusiveMaximum": 10},
	    "level": {"enum": [1, 2.5, null, true]},
	    "obj": {"type": "object", "minProperties": 1, "maxProperties": 2, "propertyNames": {"pattern": "^[a-z]+$"}},
	    "tuple": {"type": "array", "items": [{"type": "string"}], "additionalItems": false}
	  }}}}`).Default()
	cases := []struct {
		traits string
		want   Cause
	}{
		{`{"list":[1]}`, msg("#/traits/list", "must have at least 2 items, but got 1")},
		{`{"list":[1,2,3,4]}`, msg("#/traits/list", "must have at most 3 items, but got 4")},
		{`{"list":[1,2,1]}`, msg("#/traits/list", "items at index 0 and 2 are equal")},
		{`{"has":[2]}`, msg("#/traits/has", "must contain at least one item matching the schema")},
		{`{"fixed":"y"}`, msg("#/traits/fixed", `value must be "x"`)},
		{`{"step":0.3}`, msg("#/traits/step", "0.3 is not a multiple of 0.5")},
		{`{"step":10}`, msg("#/traits/step", "must be < 10 but found 10")},
		{`{"level":3}`, msg("#/traits/level", "value must be one of 1, 2.5, null, true")},
		{`{"obj":{}}`, msg("#/traits/obj", "must have at least 1 properties, but got 0")},
		{`{"obj":{"a":1,"b":2,"c":3}}`, msg("#/traits/obj", "must have at most 2 properties, but got 3")},
		{`{"obj":{"A":1}}`, msg("#/traits/obj", `property name "A" is not valid`)},
		{`{"tuple":["a","b"]}`, msg("#/traits/tuple", "1 additional items are not allowed")},
	}
	for _, tc := range cases {
		t.Run(tc.traits, func(t *testing.T) {
			checkCauses(t, s, tc.traits, []Cause{tc.want})
		})
	}
}
