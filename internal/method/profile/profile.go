// Package profile is the settings method that edits an identity's traits.
package profile

import (
	"context"
	"net/http"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// Method implements flow.SettingsMethod.
type Method struct {
	identities *identity.Service
}

// New wires the method.
func New(identities *identity.Service) *Method { return &Method{identities: identities} }

// ID is "profile".
func (m *Method) ID() string { return "profile" }

// PopulateSettings renders the identity's traits, pre-filled.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	if i == nil {
		return nil
	}
	sc, err := m.identities.SchemaFor(i.SchemaID)
	if err != nil {
		return err
	}
	for _, n := range flow.TraitNodes(sc, ui.GroupProfile, i.Traits) {
		f.UI.Upsert(n)
	}
	f.UI.Upsert(ui.NewInput("method", "profile", ui.GroupProfile, ui.InputSubmit, ui.WithLabel(ui.InfoNodeLabelSave())))
	return nil
}

// Settings replaces the traits. Changing an identifier or an address (what
// protects the account) needs a recent login; other traits do not.
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	i := req.Identity
	sc, err := m.identities.SchemaFor(i.SchemaID)
	if err != nil {
		return nil, err
	}
	traits, err := b.Traits(sc.FormFields())
	if err != nil {
		return nil, err
	}
	before := *i
	oldEx, err := sc.ValidateTraits(before.Traits)
	if err != nil {
		// The stored traits no longer match the schema (it changed); any new
		// set of traits replaces them, but only with a recent login.
		oldEx = nil
	}
	candidate := *i
	candidate.Traits = traits
	candidate.Credentials = cloneCredentials(i.Credentials)
	newEx, err := m.identities.Prepare(&candidate)
	if err != nil {
		return nil, err
	}
	if (oldEx == nil || !oldEx.ProtectedEqual(newEx)) && !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	i.Traits = traits
	return nil, nil
}

func cloneCredentials(in map[identity.CredentialsType]identity.Credentials) map[identity.CredentialsType]identity.Credentials {
	out := make(map[identity.CredentialsType]identity.Credentials, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
