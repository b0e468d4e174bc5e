package app

import (
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/lookup"
	"github.com/hoplite-id/hoplite/internal/method/oidc"
	"github.com/hoplite-id/hoplite/internal/method/password"
	"github.com/hoplite-id/hoplite/internal/method/totp"
	"github.com/hoplite-id/hoplite/internal/method/webauthn"
)

// CredentialKinds lists every kind of credentials the server knows. An
// identity's available assurance level counts them all, enabled or not: an
// imported second factor counts before its method is switched on.
func CredentialKinds() []identity.CredentialsKind {
	return []identity.CredentialsKind{
		password.Credentials{}, oidc.Credentials{}, totp.Credentials{}, lookup.Credentials{}, webauthn.Credentials{},
	}
}
