package schema

// DefaultSchemaJSON is the built-in identity schema used when Hoplite runs
// without configured identity schemas: an e-mail address that is the password
// identifier and the verification and recovery address, plus an optional
// first and last name.
const DefaultSchemaJSON = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "Person",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {
          "type": "string",
          "format": "email",
          "title": "E-Mail",
          "minLength": 3,
          "maxLength": 320,
          "ory.sh/kratos": {
            "credentials": {
              "password": {
                "identifier": true
              }
            },
            "verification": {
              "via": "email"
            },
            "recovery": {
              "via": "email"
            }
          }
        },
        "name": {
          "type": "object",
          "properties": {
            "first": {
              "type": "string",
              "title": "First name"
            },
            "last": {
              "type": "string",
              "title": "Last name"
            }
          }
        }
      },
      "required": [
        "email"
      ],
      "additionalProperties": false
    }
  }
}
`

// BuiltinSource returns a Source for DefaultSchemaJSON with id DefaultID.
func BuiltinSource() Source {
	return Source{ID: DefaultID, URL: Base64URL([]byte(DefaultSchemaJSON))}
}
