// Package oidc is the social sign-in method (OpenID Connect and OAuth2
// providers). This file describes its credentials to the rest of the
// server; the method itself plugs into the flow engine.
package oidc

import (
	"encoding/json"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// Credentials describes oidc credentials to the identity service.
type Credentials struct{}

// CredentialsType is "oidc".
func (Credentials) CredentialsType() identity.CredentialsType { return identity.CredentialsOIDC }

// Factors: a linked provider account is a first factor.
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	var cfg struct {
		Providers []json.RawMessage `json:"providers"`
	}
	if json.Unmarshal(c.Config, &cfg) == nil && len(cfg.Providers) > 0 {
		return []identity.Factor{identity.FirstFactor}
	}
	return nil
}
