package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/hoplite-id/hoplite/internal/cipher"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/flow"
	"github.com/hoplite-id/hoplite/internal/httpx"
	"github.com/hoplite-id/hoplite/internal/identity"
	"github.com/hoplite-id/hoplite/internal/session"
	"github.com/hoplite-id/hoplite/internal/store"
	"github.com/hoplite-id/hoplite/internal/ui"
)

const id = string(identity.CredentialsOIDC)

// maxStateCookie bounds the state cookie's value, below the 4096 bytes
// browsers keep of a cookie with its name and attributes.
const maxStateCookie = 3800

// callbackPath is where providers send the browser back, followed by the
// provider's id.
const callbackPath = "/self-service/methods/oidc/callback/"

// Store is the storage the method needs.
type Store interface {
	FindByCredentialsIdentifier(ctx context.Context, t identity.CredentialsType, identifier string) (*identity.Identity, *identity.Credentials, error)
}

// Config is the method's configuration.
type Config struct {
	Providers []config.OIDCProvider
	// RedirectBase is selfservice.methods.oidc.config.base_redirect_uri, or
	// the public base URL.
	RedirectBase *url.URL
	// CookieSecrets seal the state cookie; the first seals, all open.
	CookieSecrets []string
	// CookieSecure marks the state cookie Secure (off in dev mode).
	CookieSecure bool
}

// Method is social sign-in with OpenID Connect and OAuth2 providers. It
// implements flow.LoginMethod, flow.RegistrationMethod,
// flow.SettingsMethod, flow.CallbackMethod and flow.SubmissionClaimer.
type Method struct {
	store      Store
	identities *identity.Service
	cipher     cipher.Cipher
	states     *stateCodec
	base       *url.URL

	providers []provider
	mappers   map[string]*mapper
}

// New wires the method. client makes every request to the providers and
// loads the mappers.
func New(st Store, identities *identity.Service, c cipher.Cipher, client *http.Client, cfg Config) (*Method, error) {
	states, err := newStateCodec(cfg.CookieSecrets, cfg.CookieSecure)
	if err != nil {
		return nil, err
	}
	m := &Method{store: st, identities: identities, cipher: c, states: states, base: cfg.RedirectBase, mappers: map[string]*mapper{}}
	seen := map[string]bool{}
	for _, pc := range cfg.Providers {
		if seen[pc.ID] {
			return nil, fmt.Errorf("selfservice.methods.oidc.config.providers: the id %q is used twice", pc.ID)
		}
		seen[pc.ID] = true
		p, err := newProvider(pc, client)
		if err != nil {
			return nil, fmt.Errorf("selfservice.methods.oidc.config.providers: %w", err)
		}
		m.providers = append(m.providers, p)
		m.mappers[pc.ID] = &mapper{location: pc.MapperURL, client: client}
	}
	return m, nil
}

// ID is "oidc".
func (m *Method) ID() string { return id }

func (m *Method) provider(pid string) provider {
	for _, p := range m.providers {
		if p.config().ID == pid {
			return p
		}
	}
	return nil
}

func label(p provider) string {
	if l := p.config().Label; l != "" {
		return l
	}
	return p.config().ID
}

