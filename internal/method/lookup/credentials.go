// Package lookup is the lookup-secret method (single-use backup codes as a
// second factor). This file describes its credentials to the rest of the
// server.
package lookup

import (
	"encoding/json"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// Credentials describes lookup_secret credentials to the identity service.
type Credentials struct{}

// CredentialsType is "lookup_secret".
func (Credentials) CredentialsType() identity.CredentialsType {
	return identity.CredentialsLookupSecret
}

// Factors: backup codes are a second factor while one is unused.
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	var cfg struct {
		RecoveryCodes []struct {
			UsedAt *string `json:"used_at"`
		} `json:"recovery_codes"`
	}
	if json.Unmarshal(c.Config, &cfg) != nil {
		return nil
	}
	for _, code := range cfg.RecoveryCodes {
		if code.UsedAt == nil {
			return []identity.Factor{identity.SecondFactor}
		}
	}
	return nil
}
