package schema

import (
	"context"
	"encoding/base64"
	"testing"
)

// Schemas shared by the tests.

const draft07Schema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "definitions": {
    "email": {
      "type": "string",
      "format": "email",
      "title": "E-Mail",
      "ory.sh/kratos": {
        "credentials": {
          "password": {"identifier": true},
          "webauthn": {"identifier": true},
          "totp": {"account_name": true}
        },
        "verification": {"via": "email"},
        "recovery": {"via": "email"}
      }
    }
  },
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "username": {
          "type": "string",
          "title": "Username",
          "minLength": 3,
          "maxLength": 10,
          "pattern": "^a",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
        },
        "email": {"$ref": "#/definitions/email"},
        "phone": {
          "type": "string",
          "ory.sh/kratos": {"verification": {"via": "phone"}}
        },
        "age": {"type": "integer", "minimum": 5, "maximum": 130, "title": "Age"},
        "score": {"type": "number", "exclusiveMinimum": 0},
        "newsletter": {"type": "boolean", "title": "Newsletter"},
        "birthday": {"type": "string", "format": "date"},
        "seen_at": {"type": "string", "format": "date-time"},
        "website": {"type": "string", "format": "uri"},
        "plan": {"type": "string", "enum": ["free", "pro"], "disableFormField": true},
        "color": {"type": "string", "enum": ["red"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "emails": {
          "type": "array",
          "items": {
            "type": "string",
            "format": "email",
            "ory.sh/kratos": {"recovery": {"via": "email"}, "credentials": {"webauthn": {"identifier": true}}}
          }
        },
        "name": {
          "type": "object",
          "required": ["first"],
          "properties": {
            "first": {"type": "string", "title": "First name", "minLength": 1},
            "last": {"type": "string", "title": "Last name"},
            "extra": {
              "type": "object",
              "required": ["nick"],
              "properties": {"nick": {"type": "string"}}
            }
          }
        },
        "address": {
          "type": "object",
          "required": ["city"],
          "additionalProperties": false,
          "properties": {
            "city": {"type": "string", "title": "City"},
            "zip": {"type": "string", "pattern": "^[0-9]{5}$"}
          }
        }
      },
      "required": ["email", "name"],
      "additionalProperties": false
    }
  },
  "required": ["traits"]
}`

const draft2020Schema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {
    "mail": {"type": "string", "format": "email", "maxLength": 64}
  },
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "$ref": "#/$defs/mail",
          "title": "Mail",
          "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}, "verification": {"via": "email"}}
        },
        "nickname": {"type": ["string", "null"], "minLength": 2}
      },
      "required": ["email"],
      "unevaluatedProperties": false
    }
  }
}`

// noDraftSchema has no $schema: draft-07 semantics apply, so the minLength
// next to $ref is ignored (it would apply under 2019-09 and later).
const noDraftSchema = `{
  "definitions": {"s": {"type": "string"}},
  "properties": {
    "traits": {
      "properties": {
        "code": {"$ref": "#/definitions/s", "minLength": 5}
      }
    }
  }
}`

func b64(doc string) string {
	return "base64://" + base64.StdEncoding.EncodeToString([]byte(doc))
}

func mustLoad(t testing.TB, docs ...string) *Registry {
	t.Helper()
	var sources []Source
	for i, d := range docs {
		id := "default"
		if i > 0 {
			id = "s" + string(rune('0'+i))
		}
		sources = append(sources, Source{ID: id, URL: b64(d)})
	}
	r, err := Load(context.Background(), sources, "default", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return r
}