// redirectURL is the callback URL registered at the provider.
func (m *Method) redirectURL(pid string) string {
	u := *m.base
	u.Path = strings.TrimSuffix(u.Path, "/") + callbackPath + pid
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

func providerNode(pid string, t ui.Text) ui.Node {
	return ui.NewInput("provider", pid, ui.GroupOIDC, ui.InputSubmit, ui.WithLabel(t))
}

// ClaimsSubmission takes submissions that carry provider (login,
// registration) or link/unlink (settings), as Kratos' forms send them
// without a method field.
func (m *Method) ClaimsSubmission(b *flow.Body) bool {
	for _, k := range []string{"provider", "link", "unlink"} {
		if b.String(k) != "" {
			return true
		}
	}
	return false
}

// field reads a submitted field from the body, else from the query.
func field(r *http.Request, b *flow.Body, name string) string {
	if v := b.String(name); v != "" {
		return v
	}
	return r.URL.Query().Get(name)
}

func errAPINotSupported() *httpx.Error {
	return httpx.BadRequest("Social Sign In and OpenID Connect are only supported for flows initiated using the Browser endpoint.").
		WithMessage("API-based flows are not supported for this method")
}

func errUnknownProvider(pid string) *httpx.Error {
	return httpx.NotFound(fmt.Sprintf("Unable to find OpenID Connect provider %q; check the value of the provider field.", truncate(pid, 64)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// PopulateLogin adds a button per provider to browser flows (not to
// second-factor flows).
func (m *Method) PopulateLogin(r *http.Request, f *flow.Flow, sess *session.Session) error {
	if f.Type != flow.TypeBrowser || f.RequestedAAL == identity.AAL2 {
		return nil
	}
	for _, p := range m.providers {
		f.UI.Append(providerNode(p.config().ID, ui.InfoLoginWith(label(p))))
	}
	return nil
}

// PopulateRegistration adds a button per provider to browser flows.
func (m *Method) PopulateRegistration(r *http.Request, f *flow.Flow) error {
	if f.Type != flow.TypeBrowser {
		return nil
	}
	for _, p := range m.providers {
		f.UI.Append(providerNode(p.config().ID, ui.InfoRegistrationWith(label(p))))
	}
	return nil
}

// Login sends the browser to the chosen provider.
func (m *Method) Login(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, sess *session.Session) (*flow.Result, error) {
	pid := field(r, b, "provider")
	if pid == "" || f.RequestedAAL == identity.AAL2 {
		return nil, flow.ErrNotResponsible
	}
	return m.start(ctx, f, pid, nil)
}

// Register sends the browser to the chosen provider, keeping the traits
// the form sent (the missing-traits continuation) for the callback.
func (m *Method) Register(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body) (*flow.Result, error) {
	pid := field(r, b, "provider")
	if pid == "" {
		return nil, flow.ErrNotResponsible
	}
	var traits json.RawMessage
	if b.Has("traits") {
		t, err := b.Traits(m.identities.Schemas().Default().FormFields())
		if err != nil {
			return nil, err
		}
		traits = t
	}
	return m.start(ctx, f, pid, traits)
}

// start begins a sign-in at provider pid for flow f: the state goes into
// the continuity cookie and the browser to the provider.
func (m *Method) start(ctx context.Context, f *flow.Flow, pid string, traits json.RawMessage) (*flow.Result, error) {
	if f.Type != flow.TypeBrowser {
		return nil, errAPINotSupported()
	}
	p := m.provider(pid)
	if p == nil {
		return nil, errUnknownProvider(pid)
	}
	conf, err := p.oauth2Config(ctx, m.redirectURL(pid))
	if err != nil {
		return nil, providerError(err)
	}
	st := &authState{FlowID: f.ID, Provider: pid, State: randomString(32), Verifier: oauth2.GenerateVerifier(), Traits: traits}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier)}
	if p.isOIDC() {
		st.Nonce = randomString(32)
		opts = append(opts, oauth2.SetAuthURLParam("nonce", st.Nonce))
	}
	if rc := p.config().RequestedClaims; len(rc) > 0 && string(rc) != "null" {
		opts = append(opts, oauth2.SetAuthURLParam("claims", string(rc)))
	}
	if f.Kind == flow.Login && f.Refresh {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	if p.config().Provider == "apple" && wantsAppleFormPost(conf.Scopes) {
		// Apple only answers requests for name or email with form_post.
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	cookie, err := m.states.cookie(st)
	if err != nil {
		return nil, err
	}
	if len(cookie.Value) > maxStateCookie {
		// Browsers drop larger cookies silently, and the callback would
		// find no state: refuse here, where the user can be told.
		return nil, flow.NewFormError("", ui.ErrValidation("The submitted traits are too large to continue the social sign-in with."))
	}
	res := flow.Redirect(conf.AuthCodeURL(st.State, opts...))
	res.Cookies = []*http.Cookie{cookie}
	return res, nil
}

func wantsAppleFormPost(scopes []string) bool {
	for _, s := range scopes {
		if s == "email" || s == "name" {
			return true
		}
	}
	return false
}

// providerError turns a failure to use a provider into a message on the
// flow: the user can try again or choose another way to sign in.
func providerError(err error) error {
	var pe *errProvider
	if errors.As(err, &pe) {
		return flow.NewFormError("", ui.ErrValidation("The social sign-in provider could not be reached or answered unexpectedly. Please try again later."))
	}
	return err
}

// CallbackRoutes are the provider's redirect targets: GET, and POST for
// response_mode=form_post.
func (m *Method) CallbackRoutes() []string {
	return []string{"GET " + callbackPath + "{provider}", "POST " + callbackPath + "{provider}"}
}

// CallbackFlow names the flow the state cookie is bound to. A POST (form
// post) is first moved to a GET with the same parameters, so that the
// browser sends its SameSite=Lax cookies.
func (m *Method) CallbackFlow(r *http.Request) (uuid.UUID, error) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return uuid.Nil, httpx.BadRequest("The callback's form could not be read.")
		}
		q := r.URL.Query()
		for k, vs := range r.PostForm {
			q[k] = vs
		}
		return uuid.Nil, &flow.CallbackRedirect{URL: m.redirectURL(r.PathValue("provider")) + "?" + q.Encode()}
	}
	st, err := m.states.read(r)
	if err != nil {
		return uuid.Nil, httpx.BadRequest("The social sign-in could not be continued: the browser holds no sign-in under way, or it expired. Please start again.").WithMessage("no resumable session found")
	}
	return st.FlowID, nil
}

// Callback completes the sign-in at the provider for flow f.
func (m *Method) Callback(ctx context.Context, w http.ResponseWriter, r *http.Request, f *flow.Flow, req *flow.SettingsRequest) (*flow.Result, error) {
	pid := r.PathValue("provider")
	st, err := m.states.read(r)
	if err != nil || st.FlowID != f.ID || st.Provider != pid {
		return nil, httpx.BadRequest("The social sign-in could not be continued: the browser holds no sign-in under way for this flow and provider. Please start again.").WithMessage("no resumable session found")
	}
	// The state is used once, whatever happens next.
	m.states.clear(w)
	p := m.provider(pid)
	if p == nil {
		return nil, errUnknownProvider(pid)
	}
	q := r.URL.Query()
	// The state comes first: only the provider the browser was sent to can
	// end the sign-in, with a code or with an error.
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the state parameter does not match. Please start again."))
	}
	if e := q.Get("error"); e != "" {
		reason := fmt.Sprintf("Unable to complete OpenID Connect flow because the OpenID Provider returned error %q", truncate(e, 64))
		if d := q.Get("error_description"); d != "" {
			reason += ": " + truncate(d, 256)
		}
		return nil, flow.NewFormError("", ui.ErrValidation(reason))
	}
	code := q.Get("code")
	if code == "" {
		return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the provider sent no authorization code."))
	}
	conf, err := p.oauth2Config(ctx, m.redirectURL(pid))
	if err != nil {
		return nil, providerError(err)
	}
	tok, err := conf.Exchange(p.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the provider refused the authorization code."))
		}
		return nil, providerError(&errProvider{err})
	}
	claims, err := p.claims(ctx, tok, st.Nonce)
	if err != nil {
		var te *errToken
		if errors.As(err, &te) {
			httpx.Logger(ctx).Warn("a social sign-in presented an invalid ID token", "provider", pid, "error", err.Error())
			return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the provider's ID token is not valid."))
		}
		return nil, providerError(err)
	}
	if claims.Subject == "" {
		return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the provider did not name the account."))
	}
	link, err := m.newLink(pid, claims.Subject, tok)
	if err != nil {
		return nil, err
	}
	identifier := pid + ":" + claims.Subject
	owner, _, err := m.store.FindByCredentialsIdentifier(ctx, identity.CredentialsOIDC, identifier)
	if errors.Is(err, store.ErrInvalidText) {
		return nil, flow.NewFormError("", ui.ErrValidation("The social sign-in could not be completed: the provider named the account in a way that cannot be stored."))
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	switch f.Kind {
	case flow.Settings:
		return m.linkCallback(req, owner, link)
	case flow.Login:
		if owner != nil {
			return &flow.Result{Identity: owner, AAL: identity.AAL1}, nil
		}
		i, incomplete, err := m.newIdentity(ctx, p, claims, st.Traits, link)
		if err != nil {
			return nil, err
		}
		return &flow.Result{Identity: i, AAL: identity.AAL1, Register: true, Incomplete: incomplete}, nil
	default: // registration
		if owner != nil {
			return &flow.Result{Identity: owner, AAL: identity.AAL1, SignIn: true}, nil
		}
		i, incomplete, err := m.newIdentity(ctx, p, claims, st.Traits, link)
		if err != nil {
			return nil, err
		}
		if incomplete != nil {
			return nil, incomplete(f)
		}
		return &flow.Result{Identity: i, AAL: identity.AAL1}, nil
	}
}

