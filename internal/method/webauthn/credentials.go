// Package webauthn is the security-key method: second-factor keys,
// passwordless keys and passkeys. This file describes its credentials to
// the rest of the server.
package webauthn

import (
	"encoding/json"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// Credentials describes webauthn credentials to the identity service.
type Credentials struct{}

// CredentialsType is "webauthn".
func (Credentials) CredentialsType() identity.CredentialsType { return identity.CredentialsWebAuthn }

// Factors: a passwordless key is a first factor, any other key a second.
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	var cfg struct {
		Credentials []struct {
			IsPasswordless bool `json:"is_passwordless"`
		} `json:"credentials"`
	}
	if json.Unmarshal(c.Config, &cfg) != nil {
		return nil
	}
	var out []identity.Factor
	for _, k := range cfg.Credentials {
		if k.IsPasswordless {
			out = append(out, identity.FirstFactor)
		} else {
			out = append(out, identity.SecondFactor)
		}
	}
	return out
}
