package totp

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/method/factor"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/ui"
)

const (
	id = string(identity.CredentialsTOTP)

	// pendingKey holds, in the settings flow's internal context, the
	// encrypted key URL shown as a QR code until a code proves the app has
	// it.
	pendingKey = "totp_pending_url"

	qrSize = 256
)

// Config are the method's settings.
type Config struct {
	// Issuer is shown in authenticator apps (totp.config.issuer; the
	// public URL's host when empty).
	Issuer string
	// Clock tells the time; nil means time.Now.
	Clock func() time.Time
	// Throttle limits code guessing; nil means none.
	Throttle factor.Throttle
}

// Method implements flow.LoginMethod (second factor) and
// flow.SettingsMethod.
type Method struct {
	store      factor.Store
	identities *identity.Service
	cipher     cipher.Cipher
	cfg        Config
}

// New wires the method. c encrypts the keys at rest (cipher.AtRest).
func New(st factor.Store, identities *identity.Service, c cipher.Cipher, cfg Config) *Method {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Method{store: st, identities: identities, cipher: c, cfg: cfg}
}

// ID is "totp".
func (m *Method) ID() string { return id }

// SecretInputs: codes are never echoed back.
func (m *Method) SecretInputs() []string { return []string{"totp_code"} }

// ClaimsSubmission: the unlink button submits only totp_unlink.
func (m *Method) ClaimsSubmission(b *flow.Body) bool { return b.Bool("totp_unlink") }

// config is the stored form of totp credentials. Hoplite writes the key URL
// encrypted (TOTPURLEncrypted) and remembers the last time step a code was
// accepted for; credentials imported from Kratos carry the URL in the clear
// (TOTPURL) and are encrypted when next written.
type config struct {
	TOTPURL          string `json:"totp_url,omitempty"`
	TOTPURLEncrypted string `json:"totp_url_encrypted,omitempty"`
	LastStep         int64  `json:"last_step,omitempty"`
}

func parseConfig(raw json.RawMessage) (config, bool) {
	var c config
	if json.Unmarshal(raw, &c) != nil {
		return c, false
	}
	return c, c.TOTPURLEncrypted != "" || strings.HasPrefix(c.TOTPURL, "otpauth://")
}

// key opens the stored key URL.
func (m *Method) key(c config) (*otp.Key, error) {
	u := c.TOTPURL
	if c.TOTPURLEncrypted != "" {
		plain, err := m.cipher.Decrypt(c.TOTPURLEncrypted)
		if err != nil {
			return nil, err
		}
		u = string(plain)
	}
	return otp.NewKeyFromURL(u)
}

func (m *Method) seal(k *otp.Key, lastStep int64) (json.RawMessage, error) {
	enc, err := m.cipher.Encrypt([]byte(k.URL()))
	if err != nil {
		return nil, err
	}
	return json.Marshal(config{TOTPURLEncrypted: enc, LastStep: lastStep})
}

// match checks code against k around now and returns the time step it
// belongs to. Codes of the previous and next step are accepted too (clock
// drift), as Kratos does; a step at or before lastStep is refused: its code
// was used already.
func (m *Method) match(k *otp.Key, code string, lastStep int64) (int64, bool) {
	code = strings.TrimSpace(code)
	period := int64(k.Period())
	if period <= 0 {
		period = 30
	}
	opts := totp.ValidateOpts{Period: uint(period), Digits: k.Digits(), Algorithm: k.Algorithm()}
	if len(code) != k.Digits().Length() {
		return 0, false
	}
	now := m.cfg.Clock().Unix() / period
	found, step := false, int64(0)
	for _, s := range []int64{now - 1, now, now + 1} {
		want, err := totp.GenerateCodeCustom(k.Secret(), time.Unix(s*period, 0).UTC(), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep && !found {
			found, step = true, s
		}
	}
	return step, found
}

func wrongCode() error { return flow.NewFormError("totp_code", ui.ErrInvalidTOTPCode()) }

// PopulateLogin offers the code input on second-factor flows of identities
// with an authenticator app.
func (m *Method) PopulateLogin(r *http.Request, f *flow.Flow, sess *session.Session) error {
	if f.RequestedAAL != identity.AAL2 || sess == nil {
		return nil
	}
	i, err := m.store.GetIdentity(r.Context(), sess.IdentityID, true)
	if err != nil {
		return err
	}
	if _, ok := parseConfig(i.Credentials[identity.CredentialsTOTP].Config); !ok {
		return nil
	}
	f.UI.Upsert(ui.NewInput("totp_code", "", ui.GroupTOTP, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoLoginTOTPLabel())))
	f.UI.Upsert(ui.NewInput("method", id, ui.GroupTOTP, ui.InputSubmit, ui.WithLabel(ui.InfoLoginTOTP())))
	return nil
}

