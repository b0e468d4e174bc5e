package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/hoplite-id/hoplite/internal/config"
)

// Claims are what a provider says about the signed-in account, under the
// names the Jsonnet mappers of Kratos read (std.extVar('claims')).
type Claims struct {
	Issuer              string   `json:"iss,omitempty"`
	Subject             string   `json:"sub,omitempty"`
	Name                string   `json:"name,omitempty"`
	GivenName           string   `json:"given_name,omitempty"`
	FamilyName          string   `json:"family_name,omitempty"`
	LastName            string   `json:"last_name,omitempty"`
	MiddleName          string   `json:"middle_name,omitempty"`
	Nickname            string   `json:"nickname,omitempty"`
	PreferredUsername   string   `json:"preferred_username,omitempty"`
	Profile             string   `json:"profile,omitempty"`
	Picture             string   `json:"picture,omitempty"`
	Website             string   `json:"website,omitempty"`
	Email               string   `json:"email,omitempty"`
	EmailVerified       flexBool `json:"email_verified,omitempty"`
	Gender              string   `json:"gender,omitempty"`
	Birthdate           string   `json:"birthdate,omitempty"`
	Zoneinfo            string   `json:"zoneinfo,omitempty"`
	Locale              string   `json:"locale,omitempty"`
	PhoneNumber         string   `json:"phone_number,omitempty"`
	PhoneNumberVerified flexBool `json:"phone_number_verified,omitempty"`
	UpdatedAt           flexInt  `json:"updated_at,omitempty"`
	HD                  string   `json:"hd,omitempty"`
	Team                string   `json:"team,omitempty"`
}

// flexBool reads true/false sent as a JSON boolean or string (some
// providers send "true").
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	s := strings.Trim(string(raw), `"`)
	*b = flexBool(s == "true")
	return nil
}

// flexInt reads a number sent as a JSON number or string; anything else is
// left at zero rather than failing the sign-in.
type flexInt int64

func (n *flexInt) UnmarshalJSON(raw []byte) error {
	s := strings.Trim(string(raw), `"`)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		*n = flexInt(v)
	}
	return nil
}

// provider is one configured social sign-in provider.
type provider interface {
	config() *config.OIDCProvider
	// ctx carries the outbound HTTP client for oauth2 and go-oidc.
	ctx(ctx context.Context) context.Context
	// oauth2Config returns the client configuration (it may discover the
	// provider's endpoints first).
	oauth2Config(ctx context.Context, redirectURL string) (*oauth2.Config, error)
	// claims validates the token response and returns the account's claims.
	// nonce is the value sent in the authorization request.
	claims(ctx context.Context, tok *oauth2.Token, nonce string) (*Claims, error)
	// isOIDC tells whether the provider issues ID tokens (and so takes a
	// nonce).
	isOIDC() bool
}

// errProvider marks failures of the provider (unreachable, bad answers) as
// opposed to a rejected token.
type errProvider struct{ err error }

func (e *errProvider) Error() string { return "the provider could not be used: " + e.err.Error() }
func (e *errProvider) Unwrap() error { return e.err }