// newLink is the credential entry for a provider account, with the
// provider's tokens encrypted.
func (m *Method) newLink(pid, subject string, tok *oauth2.Token) (identity.OIDCProviderCredential, error) {
	enc := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		return m.cipher.Encrypt([]byte(s))
	}
	idToken, _ := tok.Extra("id_token").(string)
	c := identity.OIDCProviderCredential{Subject: subject, Provider: pid}
	var err error
	if c.InitialIDToken, err = enc(idToken); err != nil {
		return c, err
	}
	if c.InitialAccessToken, err = enc(tok.AccessToken); err != nil {
		return c, err
	}
	if c.InitialRefreshToken, err = enc(tok.RefreshToken); err != nil {
		return c, err
	}
	return c, nil
}

// newIdentity maps claims to a new identity with the provider link. When
// the traits fail the schema it returns incomplete, which builds the form
// asking for the rest and returns the validation error.
func (m *Method) newIdentity(ctx context.Context, p provider, claims *Claims, submitted json.RawMessage, link identity.OIDCProviderCredential) (*identity.Identity, func(*flow.Flow) error, error) {
	mp := m.mappers[p.config().ID]
	traits, err := mp.traits(ctx, claims)
	if err != nil {
		httpx.Logger(ctx).Error("the claims mapper of a social sign-in provider failed", "provider", p.config().ID, "error", err.Error())
		return nil, nil, httpx.New(http.StatusInternalServerError).WithReason("The claims of the social sign-in provider could not be mapped to an identity; the provider's mapper_url needs fixing.")
	}
	traits = mergeTraits(traits, submitted)
	sc := m.identities.Schemas().Default()
	i := &identity.Identity{ID: uuid.New(), SchemaID: sc.ID, Traits: traits, State: identity.StateActive}
	setLinks(i, []identity.OIDCProviderCredential{link})
	if _, err := m.identities.Prepare(i); err != nil {
		if _, isForm := flow.FormItems(err); !isForm {
			return nil, nil, err
		}
		pid := p.config().ID
		incomplete := func(f *flow.Flow) error {
			// As Kratos: the form starts over with the provider's continue
			// button and the traits (pre-filled with what was mapped), all in
			// the oidc group; the engine adds the anti-CSRF token and the
			// messages.
			f.UI.Nodes = nil
			f.UI.Messages = nil
			// The anti-CSRF token comes first, as in Kratos; the engine fills
			// in its value.
			f.UI.SetCSRF("")
			f.UI.Append(providerNode(pid, ui.InfoRegistrationContinue()))
			for _, n := range flow.TraitNodes(sc, ui.GroupOIDC, traits) {
				f.UI.Append(n)
			}
			return err
		}
		return i, incomplete, nil
	}
	return i, nil, nil
}

