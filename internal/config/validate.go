package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks what the key tree cannot: the keys Kratos requires (dsn,
// identity.schemas, selfservice.default_browser_return_url — in dev mode
// these have defaults), values that depend on each other, and, for a Config
// built by hand, the ranges and enums Load already enforces. Load runs it.
func (c *Config) Validate() error {
	v := &validation{}

	// Required keys.
	if c.DSN == "" {
		v.fail("dsn", "is required (set it in a configuration file or the DSN environment variable)")
	}
	if len(c.Identity.Schemas) == 0 {
		v.fail("identity.schemas", "is required: list at least one identity schema")
	}
	if c.Selfservice.DefaultBrowserReturnURL == "" {
		v.fail("selfservice.default_browser_return_url", "is required")
	}

	// serve
	v.port("serve.public.port", c.Serve.Public.Port)
	v.port("serve.admin.port", c.Serve.Admin.Port)
	if p := c.Serve.Public.Port; p == c.Serve.Admin.Port && hostsOverlap(c.Serve.Public.Host, c.Serve.Admin.Host) {
		v.fail("serve.admin.port", fmt.Sprintf("%d is also serve.public.port; the public and admin APIs need different ports", p))
	}
	for i, p := range c.Serve.Public.TrustedProxies {
		if _, err := ParseTrustedProxy(p); err != nil {
			v.fail(indexPath("serve.public.trusted_proxies", i), fmt.Sprintf("must be an IP address or a CIDR range such as 10.0.0.0/8, got %q", p))
		}
	}
	v.positive("serve.public.max_body_bytes", c.Serve.Public.MaxBodyBytes)
	v.positive("serve.admin.max_body_bytes", c.Serve.Admin.MaxBodyBytes)
	v.url("serve.public.base_url", c.Serve.Public.BaseURL, formatURIRef)
	v.url("serve.admin.base_url", c.Serve.Admin.BaseURL, formatURI)
	v.tls("serve.public.tls", c.Serve.Public.TLS)
	v.tls("serve.admin.tls", c.Serve.Admin.TLS)

	// identity
	ids := map[string]bool{}
	for i, s := range c.Identity.Schemas {
		p := indexPath("identity.schemas", i)
		if s.ID == "" {
			v.fail(p+".id", "is required")
		} else if ids[s.ID] {
			v.fail(p+".id", fmt.Sprintf("%q is used by more than one schema", s.ID))
		}
		ids[s.ID] = true
		if s.URL == "" {
			v.fail(p+".url", "is required")
		} else {
			v.url(p+".url", s.URL, formatURI)
		}
	}
	if len(c.Identity.Schemas) > 0 && !ids[c.Identity.DefaultSchemaID] {
		v.fail("identity.default_schema_id", fmt.Sprintf("no schema in identity.schemas has the id %q", c.Identity.DefaultSchemaID))
	}

	// secrets and ciphers
	for i, s := range c.Secrets.Default {
		v.minChars(indexPath("secrets.default", i), s, 16)
	}
	for i, s := range c.Secrets.Cookie {
		v.minChars(indexPath("secrets.cookie", i), s, 16)
	}
	for i, s := range c.Secrets.Cipher {
		if n := utf8.RuneCountInString(s); n != 32 {
			v.fail(indexPath("secrets.cipher", i), fmt.Sprintf("must be exactly 32 characters long, got %d", n))
		}
	}
	v.oneOf("ciphers.algorithm", c.Ciphers.Algorithm, "noop", "aes", "xchacha20-poly1305")
	if (c.Ciphers.Algorithm == "aes" || c.Ciphers.Algorithm == "xchacha20-poly1305") && len(c.Secrets.Cipher) == 0 {
		v.fail("secrets.cipher", fmt.Sprintf("is required when ciphers.algorithm is %q", c.Ciphers.Algorithm))
	}

	// hashers
	v.oneOf("hashers.algorithm", c.Hashers.Algorithm, "argon2", "bcrypt")
	if cost := c.Hashers.Bcrypt.Cost; cost < 4 || cost > 31 {
		v.fail("hashers.bcrypt.cost", fmt.Sprintf("must be an integer between 4 and 31, got %d", cost))
	}
	a := c.Hashers.Argon2
	if a.Memory == 0 {
		v.fail("hashers.argon2.memory", "must be more than 0 bytes")
	}
	if a.Iterations < 1 {
		v.fail("hashers.argon2.iterations", "must be at least 1")
	}
	if a.Parallelism < 1 {
		v.fail("hashers.argon2.parallelism", "must be at least 1")
	}
	if a.SaltLength < 16 {
		v.fail("hashers.argon2.salt_length", fmt.Sprintf("must be at least 16, got %d", a.SaltLength))
	}
	if a.KeyLength < 16 {
		v.fail("hashers.argon2.key_length", fmt.Sprintf("must be at least 16, got %d", a.KeyLength))
	}

	// cookies and sessions
	v.oneOf("cookies.same_site", c.Cookies.SameSite, "Strict", "Lax", "None")
	if c.Session.Cookie.SameSite != "" {
		v.oneOf("session.cookie.same_site", c.Session.Cookie.SameSite, "Strict", "Lax", "None")
	}
	if c.Session.Cookie.Name == "" {
		v.fail("session.cookie.name", "must not be empty")
	}
	v.oneOf("session.whoami.required_aal", c.Session.Whoami.RequiredAAL, "aal1", "highest_available")
	if c.Session.IdleTimeout < 0 {
		v.fail("session.idle_timeout", "must not be negative")
	}
	if c.Session.Cache.MaxAge < 0 {
		v.fail("session.cache.max_age", "must not be negative")
	}
	if pi := c.Session.Cache.PollInterval; pi != 0 && pi < 10*time.Millisecond || pi > 10*time.Second {
		v.fail("session.cache.poll_interval", "must be between 10ms and 10s")
	}

	// selfservice
	s := &c.Selfservice
	v.url("selfservice.default_browser_return_url", s.DefaultBrowserReturnURL, formatURIRef)
	for i, u := range s.AllowedReturnURLs {
		v.url(indexPath("selfservice.allowed_return_urls", i), u, formatURIRef)
	}
	v.oneOf("selfservice.flows.settings.required_aal", s.Flows.Settings.RequiredAAL, "aal1", "highest_available")
	for _, ui := range []struct{ flow, url string }{
		{"login", s.Flows.Login.UIURL}, {"registration", s.Flows.Registration.UIURL},
		{"settings", s.Flows.Settings.UIURL}, {"recovery", s.Flows.Recovery.UIURL},
		{"verification", s.Flows.Verification.UIURL}, {"error", s.Flows.Error.UIURL},
	} {
		v.url("selfservice.flows."+ui.flow+".ui_url", ui.url, formatURIRef)
	}
	for _, hl := range c.hookLists() {
		v.hooks(hl.path, hl.hooks)
	}
	if !c.Dev && (s.Flows.Recovery.Enabled || s.Flows.Verification.Enabled) && c.Courier.SMTP.ConnectionURI == "" {
		v.fail("courier.smtp.connection_uri", "is required when selfservice.flows.recovery or selfservice.flows.verification is enabled")
	}
	m := &s.Methods
	if m.Password.Config.MinPasswordLength < 6 {
		v.fail("selfservice.methods.password.config.min_password_length", fmt.Sprintf("must be at least 6, got %d", m.Password.Config.MinPasswordLength))
	}
	if mb := m.Password.Config.MaxBreaches; mb < 0 || mb > 100 {
		v.fail("selfservice.methods.password.config.max_breaches", fmt.Sprintf("must be between 0 and 100, got %d", mb))
	}
	v.url("selfservice.methods.link.config.base_url", m.Link.Config.BaseURL, formatURIRef)
	if m.WebAuthn.Enabled {
		if m.WebAuthn.Config.RP.ID == "" {
			v.fail("selfservice.methods.webauthn.config.rp.id", "is required when selfservice.methods.webauthn.enabled is true")
		}
		if m.WebAuthn.Config.RP.DisplayName == "" {
			v.fail("selfservice.methods.webauthn.config.rp.display_name", "is required when selfservice.methods.webauthn.enabled is true")
		}
	}
	v.url("selfservice.methods.oidc.config.base_redirect_uri", m.OIDC.Config.BaseRedirectURI, formatURI)
	providerIDs := map[string]bool{}
	for i, p := range m.OIDC.Config.Providers {
		v.oidcProvider(indexPath("selfservice.methods.oidc.config.providers", i), p, providerIDs)
	}

	// courier
	if u := c.Courier.SMTP.ConnectionURI; u != "" {
		if problem := CheckSMTPURI(u); problem != "" {
			v.fail("courier.smtp.connection_uri", problem)
		}
	}

	// log
	v.oneOf("log.level", c.Log.Level, "trace", "debug", "info", "warning", "error", "fatal", "panic")
	if c.Log.Format != "" {
		v.oneOf("log.format", c.Log.Format, "json", "text")
	}
	return v.err()
}

type validation struct{ errs []*Error }

func (v *validation) fail(path, problem string) {
	v.errs = append(v.errs, &Error{Path: path, Problem: problem})
}

func (v *validation) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return joinErrors(v.errs)
}