// newProvider builds the provider a configuration entry describes.
func newProvider(c config.OIDCProvider, client *http.Client) (provider, error) {
	base := oauth2Base{cfg: c, client: client}
	switch c.Provider {
	case "generic", "auth0":
		if c.IssuerURL == "" {
			return nil, fmt.Errorf("provider %q: issuer_url is required", c.ID)
		}
		return &oidcProvider{oauth2Base: base, issuer: c.IssuerURL}, nil
	case "google":
		return &oidcProvider{oauth2Base: base, issuer: orDefault(c.IssuerURL, "https://accounts.google.com")}, nil
	case "gitlab":
		return &oidcProvider{oauth2Base: base, issuer: orDefault(c.IssuerURL, "https://gitlab.com")}, nil
	case "microsoft":
		if c.MicrosoftTenant == "" {
			return nil, fmt.Errorf("provider %q: microsoft_tenant is required", c.ID)
		}
		// The multi-tenant endpoints (common, organizations, consumers)
		// announce an issuer with a placeholder for the tenant, and every
		// account's tokens name its own tenant: the issuer cannot be
		// compared there, the signature and audience still are.
		p := &oidcProvider{oauth2Base: base, issuer: "https://login.microsoftonline.com/" + url.PathEscape(c.MicrosoftTenant) + "/v2.0"}
		switch c.MicrosoftTenant {
		case "common", "organizations", "consumers":
			p.anyIssuer = true
		}
		return p, nil
	case "apple":
		p := &oidcProvider{oauth2Base: base, issuer: "https://appleid.apple.com"}
		if c.ClientSecret == "" {
			if c.AppleTeamID == "" || c.ApplePrivateKeyID == "" || c.ApplePrivateKey == "" {
				return nil, fmt.Errorf("provider %q: apple needs client_secret or apple_team_id, apple_private_key_id and apple_private_key", c.ID)
			}
			if _, err := parseApplePrivateKey(c.ApplePrivateKey); err != nil {
				return nil, fmt.Errorf("provider %q: apple_private_key: %w", c.ID, err)
			}
			p.secret = func() (string, error) { return appleClientSecret(c, time.Now()) }
		}
		return p, nil
	case "github", "github-app", "discord", "slack", "facebook", "spotify", "vk", "yandex":
		p := &oauth2Provider{oauth2Base: base, kind: c.Provider}
		if v, ok := testEndpoints.Load(c.Provider); ok {
			p.authBase, p.apiBase = v.(string), v.(string)
		}
		return p, nil
	}
	return nil, fmt.Errorf("provider %q: unknown provider kind %q", c.ID, c.Provider)
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// oauth2Base is what every provider kind shares.
type oauth2Base struct {
	cfg    config.OIDCProvider
	client *http.Client
	// secret makes the client secret when it is not configured (apple).
	secret func() (string, error)
}

func (b *oauth2Base) config() *config.OIDCProvider { return &b.cfg }

func (b *oauth2Base) ctx(ctx context.Context) context.Context {
	return context.WithValue(gooidc.ClientContext(ctx, b.client), oauth2.HTTPClient, b.client)
}

func (b *oauth2Base) clientSecret() (string, error) {
	if b.secret != nil {
		return b.secret()
	}
	return b.cfg.ClientSecret, nil
}

// oidcProvider is an OpenID Connect provider whose endpoints are discovered
// from its issuer.
type oidcProvider struct {
	oauth2Base
	issuer    string
	anyIssuer bool

	mu         sync.Mutex
	discovered *gooidc.Provider
}

func (p *oidcProvider) isOIDC() bool { return true }

// discover fetches the provider's metadata once; a failure is retried on
// the next use.
func (p *oidcProvider) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovered != nil {
		return p.discovered, nil
	}
	ctx = p.ctx(ctx)
	if p.anyIssuer {
		ctx = gooidc.InsecureIssuerURLContext(ctx, p.issuer)
	}
	d, err := gooidc.NewProvider(ctx, p.issuer)
	if err != nil && strings.Contains(err.Error(), "did not match the issuer") {
		// Issuers differ from their configured URL by a trailing slash
		// more often than not ("https://op.example/" announced for
		// "https://op.example"): that one difference is forgiven, and the
		// announced issuer is then the one ID tokens must name.
		alt := strings.TrimSuffix(p.issuer, "/")
		if alt == p.issuer {
			alt += "/"
		}
		if d2, err2 := gooidc.NewProvider(ctx, alt); err2 == nil {
			d, err = d2, nil
		}
	}
	if err != nil {
		return nil, &errProvider{err}
	}
	p.discovered = d
	return d, nil
}

func (p *oidcProvider) oauth2Config(ctx context.Context, redirectURL string) (*oauth2.Config, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := p.clientSecret()
	if err != nil {
		return nil, err
	}
	ep := d.Endpoint()
	if p.cfg.AuthURL != "" {
		ep.AuthURL = p.cfg.AuthURL
	}
	if p.cfg.TokenURL != "" {
		ep.TokenURL = p.cfg.TokenURL
	}
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: secret, Endpoint: ep, RedirectURL: redirectURL,
		Scopes: withScope(p.cfg.Scope, gooidc.ScopeOpenID),
	}, nil
}

// withScope adds scope to scopes unless it is there already.
func withScope(scopes []string, scope string) []string {
	for _, s := range scopes {
		if s == scope {
			return scopes
		}
	}
	return append([]string{scope}, scopes...)
}

// errToken is a token the provider issued that does not hold up (bad
// signature, wrong audience, expired, nonce mismatch).
type errToken struct{ err error }

func (e *errToken) Error() string { return "the ID token is not valid: " + e.err.Error() }
func (e *errToken) Unwrap() error { return e.err }

