package identity

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file writes identities as JSON by hand, for the session check that
// API gateways call on every request: encoding/json reflects over every
// field and re-validates every embedded document (traits), which was a tenth
// of a whoami's cost. The output is the same document json.Marshal writes
// (TestAppendJSONMatchesEncodingJSON keeps them in step).

// AppendJSON appends the identity's public JSON (no credentials, no admin
// metadata) to b.
func (i *Identity) AppendJSON(b []byte) []byte { return i.appendJSON(b, false) }

// AppendAdminJSON appends the identity's JSON as the admin API lists it:
// the public document plus metadata_admin (still no credentials).
func (i *Identity) AppendAdminJSON(b []byte) []byte { return i.appendJSON(b, true) }

func (i *Identity) appendJSON(b []byte, admin bool) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, i.ID)
	b = append(b, `","schema_id":`...)
	b = AppendJSONString(b, i.SchemaID)
	b = append(b, `,"schema_url":`...)
	b = AppendJSONString(b, i.SchemaURL)
	b = append(b, `,"state":`...)
	b = AppendJSONString(b, string(i.State))
	if i.StateChangedAt != nil {
		b = append(b, `,"state_changed_at":`...)
		b = AppendJSONTime(b, *i.StateChangedAt)
	}
	b = append(b, `,"traits":`...)
	b = appendRaw(b, i.Traits)
	if len(i.VerifiableAddresses) > 0 {
		b = append(b, `,"verifiable_addresses":[`...)
		for k := range i.VerifiableAddresses {
			if k > 0 {
				b = append(b, ',')
			}
			b = i.VerifiableAddresses[k].appendJSON(b)
		}
		b = append(b, ']')
	}
	if len(i.RecoveryAddresses) > 0 {
		b = append(b, `,"recovery_addresses":[`...)
		for k := range i.RecoveryAddresses {
			if k > 0 {
				b = append(b, ',')
			}
			b = i.RecoveryAddresses[k].appendJSON(b)
		}
		b = append(b, ']')
	}
	if len(i.MetadataPublic) > 0 {
		b = append(b, `,"metadata_public":`...)
		b = appendRaw(b, i.MetadataPublic)
	}
	if admin && len(i.MetadataAdmin) > 0 {
		b = append(b, `,"metadata_admin":`...)
		b = appendRaw(b, i.MetadataAdmin)
	}
	b = append(b, `,"created_at":`...)
	b = AppendJSONTime(b, i.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = AppendJSONTime(b, i.UpdatedAt)
	return append(b, '}')
}

func (a *VerifiableAddress) appendJSON(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, a.ID)
	b = append(b, `","value":`...)
	b = AppendJSONString(b, a.Value)
	b = append(b, `,"verified":`...)
	b = strconv.AppendBool(b, a.Verified)
	b = append(b, `,"via":`...)
	b = AppendJSONString(b, a.Via)
	b = append(b, `,"status":`...)
	b = AppendJSONString(b, a.Status)
	if a.VerifiedAt != nil {
		b = append(b, `,"verified_at":`...)
		b = AppendJSONTime(b, *a.VerifiedAt)
	}
	b = append(b, `,"created_at":`...)
	b = AppendJSONTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = AppendJSONTime(b, a.UpdatedAt)
	return append(b, '}')
}

func (a *RecoveryAddress) appendJSON(b []byte) []byte {
	b = append(b, `{"id":"`...)
	b = appendUUID(b, a.ID)
	b = append(b, `","value":`...)
	b = AppendJSONString(b, a.Value)
	b = append(b, `,"via":`...)
	b = AppendJSONString(b, a.Via)
	b = append(b, `,"created_at":`...)
	b = AppendJSONTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = AppendJSONTime(b, a.UpdatedAt)
	return append(b, '}')
}

func appendUUID(b []byte, id [16]byte) []byte {
	const hexDigits = "0123456789abcdef"
	for k, c := range id {
		if k == 4 || k == 6 || k == 8 || k == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendRaw appends an embedded JSON document, compacting it when it is not
// compact already (documents are stored compact, so this is a rare path).
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	for _, c := range raw {
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err == nil {
				return append(b, buf.Bytes()...)
			}
			break
		}
	}
	return append(b, raw...)
}

// AppendJSONTime appends t as encoding/json writes a time.Time.
func AppendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it without HTML escaping (invalid UTF-8 becomes U+FFFD).
func AppendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for k := 0; k < len(s); {
		c := s[k]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				k++
				continue
			}
			b = append(b, s[start:k]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			k++
			start = k
			continue
		}
		r, size := utf8.DecodeRuneInString(s[k:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:k]...)
			b = append(b, `\ufffd`...)
			k += size
			start = k
			continue
		}
		// U+2028 and U+2029 are escaped by encoding/json even without
		// HTML escaping.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:k]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			k += size
			start = k
			continue
		}
		k += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
