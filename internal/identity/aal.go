package identity

// Factor is what a set of credentials lets an identity prove.
type Factor int

const (
	// NoFactor: the credentials cannot be used to authenticate (an empty
	// password config, used-up lookup codes).
	NoFactor Factor = iota
	// FirstFactor: the credentials sign an identity in on their own (aal1).
	FirstFactor
	// SecondFactor: the credentials add a second factor (aal2).
	SecondFactor
)

// CredentialsKind describes one type of credentials to the code that does
// not own it: which factors they provide. Each method package declares the
// kind of credentials it owns, and internal/app hands every kind to the
// identity service, so nothing below the methods parses another method's
// configuration.
type CredentialsKind interface {
	// CredentialsType is the type the kind describes.
	CredentialsType() CredentialsType
	// Factors reports which factors c provides. A type may provide both (a
	// WebAuthn credential holding a passwordless key and a second-factor
	// key).
	Factors(c Credentials) []Factor
}

// HighestAAL derives the highest authenticator assurance level that creds
// allow: aal2 when any kind reports a second factor, aal1 when any reports a
// first factor, else aal0. Credentials of a type no kind describes count
// for nothing.
func HighestAAL(creds map[CredentialsType]Credentials, kinds []CredentialsKind) string {
	first, second := false, false
	for _, k := range kinds {
		c, ok := creds[k.CredentialsType()]
		if !ok {
			continue
		}
		for _, f := range k.Factors(c) {
			switch f {
			case FirstFactor:
				first = true
			case SecondFactor:
				second = true
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

// CountFactors counts how many of factor f i's credentials provide, over
// every kind (a WebAuthn key or a linked provider account counts once
// each). Methods use it to refuse removing an identity's last first factor.
func (s *Service) CountFactors(i *Identity, f Factor) int {
	n := 0
	for _, k := range s.kinds {
		c, ok := i.Credentials[k.CredentialsType()]
		if !ok {
			continue
		}
		for _, got := range k.Factors(c) {
			if got == f {
				n++
			}
		}
	}
	return n
}
