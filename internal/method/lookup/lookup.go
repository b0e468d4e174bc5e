package lookup

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/factor"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

const (
	id = string(identity.CredentialsLookupSecret)

	// codeCount codes of codeLength characters from codeAlphabet, as Kratos
	// makes them (41 bits each).
	codeCount    = 12
	codeLength   = 8
	codeAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

	// pendingKey holds, in the settings flow's internal context, the keyed
	// hashes of regenerated codes until they are confirmed. The codes
	// themselves are only in the form shown once.
	pendingKey = "lookup_secret_pending"

	// masked stands for a stored code, which only its hash is kept of.
	masked = "********"

	nodeRegenerate = "lookup_secret_regenerate"
	nodeReveal     = "lookup_secret_reveal"
	nodeConfirm    = "lookup_secret_confirm"
	nodeDisable    = "lookup_secret_disable"
	nodeCodes      = "lookup_secret_codes"
	nodeLogin      = "lookup_secret"
)

// Method implements flow.LoginMethod (second factor) and
// flow.SettingsMethod.
type Method struct {
	store    factor.Store
	hasher   *secret.TokenHasher
	throttle factor.Throttle
	now      func() time.Time
	// refresh stores an identity again (recomputing its available
	// assurance level); nil skips it.
	refresh func(context.Context, *identity.Identity) error
}

// New wires the method. Codes are stored as HMAC-SHA256 under keys derived
// from secrets (secrets.default); every key is tried on use.
func New(st factor.Store, secrets []string, throttle factor.Throttle) *Method {
	return &Method{store: st, hasher: secret.NewTokenHasher("lookup-secret", secrets), throttle: throttle, now: time.Now}
}

// WithIdentityRefresh sets how an identity is stored again when its last
// code is spent (identity.Service.Update).
func (m *Method) WithIdentityRefresh(f func(context.Context, *identity.Identity) error) *Method {
	m.refresh = f
	return m
}

// ID is "lookup_secret".
func (m *Method) ID() string { return id }

// SecretInputs: codes are never echoed back.
func (m *Method) SecretInputs() []string { return []string{nodeLogin} }

// ClaimsSubmission: the settings buttons submit only their own names (and
// Kratos' SDK documents the method as "lookup").
func (m *Method) ClaimsSubmission(b *flow.Body) bool {
	return b.Bool(nodeRegenerate) || b.Bool(nodeReveal) || b.Bool(nodeConfirm) || b.Bool(nodeDisable)
}

// code is one stored backup code: Hoplite keeps its keyed hash; codes
// imported from Kratos carry the code in the clear and are hashed the first
// time the list is written again.
type code struct {
	Code   string     `json:"code,omitempty"`
	Hash   string     `json:"code_hash,omitempty"`
	UsedAt *time.Time `json:"used_at,omitempty"`
}

type config struct {
	RecoveryCodes []code `json:"recovery_codes"`
}

// used reports whether the code was spent. A zero time counts as unused:
// exports may write an unset time so.
func (e code) used() bool { return e.UsedAt != nil && !e.UsedAt.IsZero() }

func parseConfig(raw json.RawMessage) config {
	var c config
	_ = json.Unmarshal(raw, &c)
	return c
}

func (c config) has() bool { return len(c.RecoveryCodes) > 0 }

// hashed returns c with every code hashed under the current key.
func (m *Method) hashed(c config) config {
	out := config{RecoveryCodes: make([]code, len(c.RecoveryCodes))}
	for k, e := range c.RecoveryCodes {
		if e.Code != "" {
			e = code{Hash: m.hasher.Hash(e.Code), UsedAt: e.UsedAt}
		}
		out.RecoveryCodes[k] = e
	}
	return out
}

// find returns the index of the entry matching given, or -1. Every entry is
// compared, so the time taken does not tell which one matched.
func (m *Method) find(c config, given string) int {
	candidates := m.hasher.Candidates(given)
	found := -1
	for k, e := range c.RecoveryCodes {
		match := 0
		if e.Code != "" {
			match = subtle.ConstantTimeCompare([]byte(e.Code), []byte(given))
		} else {
			for _, h := range candidates {
				match |= subtle.ConstantTimeCompare([]byte(e.Hash), []byte(h))
			}
		}
		if match == 1 && found < 0 {
			found = k
		}
	}
	return found
}