// Login checks a code of the signed-in identity's app. A code is accepted
// once: its time step is stored, atomically, before the login succeeds.
func (m *Method) Login(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, sess *session.Session) (*flow.Result, error) {
	if f.RequestedAAL != identity.AAL2 || sess == nil {
		return nil, flow.ErrNotResponsible
	}
	if !b.Has("totp_code") {
		return nil, flow.NewFormError("totp_code", ui.ErrMissingProperty("totp_code"))
	}
	i, err := m.store.GetIdentity(ctx, sess.IdentityID, true)
	if err != nil {
		return nil, err
	}
	c := i.Credentials[identity.CredentialsTOTP]
	cfg, ok := parseConfig(c.Config)
	if !ok {
		return nil, flow.NewFormError("", ui.ErrNoTOTPDevice())
	}
	guard := factor.NewGuard(ctx, m.cfg.Throttle, id, i.ID)
	if err := guard.Allow(ctx); err != nil {
		return nil, err
	}
	k, err := m.key(cfg)
	if err != nil {
		return nil, err
	}
	step, ok := m.match(k, b.String("totp_code"), cfg.LastStep)
	if err := guard.Record(ctx, ok); err != nil {
		return nil, err
	}
	if !ok {
		return nil, wrongCode()
	}
	next, err := m.seal(k, step)
	if err != nil {
		return nil, err
	}
	if err := m.store.SwapCredentialsConfig(ctx, i.ID, identity.CredentialsTOTP, c.Config, next); err != nil {
		if factor.Spent(err) {
			// Another request used a code of this app at the same moment.
			return nil, wrongCode()
		}
		return nil, err
	}
	return flow.Done(i, identity.AAL2), nil
}

// PopulateSettings offers unlinking when an app is set up, else a new key
// (QR code and secret) and the code input that confirms it.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	if i == nil {
		return nil
	}
	if _, ok := parseConfig(i.Credentials[identity.CredentialsTOTP].Config); ok {
		f.DeleteInternal(pendingKey)
		f.UI.Upsert(ui.NewInput("totp_unlink", "true", ui.GroupTOTP, ui.InputSubmit, ui.Required(), ui.WithLabel(ui.InfoSettingsTOTPUnlink())))
		return nil
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: m.cfg.Issuer, AccountName: m.accountName(i),
		Period: 30, SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return err
	}
	enc, err := m.cipher.Encrypt([]byte(k.URL()))
	if err != nil {
		return err
	}
	if err := f.SetInternal(pendingKey, enc); err != nil {
		return err
	}
	img, err := k.Image(qrSize, qrSize)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	src := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	f.UI.Upsert(ui.NewImage("totp_qr", src, qrSize, qrSize, ui.GroupTOTP, ui.InfoSettingsTOTPQRCode()))
	secretNode := ui.NewText("totp_secret_key", ui.InfoSettingsTOTPSecret(k.Secret()), ui.GroupTOTP)
	label := ui.InfoSettingsTOTPSecretLabel()
	secretNode.Meta.Label = &label
	f.UI.Upsert(secretNode)
	f.UI.Upsert(ui.NewInput("totp_code", "", ui.GroupTOTP, ui.InputText, ui.Required(), ui.WithLabel(ui.InfoNodeLabelVerifyCode())))
	f.UI.Upsert(ui.NewInput("method", id, ui.GroupTOTP, ui.InputSubmit, ui.WithLabel(ui.InfoNodeLabelSave())))
	return nil
}

// accountName is the trait the schema flags credentials.totp.account_name,
// else the identity's id.
func (m *Method) accountName(i *identity.Identity) string {
	if sc, err := m.identities.SchemaFor(i.SchemaID); err == nil {
		if ex, err := sc.ValidateTraits(i.Traits); err == nil && ex.TOTPAccountName != "" {
			return ex.TOTPAccountName
		}
	}
	return i.ID.String()
}

// Settings sets up the key shown on the flow once a code proves the app
// has it (recording the second factor on the session), or unlinks the app.
// Both need a recent login, as in Kratos.
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	i := req.Identity
	_, has := parseConfig(i.Credentials[identity.CredentialsTOTP].Config)
	if b.Bool("totp_unlink") {
		if !has {
			return nil, flow.NewFormError("", ui.ErrNoTOTPDevice())
		}
		if !req.Privileged {
			return nil, flow.ErrPrivilegeRequired
		}
		delete(i.Credentials, identity.CredentialsTOTP)
		return nil, nil
	}
	if has {
		// The form shows only the unlink button: a code now is a stale form.
		return nil, flow.NewFormError("totp_code", ui.ErrValidation("An authenticator app is set up already; unlink it first to set up another one."))
	}
	var enc string
	if ok, _ := f.GetInternal(pendingKey, &enc); !ok || enc == "" {
		return nil, flow.NewFormError("totp_code", ui.ErrValidation("No authenticator app key is pending on this flow; start a new settings flow."))
	}
	if !b.Has("totp_code") || b.String("totp_code") == "" {
		return nil, flow.NewFormError("totp_code", ui.ErrMissingProperty("totp_code"))
	}
	if !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	plain, err := m.cipher.Decrypt(enc)
	if err != nil {
		return nil, errors.New("totp: the pending key of the flow cannot be decrypted")
	}
	k, err := otp.NewKeyFromURL(string(plain))
	if err != nil {
		return nil, err
	}
	step, ok := m.match(k, b.String("totp_code"), 0)
	if !ok {
		return nil, wrongCode()
	}
	// The code that set the app up cannot sign in again.
	cfg, err := m.seal(k, step)
	if err != nil {
		return nil, err
	}
	i.SetCredentials(identity.CredentialsTOTP, cfg, identity.Now())
	f.DeleteInternal(pendingKey)
	return &flow.Result{Identity: i, AAL: identity.AAL2}, nil
}