func (p *oidcProvider) claims(ctx context.Context, tok *oauth2.Token, nonce string) (*Claims, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &errToken{errors.New("the token response carries no id_token")}
	}
	v := d.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID, SkipIssuerCheck: p.anyIssuer})
	idt, err := v.Verify(p.ctx(ctx), raw)
	if err != nil {
		return nil, &errToken{err}
	}
	// Beyond Kratos v0.9: the nonce sent with the authorization request
	// must come back in the token, so a token issued for another login
	// cannot be replayed into this one.
	if !subtleEqual(idt.Nonce, nonce) {
		return nil, &errToken{errors.New("the nonce does not match the authorization request")}
	}
	var c Claims
	if err := idt.Claims(&c); err != nil {
		return nil, &errToken{err}
	}
	c.Issuer, c.Subject = idt.Issuer, idt.Subject
	// Many providers put the profile (email, name) only behind the userinfo
	// endpoint; its answer fills in what the ID token leaves out. The ID
	// token's own claims win, and the answer must be about the same subject.
	if d.UserInfoEndpoint() != "" {
		ui, err := d.UserInfo(p.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err == nil && ui.Subject == c.Subject {
			var extra Claims
			if ui.Claims(&extra) == nil {
				fillClaims(&c, &extra)
			}
		}
	}
	return &c, nil
}

// fillClaims copies the claims of from that c lacks.
func fillClaims(c, from *Claims) {
	set := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	set(&c.Name, from.Name)
	set(&c.GivenName, from.GivenName)
	set(&c.FamilyName, from.FamilyName)
	set(&c.LastName, from.LastName)
	set(&c.MiddleName, from.MiddleName)
	set(&c.Nickname, from.Nickname)
	set(&c.PreferredUsername, from.PreferredUsername)
	set(&c.Profile, from.Profile)
	set(&c.Picture, from.Picture)
	set(&c.Website, from.Website)
	if c.Email == "" {
		c.Email, c.EmailVerified = from.Email, from.EmailVerified
	}
	set(&c.Gender, from.Gender)
	set(&c.Birthdate, from.Birthdate)
	set(&c.Zoneinfo, from.Zoneinfo)
	set(&c.Locale, from.Locale)
	if c.PhoneNumber == "" {
		c.PhoneNumber, c.PhoneNumberVerified = from.PhoneNumber, from.PhoneNumberVerified
	}
	if c.UpdatedAt == 0 {
		c.UpdatedAt = from.UpdatedAt
	}
	set(&c.HD, from.HD)
	set(&c.Team, from.Team)
}

func subtleEqual(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

// parseApplePrivateKey reads the PEM (PKCS #8) key Apple hands out.
func parseApplePrivateKey(s string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not a PEM document")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an elliptic-curve (ES256) key")
	}
	return ec, nil
}

// appleClientSecret is the client secret Apple expects: a short-lived JWT
// signed with the team's key.
func appleClientSecret(c config.OIDCProvider, now time.Time) (string, error) {
	key, err := parseApplePrivateKey(c.ApplePrivateKey)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.ApplePrivateKeyID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: c.AppleTeamID, Subject: c.ClientID, Audience: jwt.Audience{"https://appleid.apple.com"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
	}).Serialize()
}

// testEndpoints holds the base URLs that replace the public ones of the
// OAuth2-only kinds in tests (see SetTestEndpoints). It is deliberately not a
// configuration key.
var testEndpoints sync.Map

// SetTestEndpoints makes providers of an OAuth2-only kind (github, discord,
// …) built from now on use base for everything: base+"/authorize",
// base+"/token" and the user-info paths below base. For tests only: it lets
// a loopback server stand in for the provider.
func SetTestEndpoints(kind, base string) { testEndpoints.Store(kind, base) }

// oauth2Provider is a provider without OpenID Connect: the account is read
// from its user-info API with the access token.
type oauth2Provider struct {
	oauth2Base
	kind string
	// apiBase and authBase replace the provider's public URLs (tests
	// only; not a configuration key).
	apiBase, authBase string
}

func (p *oauth2Provider) isOIDC() bool { return false }

// endpoints are the public OAuth2 endpoints and default scopes of each kind.
var endpoints = map[string]struct{ auth, token, api string }{
	"github":     {"https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token", "https://api.github.com"},
	"github-app": {"https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token", "https://api.github.com"},
	"discord":    {"https://discord.com/api/oauth2/authorize", "https://discord.com/api/oauth2/token", "https://discord.com/api"},
	"slack":      {"https://slack.com/oauth/authorize", "https://slack.com/api/oauth.access", "https://slack.com/api"},
	"facebook":   {"https://www.facebook.com/v13.0/dialog/oauth", "https://graph.facebook.com/v13.0/oauth/access_token", "https://graph.facebook.com"},
	"spotify":    {"https://accounts.spotify.com/authorize", "https://accounts.spotify.com/api/token", "https://api.spotify.com/v1"},
	"vk":         {"https://oauth.vk.com/authorize", "https://oauth.vk.com/access_token", "https://api.vk.com/method"},
	"yandex":     {"https://oauth.yandex.com/authorize", "https://oauth.yandex.com/token", "https://login.yandex.ru"},
}