// PopulateLogin offers the code input on second-factor flows of identities
// with backup codes.
func (m *Method) PopulateLogin(r *http.Request, f *flow.Flow, sess *session.Session) error {
	if f.RequestedAAL != identity.AAL2 || sess == nil {
		return nil
	}
	i, err := m.store.GetIdentity(r.Context(), sess.IdentityID, true)
	if err != nil {
		return err
	}
	if !parseConfig(i.Credentials[identity.CredentialsLookupSecret].Config).has() {
		return nil
	}
	f.UI.Upsert(ui.NewInput(nodeLogin, "", ui.GroupLookupSecret, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoLoginLookupLabel())))
	f.UI.Upsert(ui.NewInput("method", id, ui.GroupLookupSecret, ui.InputSubmit, ui.WithLabel(ui.InfoLoginLookup())))
	return nil
}

// Login spends one unused code of the signed-in identity.
func (m *Method) Login(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, sess *session.Session) (*flow.Result, error) {
	if f.RequestedAAL != identity.AAL2 || sess == nil {
		return nil, flow.ErrNotResponsible
	}
	given := b.String(nodeLogin)
	if !b.Has(nodeLogin) {
		return nil, flow.NewFormError(nodeLogin, ui.ErrMissingProperty(nodeLogin))
	}
	i, err := m.store.GetIdentity(ctx, sess.IdentityID, true)
	if err != nil {
		return nil, err
	}
	c := i.Credentials[identity.CredentialsLookupSecret]
	cfg := parseConfig(c.Config)
	if !cfg.has() {
		return nil, flow.NewFormError(nodeLogin, ui.ErrNoLookupCodes())
	}
	guard := factor.NewGuard(ctx, m.throttle, id, i.ID)
	if err := guard.Allow(ctx); err != nil {
		return nil, err
	}
	k := m.find(cfg, given)
	if err := guard.Record(ctx, k >= 0); err != nil {
		return nil, err
	}
	if k < 0 {
		return nil, flow.NewFormError(nodeLogin, ui.ErrLookupCodeInvalid())
	}
	if cfg.RecoveryCodes[k].used() {
		return nil, flow.NewFormError(nodeLogin, ui.ErrLookupCodeUsed())
	}
	next := m.hashed(cfg)
	// Kratos records the use to the second, in UTC.
	used := m.now().UTC().Truncate(time.Second)
	next.RecoveryCodes[k].UsedAt = &used
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	if err := m.store.SwapCredentialsConfig(ctx, i.ID, identity.CredentialsLookupSecret, c.Config, raw); err != nil {
		if factor.Spent(err) {
			// Another request spent a code of this list at the same moment;
			// this one may have been it.
			return nil, flow.NewFormError(nodeLogin, ui.ErrLookupCodeUsed())
		}
		return nil, err
	}
	if m.refresh != nil && !next.unused() {
		// The last code is spent: the identity may have no second factor
		// left, and its available assurance level must say so, or
		// highest_available would ask new sessions for a factor they
		// cannot give.
		if fresh, err := m.store.GetIdentity(ctx, i.ID, true); err == nil {
			if err := m.refresh(ctx, fresh); err != nil {
				httpx.Logger(ctx).Warn("could not update the available assurance level after the last backup code", "error", err)
			}
		}
	}
	return flow.Done(i, identity.AAL2), nil
}

// unused reports whether a code is left to use.
func (c config) unused() bool {
	for _, e := range c.RecoveryCodes {
		if !e.used() {
			return true
		}
	}
	return false
}

func button(name string, label ui.Text) ui.Node {
	return ui.NewInput(name, "true", ui.GroupLookupSecret, ui.InputSubmit, ui.WithLabel(label))
}

func codesNode(items []ui.Text) ui.Node {
	n := ui.NewText(nodeCodes, ui.InfoSettingsLookupSecretList(items), ui.GroupLookupSecret)
	label := ui.InfoSettingsLookupSecretsLabel()
	n.Meta.Label = &label
	return n
}

