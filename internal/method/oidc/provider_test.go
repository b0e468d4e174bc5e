package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/testutil/testop"
)

// userInfoServer answers the user-info endpoints of the OAuth2-only kinds
// in the shapes their providers document, for the token "tok".
func userInfoServer(t *testing.T) *httptest.Server {
	t.Helper()
	answers := map[string]string{
		"/user":           `{"id":4711,"login":"octo","name":"Octo Cat","email":"public@example.org","avatar_url":"https://avatars.example/4711","html_url":"https://github.com/octo","blog":"https://octo.example"}`,
		"/user/emails":    `[{"email":"other@example.org","primary":false,"verified":true},{"email":"octo@example.org","primary":true,"verified":true}]`,
		"/users/@me":      `{"id":"80351110224678912","username":"Nelly","discriminator":"1337","avatar":"8342729096ea3675442027381ff50dfe","verified":true,"email":"nelly@example.org","locale":"en-US"}`,
		"/users.identity": `{"ok":true,"user":{"name":"Sonny","id":"U0G9QF9C6","email":"sonny@example.org","image_512":"https://slack.example/512.png"},"team":{"id":"T0G9PQBBK"}}`,
		"/me":             `{"id":"10158","name":"Mark Z","first_name":"Mark","last_name":"Z","email":"mark@example.org","birthday":"05/14/1984","gender":"male","picture":{"data":{"url":"https://fb.example/p.jpg"}}}`,
		"/users.get":      `{"response":[{"id":210700286,"first_name":"Lindsey","last_name":"Stirling","nickname":"","photo_200":"https://vk.example/200.jpg","bdate":"21.9.1986","sex":1}]}`,
		"/info":           `{"id":"1000034426","login":"ivan","first_name":"Ivan","last_name":"Ivanov","default_email":"ivan@yandex.example","default_avatar_id":"131652443","birthday":"1987-03-12","sex":"male"}`,
	}
	spotify := `{"id":"wizzler","display_name":"JM Wizzler","email":"wizz@example.org","country":"SE","images":[{"url":"https://spotify.example/w.jpg"}]}`
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// VK and Yandex take the token in the query, the others in the
		// Authorization header.
		if r.Header.Get("Authorization") != "Bearer tok" && r.URL.Query().Get("access_token") != "tok" && r.URL.Query().Get("oauth_token") != "tok" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		path := r.URL.Path
		if path == "/me" && r.URL.Query().Get("appsecret_proof") == "" {
			// Spotify's /me (Facebook's carries its proof).
			w.Write([]byte(spotify))
			return
		}
		body, ok := answers[path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
}

func TestOAuth2ProviderClaims(t *testing.T) {
	srv := userInfoServer(t)
	defer srv.Close()
	tok := (&oauth2.Token{AccessToken: "tok"}).WithExtra(map[string]any{"email": "lindsey@vk.example"})
	cases := []struct {
		kind string
		want Claims
	}{
		{"github", Claims{Issuer: "https://github.com/login/oauth/access_token", Subject: "4711", Name: "Octo Cat", Nickname: "octo", PreferredUsername: "octo", Picture: "https://avatars.example/4711", Profile: "https://github.com/octo", Website: "https://octo.example", Email: "octo@example.org", EmailVerified: true}},
		{"github-app", Claims{Issuer: "https://github.com/login/oauth/access_token", Subject: "4711", Name: "Octo Cat", Nickname: "octo", PreferredUsername: "octo", Picture: "https://avatars.example/4711", Profile: "https://github.com/octo", Website: "https://octo.example", Email: "octo@example.org", EmailVerified: true}},
		{"discord", Claims{Issuer: "https://discord.com/api/v6/oauth2/", Subject: "80351110224678912", Name: "Nelly", Nickname: "Nelly", PreferredUsername: "Nelly", Picture: "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png", Email: "nelly@example.org", EmailVerified: true, Locale: "en-US"}},
		{"slack", Claims{Issuer: "https://slack.com/oauth/", Subject: "U0G9QF9C6", Name: "Sonny", Nickname: "Sonny", Email: "sonny@example.org", EmailVerified: true, Picture: "https://slack.example/512.png", Team: "T0G9PQBBK"}},
		{"facebook", Claims{Issuer: "https://graph.facebook.com/me", Subject: "10158", Name: "Mark Z", GivenName: "Mark", FamilyName: "Z", LastName: "Z", Nickname: "Mark Z", PreferredUsername: "Mark", Picture: "https://fb.example/p.jpg", Email: "mark@example.org", EmailVerified: true, Gender: "male", Birthdate: "05/14/1984"}},
		{"spotify", Claims{Issuer: "https://accounts.spotify.com/authorize", Subject: "wizzler", Name: "JM Wizzler", Nickname: "JM Wizzler", PreferredUsername: "JM Wizzler", Email: "wizz@example.org", Locale: "SE", Picture: "https://spotify.example/w.jpg"}},
		{"vk", Claims{Issuer: "https://api.vk.com/method/users.get", Subject: "210700286", GivenName: "Lindsey", FamilyName: "Stirling", LastName: "Stirling", Picture: "https://vk.example/200.jpg", Email: "lindsey@vk.example", Gender: "female", Birthdate: "21.9.1986"}},
		{"yandex", Claims{Issuer: "https://login.yandex.ru/info", Subject: "1000034426", GivenName: "Ivan", FamilyName: "Ivanov", LastName: "Ivanov", Nickname: "ivan", PreferredUsername: "ivan", Email: "ivan@yandex.example", Gender: "male", Birthdate: "1987-03-12", Picture: "https://avatars.yandex.net/get-yapic/131652443/islands-200"}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			p, err := newProvider(config.OIDCProvider{ID: c.kind, Provider: c.kind, ClientID: "cid", ClientSecret: "secret", MapperURL: "base64://e30"}, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			op := p.(*oauth2Provider)
			op.apiBase = srv.URL
			got, err := p.claims(context.Background(), tok, "")
			if err != nil {
				t.Fatal(err)
			}
			if *got != c.want {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(c.want)
				t.Errorf("claims\n got %s\nwant %s", g, w)
			}
			// A rejected token is a provider failure, not a crash.
			if _, err := p.claims(context.Background(), &oauth2.Token{AccessToken: "wrong"}, ""); err == nil {
				t.Error("a rejected token gave claims")
			}
		})
	}
}

func TestOAuth2ProviderEndpoints(t *testing.T) {
	for kind, ep := range endpoints {
		p, err := newProvider(config.OIDCProvider{ID: "x", Provider: kind, ClientID: "cid", ClientSecret: "s", Scope: []string{"a"}}, http.DefaultClient)
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.oauth2Config(context.Background(), "https://rp.example/cb")
		if err != nil {
			t.Fatal(err)
		}
		if c.Endpoint.AuthURL != ep.auth || c.Endpoint.TokenURL != ep.token || c.ClientID != "cid" || c.RedirectURL != "https://rp.example/cb" || len(c.Scopes) != 1 {
			t.Errorf("%s: %+v", kind, c)
		}
		if p.isOIDC() {
			t.Errorf("%s should not expect ID tokens", kind)
		}
	}
	// auth_url and token_url override the defaults.
	p, _ := newProvider(config.OIDCProvider{ID: "x", Provider: "github", AuthURL: "https://a.example/auth", TokenURL: "https://a.example/token"}, http.DefaultClient)
	c, _ := p.oauth2Config(context.Background(), "")
	if c.Endpoint.AuthURL != "https://a.example/auth" || c.Endpoint.TokenURL != "https://a.example/token" {
		t.Errorf("overrides: %+v", c.Endpoint)
	}
}

func TestOIDCProviderKinds(t *testing.T) {
	cases := []struct {
		cfg       config.OIDCProvider
		issuer    string
		anyIssuer bool
	}{
		{config.OIDCProvider{Provider: "google"}, "https://accounts.google.com", false},
		{config.OIDCProvider{Provider: "gitlab"}, "https://gitlab.com", false},
		{config.OIDCProvider{Provider: "gitlab", IssuerURL: "https://git.example.org"}, "https://git.example.org", false},
		{config.OIDCProvider{Provider: "auth0", IssuerURL: "https://tenant.auth0.example/"}, "https://tenant.auth0.example/", false},
		{config.OIDCProvider{Provider: "microsoft", MicrosoftTenant: "common"}, "https://login.microsoftonline.com/common/v2.0", true},
		{config.OIDCProvider{Provider: "microsoft", MicrosoftTenant: "contoso.onmicrosoft.com"}, "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0", false},
		{config.OIDCProvider{Provider: "apple", ClientSecret: "s"}, "https://appleid.apple.com", false},
		{config.OIDCProvider{Provider: "generic", IssuerURL: "https://op.example"}, "https://op.example", false},
	}
	for _, c := range cases {
		c.cfg.ID = "x"
		p, err := newProvider(c.cfg, http.DefaultClient)
		if err != nil {
			t.Fatalf("%s: %v", c.cfg.Provider, err)
		}
		op := p.(*oidcProvider)
		if op.issuer != c.issuer || op.anyIssuer != c.anyIssuer || !p.isOIDC() {
			t.Errorf("%s: issuer %q (any %v)", c.cfg.Provider, op.issuer, op.anyIssuer)
		}
	}
	for _, bad := range []config.OIDCProvider{
		{ID: "x", Provider: "generic"},
		{ID: "x", Provider: "microsoft"},
		{ID: "x", Provider: "apple"},
		{ID: "x", Provider: "apple", AppleTeamID: "T", ApplePrivateKeyID: "K", ApplePrivateKey: "not a key"},
		{ID: "x", Provider: "myspace"},
	} {
		if _, err := newProvider(bad, http.DefaultClient); err == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

func TestAppleClientSecret(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	cfg := config.OIDCProvider{ID: "apple", Provider: "apple", ClientID: "org.example.app", AppleTeamID: "TEAM123", ApplePrivateKeyID: "KEY456", ApplePrivateKey: pemKey}
	p, err := newProvider(cfg, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := p.(*oidcProvider).clientSecret()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Headers[0].KeyID != "KEY456" {
		t.Errorf("kid %q", tok.Headers[0].KeyID)
	}
	var c jwt.Claims
	if err := tok.Claims(&key.PublicKey, &c); err != nil {
		t.Fatalf("the secret is not signed with the team's key: %v", err)
	}
	if err := c.Validate(jwt.Expected{Issuer: "TEAM123", Subject: "org.example.app", AnyAudience: jwt.Audience{"https://appleid.apple.com"}, Time: time.Now()}); err != nil {
		t.Error(err)
	}
}

func TestMapper(t *testing.T) {
	m := &mapper{location: "base64://" + b64(`local c = std.extVar('claims'); {identity: {traits: {email: c.email, sub: c.sub}}}`)}
	got, err := m.traits(context.Background(), &Claims{Subject: "s1", Email: "a@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"email":"a@example.org","sub":"s1"}` {
		t.Errorf("traits %s", got)
	}
	merged := mergeTraits(got, json.RawMessage(`{"email":"b@example.org","name":{"first":"B"}}`))
	if string(merged) != `{"email":"b@example.org","name":{"first":"B"},"sub":"s1"}` {
		t.Errorf("merged %s", merged)
	}
	bad := &mapper{location: "base64://" + b64(`{nope: 1}`)}
	if _, err := bad.traits(context.Background(), &Claims{}); err == nil || !strings.Contains(err.Error(), "identity.traits") {
		t.Errorf("a mapper without identity.traits: %v", err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDiscoveryForgivesATrailingSlash(t *testing.T) {
	op := testop.New(t)
	op.Start("c", "s", "http://127.0.0.1/cb")
	p, err := newProvider(config.OIDCProvider{ID: "x", Provider: "generic", ClientID: "c", IssuerURL: op.Issuer + "/"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.oauth2Config(context.Background(), "http://127.0.0.1/cb")
	if err != nil {
		t.Fatalf("discovery with a trailing slash: %v", err)
	}
	if !strings.HasPrefix(c.Endpoint.AuthURL, op.Issuer+"/") || !strings.Contains(strings.Join(c.Scopes, " "), "openid") {
		t.Errorf("endpoints: %+v", c)
	}
	// A different issuer is still refused.
	p, _ = newProvider(config.OIDCProvider{ID: "x", Provider: "generic", ClientID: "c", IssuerURL: op.Issuer + "/other"}, http.DefaultClient)
	if _, err := p.oauth2Config(context.Background(), ""); err == nil {
		t.Error("a wrong issuer was accepted")
	}
}