func (v *validation) port(path string, p int) {
	if p < 1 || p > 65535 {
		v.fail(path, "must be an integer between 1 and 65535, got "+strconv.Itoa(p))
	}
}

func (v *validation) positive(path string, n int64) {
	if n < 1 {
		v.fail(path, "must be an integer of at least 1, got "+strconv.FormatInt(n, 10))
	}
}

func (v *validation) minChars(path, s string, n int) {
	if got := utf8.RuneCountInString(s); got < n {
		v.fail(path, fmt.Sprintf("must be at least %d characters long, got %d", n, got))
	}
}

func (v *validation) oneOf(path, s string, allowed ...string) {
	if !slices.Contains(allowed, s) {
		v.fail(path, fmt.Sprintf("must be one of %s, got %q", quoteList(allowed), s))
	}
}

// url checks s when it is set.
func (v *validation) url(path, s string, f format) {
	if s == "" {
		return
	}
	if problem := checkFormat(f, s); problem != "" {
		v.fail(path, fmt.Sprintf("%s, got %q", problem, s))
	}
}

func (v *validation) hooks(path string, hooks []Hook) {
	allowed := hookPositions[path]
	for i, h := range hooks {
		p := indexPath(path, i)
		if !slices.Contains(allowed, h.Hook) {
			v.fail(p+".hook", fmt.Sprintf("must be one of %s here, got %q", quoteList(allowed), h.Hook))
			continue
		}
		if h.Hook != HookWebHook {
			if h.Config != nil {
				v.fail(p+".config", fmt.Sprintf("is not allowed for the %q hook", h.Hook))
			}
			continue
		}
		if h.Config == nil {
			v.fail(p+".config", "is required for the \"web_hook\" hook")
			continue
		}
		if h.Config.URL == "" {
			v.fail(p+".config.url", "is required")
		} else {
			v.url(p+".config.url", h.Config.URL, formatURI)
		}
		if h.Config.Method == "" {
			v.fail(p+".config.method", "is required")
		}
		if h.Config.Auth != nil {
			v.webHookAuth(p+".config.auth", h.Config.Auth)
		}
	}
}

