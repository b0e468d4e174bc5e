package app

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/factor"
	"github.com/hoplite-id/hoplite/internal/method/lookup"
	"github.com/hoplite-id/hoplite/internal/method/oidc"
	"github.com/hoplite-id/hoplite/internal/method/password"
	"github.com/hoplite-id/hoplite/internal/method/totp"
	"github.com/hoplite-id/hoplite/internal/method/webauthn"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/throttle"
	"github.com/hoplite-id/hoplite/internal/webauthnjs"
)

// CredentialKinds lists every kind of credentials the server knows. An
// identity's available assurance level counts them all, enabled or not: an
// imported second factor counts before its method is switched on.
func CredentialKinds() []identity.CredentialsKind {
	return []identity.CredentialsKind{
		password.Credentials{}, oidc.Credentials{}, totp.Credentials{}, lookup.Credentials{}, webauthn.Credentials{},
	}
}

// secondFactorMethods builds the enabled second-factor (and security-key)
// methods, in the order their nodes appear.
func secondFactorMethods(cfg *config.Config, st *sqlstore.Store, identities *identity.Service, publicURL *url.URL, limiter *throttle.Limiter) ([]flow.Method, error) {
	// Code guesses count like password guesses (security.brute_force). A
	// nil limiter must stay a nil interface, which the methods skip.
	var guard factor.Throttle
	if limiter != nil {
		guard = limiter
	}
	var out []flow.Method
	m := cfg.Selfservice.Methods
	if m.TOTP.Enabled {
		// TOTP keys are read back to check codes, so they are encrypted,
		// never hashed; see cipher.AtRest for the key when no cipher is
		// configured.
		// Any configured secret will do (secrets.default first): a Kratos
		// file may set only secrets.cookie.
		c, err := cipher.AtRest(cfg.Ciphers.Algorithm, cfg.Secrets.Cipher, cfg.SessionSecrets())
		if err != nil {
			return nil, err
		}
		issuer := m.TOTP.Config.Issuer
		if issuer == "" {
			issuer = publicURL.Hostname()
		}
		out = append(out, totp.New(st, identities, c, totp.Config{Issuer: issuer, Throttle: guard}))
	}
	if m.LookupSecret.Enabled {
		out = append(out, lookup.New(st, cfg.Secrets.Default, guard).WithIdentityRefresh(identities.Update))
	}
	if wc := m.WebAuthn; wc.Enabled {
		origin := wc.Config.RP.Origin
		if origin == "" {
			origin = publicURL.Scheme + "://" + publicURL.Host
		}
		w, err := webauthn.New(st, identities, webauthn.Config{
			RPID: wc.Config.RP.ID, RPDisplayName: wc.Config.RP.DisplayName, RPOrigin: origin,
			Passwordless: wc.Config.Passwordless, Passkeys: wc.Config.Passkeys,
			ScriptURL:       strings.TrimSuffix(publicURL.String(), "/") + "/.well-known/ory/webauthn.js",
			ScriptIntegrity: webauthnjs.Integrity(),
		})
		if err != nil {
			return nil, fmt.Errorf("selfservice.methods.webauthn: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}