// PopulateSettings offers to reveal or disable existing codes, else to
// generate some.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	if i == nil {
		return nil
	}
	if parseConfig(i.Credentials[identity.CredentialsLookupSecret].Config).has() {
		f.UI.Upsert(button(nodeReveal, ui.InfoSettingsLookupReveal()))
		f.UI.Upsert(button(nodeDisable, ui.InfoSettingsDisable()))
		return nil
	}
	f.UI.Upsert(button(nodeRegenerate, ui.InfoSettingsLookupRegenerate()))
	return nil
}

// Settings handles the four buttons. Regenerate shows new codes (kept on
// the flow until confirmed), confirm stores them (and records the second
// factor on the session), reveal lists the stored codes and disable removes
// them. All need a recent login, as in Kratos.
//
// Stored codes are hashed, so reveal cannot show them again: it lists each
// as masked or, once used, as used with its time (see docs/configuration.md).
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	reveal, regenerate, confirm, disable := b.Bool(nodeReveal), b.Bool(nodeRegenerate), b.Bool(nodeConfirm), b.Bool(nodeDisable)
	if !reveal && !regenerate && !confirm && !disable {
		return nil, flow.ErrNotResponsible
	}
	if !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	i := req.Identity
	stored := parseConfig(i.Credentials[identity.CredentialsLookupSecret].Config)
	switch {
	case reveal:
		if !stored.has() {
			return nil, flow.NewFormError("", ui.ErrNoLookupCodes())
		}
		items := make([]ui.Text, len(stored.RecoveryCodes))
		for k, e := range stored.RecoveryCodes {
			if e.used() {
				items[k] = ui.InfoSettingsLookupSecretUsed(e.UsedAt.UTC())
			} else {
				items[k] = ui.InfoSettingsLookupSecret(masked)
			}
		}
		f.UI.RemoveGroup(ui.GroupLookupSecret)
		f.UI.Upsert(codesNode(items))
		f.UI.Upsert(button(nodeRegenerate, ui.InfoSettingsLookupRegenerate()))
		f.UI.Upsert(button(nodeDisable, ui.InfoSettingsDisable()))
		return flow.Continue(), nil
	case regenerate:
		items := make([]ui.Text, codeCount)
		hashes := make([]string, codeCount)
		for k := range items {
			c := newCode()
			items[k] = ui.InfoSettingsLookupSecret(c)
			hashes[k] = m.hasher.Hash(c)
		}
		if err := f.SetInternal(pendingKey, hashes); err != nil {
			return nil, err
		}
		f.UI.RemoveGroup(ui.GroupLookupSecret)
		f.UI.Upsert(codesNode(items))
		f.UI.Upsert(button(nodeConfirm, ui.InfoSettingsLookupConfirm()))
		return flow.Continue(), nil
	case confirm:
		var hashes []string
		if ok, _ := f.GetInternal(pendingKey, &hashes); !ok || len(hashes) == 0 {
			return nil, flow.NewFormError("", ui.ErrValidation("There are no new backup recovery codes to confirm; generate them first."))
		}
		cfg := config{RecoveryCodes: make([]code, len(hashes))}
		for k, h := range hashes {
			cfg.RecoveryCodes[k] = code{Hash: h}
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		i.SetCredentials(identity.CredentialsLookupSecret, raw, identity.Now())
		f.DeleteInternal(pendingKey)
		return &flow.Result{Identity: i, AAL: identity.AAL2}, nil
	default: // disable
		if !stored.has() {
			return nil, flow.NewFormError("", ui.ErrNoLookupCodes())
		}
		delete(i.Credentials, identity.CredentialsLookupSecret)
		f.DeleteInternal(pendingKey)
		return nil, nil
	}
}

// newCode draws codeLength characters uniformly from codeAlphabet with a
// CSPRNG (rejection sampling).
func newCode() string {
	out := make([]byte, 0, codeLength)
	buf := make([]byte, 16)
	for len(out) < codeLength {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 252 = 7*36: larger bytes would bias the result.
			if b < 252 && len(out) < codeLength {
				out = append(out, codeAlphabet[b%36])
			}
		}
	}
	return string(out)
}
