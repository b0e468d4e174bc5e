// Package oidc is the social sign-in method (OpenID Connect and OAuth2
// providers). This file describes its credentials to the rest of the
// server; the method itself plugs into the flow engine.
package oidc

import (
	"encoding/json"

	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/identity"
)

// Credentials describes oidc credentials to the identity service.
type Credentials struct{}

// CredentialsType is "oidc".
func (Credentials) CredentialsType() identity.CredentialsType { return identity.CredentialsOIDC }

// Factors: each linked provider account is a first factor of its own (it
// signs the identity in by itself, and unlinking one leaves the others).
func (Credentials) Factors(c identity.Credentials) []identity.Factor {
	var cfg struct {
		Providers []json.RawMessage `json:"providers"`
	}
	if json.Unmarshal(c.Config, &cfg) != nil {
		return nil
	}
	out := make([]identity.Factor, len(cfg.Providers))
	for k := range out {
		out[k] = identity.FirstFactor
	}
	return out
}

// Reveal returns an oidc credentials config with the provider's initial
// tokens decrypted, for the admin API's include_credential=oidc. A token
// that cannot be decrypted (a rotated-out key, an import) is shown empty.
func Reveal(c cipher.Cipher) func(json.RawMessage) json.RawMessage {
	return func(raw json.RawMessage) json.RawMessage {
		var cfg identity.OIDCConfig
		if json.Unmarshal(raw, &cfg) != nil {
			return raw
		}
		dec := func(s string) string {
			if s == "" {
				return ""
			}
			b, err := c.Decrypt(s)
			if err != nil {
				return ""
			}
			return string(b)
		}
		for k := range cfg.Providers {
			p := &cfg.Providers[k]
			p.InitialIDToken, p.InitialAccessToken, p.InitialRefreshToken = dec(p.InitialIDToken), dec(p.InitialAccessToken), dec(p.InitialRefreshToken)
		}
		if cfg.Providers == nil {
			cfg.Providers = []identity.OIDCProviderCredential{}
		}
		out, err := json.Marshal(cfg)
		if err != nil {
			return raw
		}
		return out
	}
}
