package identity

import "encoding/json"

// HighestAAL derives the highest authenticator assurance level credentials
// allow: aal2 when a second factor is set up (TOTP, unused lookup codes, or a
// security key that is not passwordless), aal1 when any first factor is
// (a password hash, a linked social account, a passwordless key), else aal0.
func HighestAAL(creds map[CredentialsType]Credentials) string {
	first, second := false, false
	for t, c := range creds {
		switch t {
		case CredentialsPassword:
			var cfg struct {
				HashedPassword string `json:"hashed_password"`
			}
			if json.Unmarshal(c.Config, &cfg) == nil && cfg.HashedPassword != "" && len(c.Identifiers) > 0 {
				first = true
			}
		case CredentialsOIDC:
			var cfg struct {
				Providers []json.RawMessage `json:"providers"`
			}
			if json.Unmarshal(c.Config, &cfg) == nil && len(cfg.Providers) > 0 {
				first = true
			}
		case CredentialsTOTP:
			var cfg struct {
				TOTPURL string `json:"totp_url"`
			}
			if json.Unmarshal(c.Config, &cfg) == nil && cfg.TOTPURL != "" {
				second = true
			}
		case CredentialsLookupSecret:
			var cfg struct {
				RecoveryCodes []struct {
					UsedAt *string `json:"used_at"`
				} `json:"recovery_codes"`
			}
			if json.Unmarshal(c.Config, &cfg) == nil {
				for _, code := range cfg.RecoveryCodes {
					if code.UsedAt == nil {
						second = true
						break
					}
				}
			}
		case CredentialsWebAuthn:
			var cfg struct {
				Credentials []struct {
					IsPasswordless bool `json:"is_passwordless"`
				} `json:"credentials"`
			}
			if json.Unmarshal(c.Config, &cfg) == nil {
				for _, k := range cfg.Credentials {
					if k.IsPasswordless {
						first = true
					} else {
						second = true
					}
				}
			}
		}
	}
	switch {
	case second:
		return AAL2
	case first:
		return AAL1
	default:
		return AAL0
	}
}