func (v *validation) webHookAuth(path string, a *WebHookAuth) {
	switch a.Type {
	case "api_key":
		if a.Config.Name == "" {
			v.fail(path+".config.name", "is required")
		}
		if a.Config.Value == "" {
			v.fail(path+".config.value", "is required")
		}
		v.oneOf(path+".config.in", a.Config.In, "header", "cookie")
	case "basic_auth":
		if a.Config.User == "" {
			v.fail(path+".config.user", "is required")
		}
		if a.Config.Password == "" {
			v.fail(path+".config.password", "is required")
		}
	default:
		v.oneOf(path+".type", a.Type, "api_key", "basic_auth")
	}
}

func (v *validation) oidcProvider(path string, p OIDCProvider, seen map[string]bool) {
	if p.ID == "" {
		v.fail(path+".id", "is required")
	} else if seen[p.ID] {
		v.fail(path+".id", fmt.Sprintf("%q is used by more than one provider", p.ID))
	}
	seen[p.ID] = true
	v.oneOf(path+".provider", p.Provider, OIDCProviders...)
	if p.ClientID == "" {
		v.fail(path+".client_id", "is required")
	}
	if p.MapperURL == "" {
		v.fail(path+".mapper_url", "is required")
	} else {
		v.url(path+".mapper_url", p.MapperURL, formatURI)
	}
	v.url(path+".issuer_url", p.IssuerURL, formatURI)
	v.url(path+".auth_url", p.AuthURL, formatURI)
	v.url(path+".token_url", p.TokenURL, formatURI)
	if p.Provider == "microsoft" && p.MicrosoftTenant == "" {
		v.fail(path+".microsoft_tenant", "is required for the microsoft provider")
	}
	if p.Provider == "apple" {
		if p.ClientSecret != "" {
			v.fail(path+".client_secret", "must not be set for the apple provider (the client secret is generated from apple_private_key)")
		}
		for _, f := range []struct{ key, value string }{
			{"apple_team_id", p.AppleTeamID}, {"apple_private_key_id", p.ApplePrivateKeyID}, {"apple_private_key", p.ApplePrivateKey},
		} {
			if f.value == "" {
				v.fail(path+"."+f.key, "is required for the apple provider")
			}
		}
		return
	}
	if p.ClientSecret == "" {
		v.fail(path+".client_secret", "is required")
	}
}

