// Package totp is the time-based one-time password method (an
// authenticator app as a second factor). This file describes its
// credentials to the rest of the server.
package totp

import (
	"encoding/json"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// Credentials describes totp credentials to the identity service.
type Credentials struct{}

// CredentialsType is "totp".
func (Credentials) CredentialsType() identity.CredentialsType { return identity.CredentialsTOTP }

// Factors: a configured authenticator app is a second factor.
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	var cfg struct {
		TOTPURL string `json:"totp_url"`
	}
	if json.Unmarshal(c.Config, &cfg) == nil && cfg.TOTPURL != "" {
		return []identity.Factor{identity.SecondFactor}
	}
	return nil
}
