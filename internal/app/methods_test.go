package app

import (
	"encoding/json"
	"testing"

	"github.com/hoplite-id/hoplite/internal/identity"
)

// Every kind of credentials counts toward an identity's first factors, each
// passwordless key and each linked provider account once: the settings
// methods refuse to remove the last one on that count.
func TestCountFactorsOverEveryKind(t *testing.T) {
	ids := identity.NewService(nil, nil, nil, CredentialKinds()...)
	raw := func(v any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	i := &identity.Identity{Credentials: map[identity.CredentialsType]identity.Credentials{
		identity.CredentialsOIDC: {Type: identity.CredentialsOIDC, Identifiers: []string{"a:1", "b:2"},
			Config: raw(map[string]any{"providers": []map[string]string{{"provider": "a", "subject": "1"}, {"provider": "b", "subject": "2"}}})},
		identity.CredentialsWebAuthn: {Type: identity.CredentialsWebAuthn,
			Config: raw(map[string]any{"credentials": []map[string]bool{{"is_passwordless": true}, {"is_passwordless": false}}})},
	}}
	if got := ids.CountFactors(i, identity.FirstFactor); got != 3 {
		t.Fatalf("first factors: %d, want 3 (two provider accounts, one passwordless key)", got)
	}
	if got := ids.CountFactors(i, identity.SecondFactor); got != 1 {
		t.Fatalf("second factors: %d, want 1", got)
	}
	if got := ids.AvailableAAL(i); got != identity.AAL2 {
		t.Fatalf("available AAL %s, want aal2", got)
	}
	delete(i.Credentials, identity.CredentialsWebAuthn)
	if got := ids.CountFactors(i, identity.FirstFactor); got != 2 {
		t.Fatalf("first factors without keys: %d, want 2", got)
	}
}