// links reads the provider accounts linked to i.
func links(i *identity.Identity) []identity.OIDCProviderCredential {
	c, ok := i.Credentials[identity.CredentialsOIDC]
	if !ok {
		return nil
	}
	var cfg identity.OIDCConfig
	_ = json.Unmarshal(c.Config, &cfg)
	return cfg.Providers
}

// setLinks replaces the provider accounts linked to i (and the identifiers
// that find them).
func setLinks(i *identity.Identity, list []identity.OIDCProviderCredential) {
	if i.Credentials == nil {
		i.Credentials = map[identity.CredentialsType]identity.Credentials{}
	}
	if len(list) == 0 {
		delete(i.Credentials, identity.CredentialsOIDC)
		return
	}
	now := identity.Now()
	c, ok := i.Credentials[identity.CredentialsOIDC]
	if !ok {
		c = identity.Credentials{Type: identity.CredentialsOIDC, CreatedAt: now}
	}
	c.Identifiers = nil
	for _, l := range list {
		c.Identifiers = append(c.Identifiers, l.Provider+":"+l.Subject)
	}
	c.Config, _ = json.Marshal(identity.OIDCConfig{Providers: list})
	c.UpdatedAt = now
	i.Credentials[identity.CredentialsOIDC] = c
}

// firstFactors counts the ways i can sign in: each linked provider account,
// and each other first factor.
func (m *Method) firstFactors(i *identity.Identity) int {
	return m.identities.CountFactors(i, identity.FirstFactor)
}