// tls checks that a listener's certificate and key are given together, each
// as exactly one of path and base64.
func (v *validation) tls(path string, t TLS) {
	if !t.Enabled() {
		return
	}
	for _, part := range []struct {
		name string
		src  TLSSource
	}{{"cert", t.Cert}, {"key", t.Key}} {
		switch {
		case part.src.Path == "" && part.src.Base64 == "":
			v.fail(path+"."+part.name, "is required when TLS is configured: set path or base64")
		case part.src.Path != "" && part.src.Base64 != "":
			v.fail(path+"."+part.name, "set either path or base64, not both")
		}
	}
}

// SMTPQueryOptions are the query options courier.smtp.connection_uri may
// carry. legacy_ssl is accepted because older Kratos files carry it; smtps://
// already means TLS from the first byte.
var SMTPQueryOptions = []string{"disable_starttls", "skip_ssl_verify", "legacy_ssl"}

// CheckSMTPURI describes what is wrong with an SMTP connection URI, or
// returns "". The URI may hold a password, so only its scheme and option
// names are ever quoted.
func CheckSMTPURI(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "is not a valid URL (the value is not shown because it may contain a password)"
	}
	if s := strings.ToLower(u.Scheme); s != "smtp" && s != "smtps" {
		if u.Scheme == "" {
			return "must be a URL starting with smtp:// or smtps://, got no scheme"
		}
		return fmt.Sprintf("must be a URL starting with smtp:// or smtps://, got the scheme %q", u.Scheme+"://")
	}
	if u.Hostname() == "" {
		return "has no host; write it as smtp://user:password@mail.example.org:587/"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "has a query that cannot be parsed"
	}
	names := slices.Sorted(maps.Keys(q))
	for _, name := range names {
		if !slices.Contains(SMTPQueryOptions, name) {
			return fmt.Sprintf("has the unknown option %q; the options are %s", name, quoteList(SMTPQueryOptions))
		}
		if _, err := strconv.ParseBool(q.Get(name)); err != nil {
			return fmt.Sprintf("option %q must be true or false, got %q", name, q.Get(name))
		}
	}
	return ""
}

// hostsOverlap tells whether listeners on a and b with the same port would
// collide: the same host, or a wildcard on either side.
func hostsOverlap(a, b string) bool {
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" || h == "[::]" }
	return wildcard(a) || wildcard(b) || strings.EqualFold(a, b)
}
