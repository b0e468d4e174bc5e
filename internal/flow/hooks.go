package flow

import (
	"net/http"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

// runBuiltinHooks runs the hooks the engine implements itself, in their
// configured order: revoke_active_sessions ends the identity's other
// sessions, require_verified_address refuses password logins of identities
// without a verified address. (session is handled by registration; web_hook
// by the Hooks dependency.)
func (e *Engine) runBuiltinHooks(r *http.Request, f *Flow, i *identity.Identity, s *session.Session, method string, hooks []config.Hook) error {
	for _, h := range hooks {
		switch h.Hook {
		case config.HookRevokeActiveSessions:
			if s == nil {
				continue
			}
			if _, err := e.Sessions.RevokeOthers(r.Context(), i.ID, s.ID); err != nil {
				return err
			}
		case config.HookRequireVerifiedAddress:
			if !h.AppliesTo(method) {
				continue
			}
			if len(i.VerifiableAddresses) == 0 {
				return httpx.Internal(nil).WithReason("The require_verified_address hook is configured, but the identity has no verifiable address; check the identity schema.")
			}
			verified := false
			for _, a := range i.VerifiableAddresses {
				verified = verified || a.Verified
			}
			if !verified {
				return NewFormError("", ui.ErrAddressNotVerified())
			}
		}
	}
	return nil
}

// credentialChanged applies security.credential_changes after identity i's
// sign-in secret was replaced or a recovery signed it in (change): the
// identity's other sessions end (keep, the session that made
// the change or the recovery's new one, stays), every unused recovery link
// of the identity stops working, and the owner is mailed. Each is off
// unless its key is on.
func (e *Engine) credentialChanged(r *http.Request, i *identity.Identity, keep *session.Session, change CredentialChange) error {
	cc := e.Config.CredentialChanges
	ctx := r.Context()
	if cc.RevokeOtherSessions && keep != nil {
		if _, err := e.Sessions.RevokeOthers(ctx, i.ID, keep.ID); err != nil {
			return err
		}
	}
	if cc.InvalidateRecoveryLinks {
		for _, m := range e.linkRevokers {
			if err := m.RevokeRecoveryLinks(ctx, i.ID); err != nil {
				return err
			}
		}
	}
	if cc.Notify && e.Notifier != nil {
		if err := e.Notifier.NotifyCredentialChange(ctx, i, change); err != nil {
			return err
		}
	}
	return nil
}
