package session

import (
	"strconv"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// AppendJSON appends the session's JSON (its identity public) to b: the same
// document json.Marshal writes, without reflection, for /sessions/whoami.
func (s *Session) AppendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = identity.AppendJSONString(b, s.ID.String())
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, s.Active)
	b = append(b, `,"expires_at":`...)
	b = identity.AppendJSONTime(b, s.ExpiresAt)
	b = append(b, `,"authenticated_at":`...)
	b = identity.AppendJSONTime(b, s.AuthenticatedAt)
	b = append(b, `,"authenticator_assurance_level":`...)
	b = identity.AppendJSONString(b, s.AAL)
	b = append(b, `,"authentication_methods":`...)
	if s.AuthenticationMethods == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for k, m := range s.AuthenticationMethods {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"method":`...)
			b = identity.AppendJSONString(b, m.Method)
			b = append(b, `,"aal":`...)
			b = identity.AppendJSONString(b, m.AAL)
			b = append(b, `,"completed_at":`...)
			b = identity.AppendJSONTime(b, m.CompletedAt)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"issued_at":`...)
	b = identity.AppendJSONTime(b, s.IssuedAt)
	b = append(b, `,"identity":`...)
	if s.Identity == nil {
		b = append(b, "null"...)
	} else {
		b = s.Identity.AppendJSON(b)
	}
	return append(b, '}')
}