func (p *oauth2Provider) oauth2Config(ctx context.Context, redirectURL string) (*oauth2.Config, error) {
	ep := endpoints[p.kind]
	auth, token := ep.auth, ep.token
	if p.authBase != "" {
		auth, token = p.authBase+"/authorize", p.authBase+"/token"
	}
	if p.cfg.AuthURL != "" {
		auth = p.cfg.AuthURL
	}
	if p.cfg.TokenURL != "" {
		token = p.cfg.TokenURL
	}
	secret, err := p.clientSecret()
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: secret, RedirectURL: redirectURL, Scopes: p.cfg.Scope,
		Endpoint: oauth2.Endpoint{AuthURL: auth, TokenURL: token},
	}, nil
}

func (p *oauth2Provider) api() string {
	if p.apiBase != "" {
		return p.apiBase
	}
	return endpoints[p.kind].api
}

// getJSON reads a user-info answer into v.
func (p *oauth2Provider) getJSON(ctx context.Context, tok *oauth2.Token, rawURL string, header bool, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	if header {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return &errProvider{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &errProvider{err}
	}
	if resp.StatusCode != http.StatusOK {
		return &errProvider{fmt.Errorf("%s answered %d", p.kind, resp.StatusCode)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &errProvider{fmt.Errorf("%s answered with malformed JSON: %w", p.kind, err)}
	}
	return nil
}

// claims maps each kind's user-info answer to claims, as the providers
// document them.
func (p *oauth2Provider) claims(ctx context.Context, tok *oauth2.Token, _ string) (*Claims, error) {
	switch p.kind {
	case "github", "github-app":
		var u struct {
			ID        int64  `json:"id"`
			Login     string `json:"login"`
			Name      string `json:"name"`
			Email     string `json:"email"`
			AvatarURL string `json:"avatar_url"`
			HTMLURL   string `json:"html_url"`
			Blog      string `json:"blog"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/user", true, &u); err != nil {
			return nil, err
		}
		c := &Claims{
			Issuer: "https://github.com/login/oauth/access_token", Subject: strconv.FormatInt(u.ID, 10),
			Name: u.Name, Nickname: u.Login, PreferredUsername: u.Login, Picture: u.AvatarURL,
			Profile: u.HTMLURL, Website: u.Blog, Email: u.Email,
		}
		// The primary address is only listed with the user:email scope (or
		// the app's email permission); without it the public one stays.
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if p.getJSON(ctx, tok, p.api()+"/user/emails", true, &emails) == nil {
			for _, e := range emails {
				if e.Primary {
					c.Email, c.EmailVerified = e.Email, flexBool(e.Verified)
				}
			}
		}
		return c, nil
	case "discord":
		var u struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Avatar   string `json:"avatar"`
			Email    string `json:"email"`
			Verified bool   `json:"verified"`
			Locale   string `json:"locale"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/users/@me", true, &u); err != nil {
			return nil, err
		}
		c := &Claims{
			Issuer: "https://discord.com/api/v6/oauth2/", Subject: u.ID, Name: u.Username, Nickname: u.Username,
			PreferredUsername: u.Username, Email: u.Email, EmailVerified: flexBool(u.Verified), Locale: u.Locale,
		}
		if u.Avatar != "" {
			c.Picture = "https://cdn.discordapp.com/avatars/" + u.ID + "/" + u.Avatar + ".png"
		}
		return c, nil
	case "slack":
		var u struct {
			OK   bool `json:"ok"`
			User struct {
				ID       string `json:"id"`
				Name     string `json:"name"`
				Email    string `json:"email"`
				Image512 string `json:"image_512"`
			} `json:"user"`
			Team struct {
				ID string `json:"id"`
			} `json:"team"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/users.identity", true, &u); err != nil {
			return nil, err
		}
		if !u.OK {
			return nil, &errProvider{errors.New("slack refused users.identity")}
		}
		return &Claims{
			Issuer: "https://slack.com/oauth/", Subject: u.User.ID, Name: u.User.Name, Nickname: u.User.Name,
			Email: u.User.Email, EmailVerified: u.User.Email != "", Picture: u.User.Image512, Team: u.Team.ID,
		}, nil
	case "facebook":
		// Facebook asks calls made with a user token to prove the app
		// secret: appsecret_proof is HMAC-SHA256(token) keyed with it.
		mac := hmac.New(sha256.New, []byte(p.cfg.ClientSecret))
		mac.Write([]byte(tok.AccessToken))
		q := url.Values{
			"fields":          {"id,name,first_name,last_name,middle_name,email,picture,birthday,gender"},
			"appsecret_proof": {hex.EncodeToString(mac.Sum(nil))},
		}
		var u struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			FirstName  string `json:"first_name"`
			LastName   string `json:"last_name"`
			MiddleName string `json:"middle_name"`
			Email      string `json:"email"`
			Birthday   string `json:"birthday"`
			Gender     string `json:"gender"`
			Picture    struct {
				Data struct {
					URL string `json:"url"`
				} `json:"data"`
			} `json:"picture"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/me?"+q.Encode(), true, &u); err != nil {
			return nil, err
		}
		return &Claims{
			Issuer: "https://graph.facebook.com/me", Subject: u.ID, Name: u.Name, GivenName: u.FirstName,
			FamilyName: u.LastName, LastName: u.LastName, MiddleName: u.MiddleName, Nickname: u.Name,
			PreferredUsername: u.FirstName, Picture: u.Picture.Data.URL, Email: u.Email,
			EmailVerified: u.Email != "", Gender: u.Gender, Birthdate: u.Birthday,
		}, nil
	case "spotify":
		var u struct {
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			Email       string `json:"email"`
			Country     string `json:"country"`
			Images      []struct {
				URL string `json:"url"`
			} `json:"images"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/me", true, &u); err != nil {
			return nil, err
		}
		c := &Claims{
			Issuer: "https://accounts.spotify.com/authorize", Subject: u.ID, Name: u.DisplayName,
			Nickname: u.DisplayName, PreferredUsername: u.DisplayName, Email: u.Email, Locale: u.Country,
		}
		if len(u.Images) > 0 {
			c.Picture = u.Images[0].URL
		}
		return c, nil
	case "vk":
		q := url.Values{"fields": {"photo_200,nickname,bdate,sex"}, "access_token": {tok.AccessToken}, "v": {"5.131"}}
		var u struct {
			Response []struct {
				ID        int64  `json:"id"`
				FirstName string `json:"first_name"`
				LastName  string `json:"last_name"`
				Nickname  string `json:"nickname"`
				Photo200  string `json:"photo_200"`
				BDate     string `json:"bdate"`
				Sex       int    `json:"sex"`
			} `json:"response"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/users.get?"+q.Encode(), false, &u); err != nil {
			return nil, err
		}
		if len(u.Response) == 0 {
			return nil, &errProvider{errors.New("vk answered without a user")}
		}
		r := u.Response[0]
		// VK hands out the address with the token, not through its API.
		email, _ := tok.Extra("email").(string)
		gender := ""
		switch r.Sex {
		case 1:
			gender = "female"
		case 2:
			gender = "male"
		}
		return &Claims{
			Issuer: "https://api.vk.com/method/users.get", Subject: strconv.FormatInt(r.ID, 10),
			GivenName: r.FirstName, FamilyName: r.LastName, LastName: r.LastName, Nickname: r.Nickname,
			Picture: r.Photo200, Email: email, Gender: gender, Birthdate: r.BDate,
		}, nil
	case "yandex":
		q := url.Values{"format": {"json"}, "oauth_token": {tok.AccessToken}}
		var u struct {
			ID              string `json:"id"`
			Login           string `json:"login"`
			FirstName       string `json:"first_name"`
			LastName        string `json:"last_name"`
			DefaultEmail    string `json:"default_email"`
			DefaultAvatarID string `json:"default_avatar_id"`
			Birthday        string `json:"birthday"`
			Sex             string `json:"sex"`
		}
		if err := p.getJSON(ctx, tok, p.api()+"/info?"+q.Encode(), false, &u); err != nil {
			return nil, err
		}
		c := &Claims{
			Issuer: "https://login.yandex.ru/info", Subject: u.ID, GivenName: u.FirstName, FamilyName: u.LastName,
			LastName: u.LastName, Nickname: u.Login, PreferredUsername: u.Login, Email: u.DefaultEmail,
			Gender: u.Sex, Birthdate: u.Birthday,
		}
		if u.DefaultAvatarID != "" {
			c.Picture = "https://avatars.yandex.net/get-yapic/" + u.DefaultAvatarID + "/islands-200"
		}
		return c, nil
	}
	return nil, fmt.Errorf("unknown provider kind %q", p.kind)
}