// PopulateSettings adds link buttons for the providers not linked yet and,
// when another way to sign in remains, unlink buttons for the linked ones.
func (m *Method) PopulateSettings(r *http.Request, f *flow.Flow, i *identity.Identity) error {
	if f.Type != flow.TypeBrowser || i == nil {
		return nil
	}
	linked := map[string]bool{}
	for _, l := range links(i) {
		linked[l.Provider] = true
	}
	canUnlink := m.firstFactors(i) > 1
	for _, p := range m.providers {
		pid := p.config().ID
		switch {
		case !linked[pid]:
			f.UI.Append(ui.NewInput("link", pid, ui.GroupOIDC, ui.InputSubmit, ui.WithLabel(ui.InfoSettingsLink(pid))))
		case canUnlink:
			f.UI.Append(ui.NewInput("unlink", pid, ui.GroupOIDC, ui.InputSubmit, ui.WithLabel(ui.InfoSettingsUnlink(pid))))
		}
	}
	return nil
}

// Settings links (through the provider) or unlinks a provider account.
func (m *Method) Settings(ctx context.Context, r *http.Request, f *flow.Flow, b *flow.Body, req *flow.SettingsRequest) (*flow.Result, error) {
	link, unlink := field(r, b, "link"), field(r, b, "unlink")
	if link == "" && unlink == "" {
		return nil, flow.ErrNotResponsible
	}
	if f.Type != flow.TypeBrowser {
		return nil, errAPINotSupported()
	}
	if !req.Privileged {
		return nil, flow.ErrPrivilegeRequired
	}
	if link != "" {
		if m.provider(link) == nil {
			return nil, errUnknownProvider(link)
		}
		for _, l := range links(req.Identity) {
			if l.Provider == link {
				return nil, flow.NewFormError("", ui.ErrValidation(fmt.Sprintf("An account of %s is linked to this identity already.", link)))
			}
		}
		return m.start(ctx, f, link, nil)
	}
	i := req.Identity
	var keep []identity.OIDCProviderCredential
	for _, l := range links(i) {
		if l.Provider != unlink {
			keep = append(keep, l)
		}
	}
	if len(keep) == len(links(i)) {
		return nil, flow.NewFormError("", ui.ErrValidation(fmt.Sprintf("No account of %s is linked to this identity.", truncate(unlink, 64))))
	}
	if m.firstFactors(i)-(len(links(i))-len(keep)) < 1 {
		return nil, flow.NewFormError("", ui.ErrValidation("This is the last way to sign in to this account; it can not be unlinked."))
	}
	setLinks(i, keep)
	return &flow.Result{Identity: i}, nil
}

// linkCallback adds the provider account the callback proved to the signed-
// in identity, unless another identity owns it.
func (m *Method) linkCallback(req *flow.SettingsRequest, owner *identity.Identity, link identity.OIDCProviderCredential) (*flow.Result, error) {
	i := req.Identity
	if owner != nil {
		if owner.ID != i.ID {
			return nil, flow.NewFormError("", ui.ErrValidation("This account of the provider is linked to another identity already."))
		}
		return &flow.Result{Identity: i}, nil // linked already: nothing to change
	}
	setLinks(i, append(links(i), link))
	return &flow.Result{Identity: i}, nil
}
