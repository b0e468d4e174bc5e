package config

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns a lookup function backed by a map.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

var noEnv = env(nil)

func loadYAML(t *testing.T, dev bool, lookup func(string) (string, bool), docs ...string) (*Config, error) {
	t.Helper()
	bs := make([][]byte, len(docs))
	for i, d := range docs {
		bs[i] = []byte(d)
	}
	return LoadBytes(bs, lookup, dev)
}

func mustLoadYAML(t *testing.T, dev bool, lookup func(string) (string, bool), docs ...string) *Config {
	t.Helper()
	c, err := loadYAML(t, dev, lookup, docs...)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

// minimal is the least a production (non-dev) configuration must set.
const minimal = `
dsn: memory
identity:
  schemas:
    - id: default
      url: file:///etc/hoplite/identity.schema.json
selfservice:
  default_browser_return_url: https://app.example.org/
secrets:
  default: [a-very-secret-value-of-32-chars]
`

func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q, got none", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not contain %q:\n%v", f, err)
		}
	}
}

func TestDevDefaultsWithoutAnyConfig(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(nil, noEnv, true, WithDataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Dev", c.Dev, true},
		{"DSN", c.DSN, "sqlite://" + filepath.ToSlash(dir) + "/hoplite.sqlite?_fk=true"},
		{"Identity.Schemas", c.Identity.Schemas, []IdentitySchema{{ID: "default", URL: "hoplite://default"}}},
		{"Identity.DefaultSchemaID", c.Identity.DefaultSchemaID, "default"},
		{"DefaultBrowserReturnURL", c.Selfservice.DefaultBrowserReturnURL, "http://127.0.0.1:4433/ui/"},
		{"UIEnabled", c.UIEnabled(), true},
		{"UI.BasePath", c.UI.BasePath, "/ui"},
		{"Public.Host", c.Serve.Public.Host, "127.0.0.1"},
		{"Admin.Host", c.Serve.Admin.Host, "127.0.0.1"},
		{"Public.Port", c.Serve.Public.Port, 4433},
		{"Admin.Port", c.Serve.Admin.Port, 4434},
		{"Public.MaxBodyBytes", c.Serve.Public.MaxBodyBytes, int64(1 << 20)},
		{"Admin.MaxBodyBytes", c.Serve.Admin.MaxBodyBytes, int64(1 << 20)},
		{"PublicBaseURL", c.PublicBaseURL().String(), "http://127.0.0.1:4433/"},
		{"AdminBaseURL", c.AdminBaseURL().String(), "http://127.0.0.1:4434/"},
		{"Hashers.Algorithm", c.Hashers.Algorithm, "bcrypt"},
		{"Bcrypt.Cost", c.Hashers.Bcrypt.Cost, 12},
		{"Argon2.Memory", c.Hashers.Argon2.Memory, uint64(128 << 20)},
		{"Argon2.Iterations", c.Hashers.Argon2.Iterations, uint32(1)},
		{"Argon2.Parallelism", c.Hashers.Argon2.Parallelism, uint8(min(2*runtime.NumCPU(), 255))},
		{"Argon2.SaltLength", c.Hashers.Argon2.SaltLength, uint32(16)},
		{"Argon2.KeyLength", c.Hashers.Argon2.KeyLength, uint32(32)},
		{"Argon2.ExpectedDuration", c.Hashers.Argon2.ExpectedDuration, 500 * time.Millisecond},
		{"Argon2.ExpectedDeviation", c.Hashers.Argon2.ExpectedDeviation, 500 * time.Millisecond},
		{"Argon2.DedicatedMemory", c.Hashers.Argon2.DedicatedMemory, uint64(1 << 30)},
		{"Ciphers.Algorithm", c.Ciphers.Algorithm, "noop"},
		{"Cookies.Path", c.Cookies.Path, "/"},
		{"Cookies.SameSite", c.Cookies.SameSite, "Lax"},
		{"Session.Lifespan", c.Session.Lifespan, 24 * time.Hour},
		{"Session.Cookie.Name", c.Session.Cookie.Name, "ory_kratos_session"},
		{"Session.Cookie.Persistent", c.Session.Cookie.Persistent, true},
		{"Session.Whoami.RequiredAAL", c.Session.Whoami.RequiredAAL, "highest_available"},
		{"Session.Cache.MaxAge", c.Session.Cache.MaxAge, time.Duration(0)},
		{"Login.UIURL", c.Selfservice.Flows.Login.UIURL, "http://127.0.0.1:4433/ui/login"},
		{"Error.UIURL", c.Selfservice.Flows.Error.UIURL, "http://127.0.0.1:4433/ui/error"},
		{"Login.Lifespan", c.Selfservice.Flows.Login.Lifespan, time.Hour},
		{"Registration.Enabled", c.Selfservice.Flows.Registration.Enabled, true},
		{"Registration.Lifespan", c.Selfservice.Flows.Registration.Lifespan, time.Hour},
		{"Settings.Lifespan", c.Selfservice.Flows.Settings.Lifespan, time.Hour},
		{"Settings.PrivilegedSessionMaxAge", c.Selfservice.Flows.Settings.PrivilegedSessionMaxAge, time.Hour},
		{"Settings.RequiredAAL", c.Selfservice.Flows.Settings.RequiredAAL, "highest_available"},
		// Dev mode with no file turns both address flows on (the built-in
		// schema makes the email their address; mails go to the log).
		{"Recovery.Enabled", c.Selfservice.Flows.Recovery.Enabled, true},
		{"Verification.Enabled", c.Selfservice.Flows.Verification.Enabled, true},
		{"Courier.Worker.Enabled", c.Courier.Worker.Enabled, true},
		{"Registration.After.Password.Hooks", c.Selfservice.Flows.Registration.After.Password.Hooks, []Hook{{Hook: HookSession}}},
		{"Verification.Lifespan", c.Selfservice.Flows.Verification.Lifespan, time.Hour},
		{"Password", c.Selfservice.Methods.Password, PasswordMethod{Enabled: true, Config: PasswordConfig{
			HaveIBeenPwnedHost: "api.pwnedpasswords.com", HaveIBeenPwnedEnabled: true, MaxBreaches: 0,
			IgnoreNetworkErrors: true, MinPasswordLength: 8, IdentifierSimilarityCheckEnabled: true}}},
		{"Profile.Enabled", c.Selfservice.Methods.Profile.Enabled, true},
		{"Link", c.Selfservice.Methods.Link, LinkMethod{Enabled: true, Config: LinkConfig{Lifespan: time.Hour}}},
		{"TOTP.Enabled", c.Selfservice.Methods.TOTP.Enabled, false},
		{"LookupSecret.Enabled", c.Selfservice.Methods.LookupSecret.Enabled, false},
		{"WebAuthn.Enabled", c.Selfservice.Methods.WebAuthn.Enabled, false},
		{"OIDC.Enabled", c.Selfservice.Methods.OIDC.Enabled, false},
		{"Courier.SMTP.FromAddress", c.Courier.SMTP.FromAddress, "no-reply@ory.kratos.sh"},
		{"Courier.MessageTTL", c.Courier.MessageTTL, time.Hour},
		{"Courier.SMS.Enabled", c.Courier.SMS.Enabled, false},
		{"Courier.SMS.From", c.Courier.SMS.From, "Ory Kratos"},
		{"Courier.SMS.RequestConfig", c.Courier.SMS.RequestConfig == nil, true},
		{"Log.Level", c.Log.Level, "info"},
		{"CORS.AllowedOrigins", c.Serve.Public.CORS.AllowedOrigins, []string{"*"}},
		{"CORS.AllowCredentials", c.Serve.Public.CORS.AllowCredentials, true},
		{"Socket.Mode", c.Serve.Public.Socket.Mode, 493},
		{"Clients.DisallowPrivateIPRanges", c.Clients.HTTP.DisallowPrivateIPRanges, false},
		{"Unsupported", len(c.Unsupported()), 0},
		{"CookieSecure", c.CookieSecure(), false},
		{"CSRFCookieSameSite", c.CSRFCookieSameSite(), http.SameSiteLaxMode},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	if len(c.Secrets.Default) != 0 {
		t.Errorf("no secret should be invented by the config loader (the app keeps generated ones), got %q", c.Secrets.Default)
	}
	if got := c.CookieSecrets(); !slices.Equal(got, c.Secrets.Default) {
		t.Errorf("CookieSecrets = %q, want secrets.default", got)
	}
}

func equal(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestDevFlagFromConfigKeyAndEnv(t *testing.T) {
	c := mustLoadYAML(t, false, noEnv, "dev: true")
	if !c.Dev || c.Identity.Schemas[0].URL != DevIdentitySchemaURL {
		t.Errorf("dev: true in a file should turn dev mode on (Dev=%v, schemas=%v)", c.Dev, c.Identity.Schemas)
	}
	c = mustLoadYAML(t, false, env(map[string]string{"DEV": "true"}))
	if !c.Dev {
		t.Error("DEV=true should turn dev mode on")
	}
}

func TestDevDefaultsYieldToConfiguredValues(t *testing.T) {
	c := mustLoadYAML(t, true, noEnv, `
dsn: postgres://u:p@db:5432/hoplite
serve:
  public:
    host: 0.0.0.0
identity:
  schemas:
    - id: customer
      url: base64://e30=
  default_schema_id: customer
selfservice:
  default_browser_return_url: http://localhost:3000/
`)
	if c.DSN != "postgres://u:p@db:5432/hoplite" || c.Serve.Public.Host != "0.0.0.0" || c.Serve.Admin.Host != "127.0.0.1" ||
		len(c.Identity.Schemas) != 1 || c.Identity.Schemas[0].ID != "customer" ||
		c.Selfservice.DefaultBrowserReturnURL != "http://localhost:3000/" {
		t.Errorf("configured values must win over dev defaults: %+v %+v %+v", c.DSN, c.Serve, c.Identity)
	}
	if got := c.PublicBaseURL().String(); got != "http://localhost:4433/" {
		t.Errorf("PublicBaseURL = %s, want http://localhost:4433/", got)
	}
}

func TestMissingRequiredKeysOutsideDev(t *testing.T) {
	_, err := Load(nil, noEnv, false)
	wantErr(t, err,
		"config: dsn: is required",
		"config: identity.schemas: is required",
		"config: selfservice.default_browser_return_url: is required")

	// Each one alone.
	for _, missing := range []string{"dsn", "identity.schemas", "selfservice.default_browser_return_url"} {
		t.Run(missing, func(t *testing.T) {
			doc := map[string]any{
				"dsn":         "memory",
				"identity":    map[string]any{"schemas": []any{map[string]any{"id": "default", "url": "file:///x.json"}}},
				"selfservice": map[string]any{"default_browser_return_url": "https://app.example.org/"},
			}
			parts := strings.Split(missing, ".")
			if len(parts) == 1 {
				delete(doc, parts[0])
			} else {
				delete(doc[parts[0]].(map[string]any), parts[1])
			}
			b, _ := json.Marshal(doc)
			_, err := LoadBytes([][]byte{b}, noEnv, false)
			wantErr(t, err, "config: "+missing+": is required")
		})
	}
	if _, err := loadYAML(t, false, noEnv, minimal); err != nil {
		t.Errorf("the minimal configuration should load: %v", err)
	}
}

func TestKratosV09ConfigLoads(t *testing.T) {
	c, err := Load([]string{"testdata/kratos-v0.9.yml"}, noEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	ss := c.Selfservice
	checks := []struct {
		name      string
		got, want any
	}{
		{"Version", c.Version, "v0.9.0-alpha.3"},
		{"DSN", c.DSN, "memory"},
		{"PublicBaseURL", c.PublicBaseURL().String(), "http://127.0.0.1:4433/"},
		{"AdminBaseURL", c.AdminBaseURL().String(), "http://kratos:4434/"},
		{"Public.Host", c.Serve.Public.Host, "0.0.0.0"},
		{"CORS.Enabled", c.Serve.Public.CORS.Enabled, true},
		{"CORS.AllowedOrigins", c.Serve.Public.CORS.AllowedOrigins, []string{"http://127.0.0.1:4455", "https://*.example.org"}},
		{"CORS.MaxAge", c.Serve.Public.CORS.MaxAge, 300},
		{"Admin.TLS.Cert.Path", c.Serve.Admin.TLS.Cert.Path, "/etc/config/kratos/tls/admin.crt"},
		{"DefaultBrowserReturnURL", ss.DefaultBrowserReturnURL, "http://127.0.0.1:4455/"},
		{"AllowedReturnURLs", ss.AllowedReturnURLs, []string{"http://127.0.0.1:4455", "https://*.example.org/welcome"}},
		{"Password.HIBP", ss.Methods.Password.Config.HaveIBeenPwnedEnabled, false},
		{"Password.MinLength", ss.Methods.Password.Config.MinPasswordLength, 10},
		{"Password.Host", ss.Methods.Password.Config.HaveIBeenPwnedHost, "api.pwnedpasswords.com"},
		{"Link.Lifespan", ss.Methods.Link.Config.Lifespan, 15 * time.Minute},
		{"Link.BaseURL", ss.Methods.Link.Config.BaseURL, "http://127.0.0.1:4433/"},
		{"TOTP", ss.Methods.TOTP, TOTPMethod{Enabled: true, Config: TOTPConfig{Issuer: "Example Org"}}},
		{"LookupSecret", ss.Methods.LookupSecret.Enabled, true},
		{"WebAuthn", ss.Methods.WebAuthn, WebAuthnMethod{Enabled: true, Config: WebAuthnConfig{RP: WebAuthnRP{
			ID: "localhost", Origin: "http://localhost:4455", DisplayName: "Example Org"}}}},
		{"OIDC.Enabled", ss.Methods.OIDC.Enabled, true},
		{"OIDC.Providers", len(ss.Methods.OIDC.Config.Providers), 2},
		{"OIDC.github", ss.Methods.OIDC.Config.Providers[0].Scope, []string{"user:email"}},
		{"OIDC.corporate.Label", ss.Methods.OIDC.Config.Providers[1].Label, "Corporate SSO"},
		{"OIDC.corporate.IssuerURL", ss.Methods.OIDC.Config.Providers[1].IssuerURL, "https://sso.example.org/"},
		{"Login.Lifespan", ss.Flows.Login.Lifespan, 10 * time.Minute},
		{"Login.Before", ss.Flows.Login.Before.Hooks[0].Config.URL, "http://127.0.0.1:4459/hooks/login-started"},
		{"Login.After.Password", ss.Flows.Login.After.Password.Hooks, []Hook{{Hook: HookRevokeActiveSessions}}},
		{"Login.After.WebAuthn", ss.Flows.Login.After.WebAuthn.Hooks, []Hook{{Hook: HookRequireVerifiedAddress}}},
		{"Registration.Lifespan", ss.Flows.Registration.Lifespan, 10 * time.Minute},
		{"Registration.After.Password", len(ss.Flows.Registration.After.Password.Hooks), 2},
		{"Registration.After.OIDC", ss.Flows.Registration.After.OIDC.Hooks, []Hook{{Hook: HookSession}}},
		{"Settings.PrivilegedSessionMaxAge", ss.Flows.Settings.PrivilegedSessionMaxAge, 15 * time.Minute},
		{"Settings.Lifespan", ss.Flows.Settings.Lifespan, 30 * time.Minute},
		{"Recovery", ss.Flows.Recovery.Enabled, true},
		{"Recovery.Hooks", len(ss.Flows.Recovery.After.Hooks), 2},
		{"Verification.Lifespan", ss.Flows.Verification.Lifespan, 2 * time.Hour},
		{"Logout", ss.Flows.Logout.After.DefaultBrowserReturnURL, "http://127.0.0.1:4455/login"},
		{"Log", c.Log, Log{Level: "debug", Format: "text", LeakSensitiveValues: true}},
		{"Secrets.Cookie", len(c.Secrets.Cookie), 2},
		{"Secrets.Cipher", c.Secrets.Cipher, []string{"3b2f5c0e9a1d4c7e8f6a2b1c0d9e8f7a"}},
		{"Ciphers", c.Ciphers.Algorithm, "xchacha20-poly1305"},
		{"Hashers.Algorithm", c.Hashers.Algorithm, "argon2"},
		{"Argon2", c.Hashers.Argon2, Argon2{Memory: 128 << 20, Iterations: 2, Parallelism: 4, SaltLength: 16, KeyLength: 32,
			ExpectedDuration: 400 * time.Millisecond, ExpectedDeviation: 200 * time.Millisecond, DedicatedMemory: 1 << 30}},
		{"Session.Lifespan", c.Session.Lifespan, 720 * time.Hour},
		{"Session.Cookie.Persistent", c.Session.Cookie.Persistent, false},
		{"Session.Whoami.RequiredAAL", c.Session.Whoami.RequiredAAL, "aal1"},
		{"Identity", c.Identity.Schemas, []IdentitySchema{{ID: "default", URL: "file://./testdata/identity.default.schema.json"}}},
		{"SMTP", c.Courier.SMTP, SMTP{ConnectionURI: "smtps://test:test@mailslurper:1025/?skip_ssl_verify=true",
			FromAddress: "no-reply@example.org", FromName: "Example Org", Headers: map[string]string{"X-Mailer": "example-org"}}},
		{"Courier.MessageTTL", c.Courier.MessageTTL, 2 * time.Hour},
		{"Courier.TemplateOverridePath", c.Courier.TemplateOverridePath, "/conf/courier-templates"},
		{"Courier.Templates.Recovery.Valid.Subject", c.Courier.Templates.Recovery.Valid.Email.Subject,
			"base64://UmVzZXQgdGhlIHBhc3N3b3JkIG9mIHlvdXIgZXhhbXBsZS5vcmcgYWNjb3VudA=="},
		{"Courier.Templates.Verification.Invalid.Plaintext", c.Courier.Templates.Verification.Invalid.Email.Body.Plaintext,
			"https://templates.example.org/verification/invalid/email.body.plaintext.gotmpl"},
		{"Tracing.Provider", c.Tracing.Provider, "jaeger"},
		{"Tracing.Sampling", c.Tracing.Providers.Jaeger.Sampling, JaegerSampling{Type: "const", Value: 1, ServerURL: "http://127.0.0.1:5778/sampling"}},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}

	// Hooks with typed web hook configuration.
	regHook := ss.Flows.Registration.After.Password.Hooks[0]
	want := &WebHookConfig{
		URL: "http://127.0.0.1:4459/hooks/registered", Method: "POST", Body: "file://./testdata/hook-body.jsonnet",
		Auth:     &WebHookAuth{Type: "api_key", Config: WebHookAuthConfig{Name: "X-Hook-Key", Value: "example-hook-key", In: "header"}},
		Response: WebHookResponse{Ignore: true},
	}
	if regHook.Hook != HookWebHook || !equal(regHook.Config, want) {
		t.Errorf("registration web hook = %+v %+v", regHook, regHook.Config)
	}
	basic := ss.Flows.Verification.After.Hooks[0].Config.Auth
	if basic == nil || basic.Type != "basic_auth" || basic.Config.User != "hooks" || basic.Config.Password != "example-hook-password" {
		t.Errorf("verification web hook auth = %+v", basic)
	}
	var claims map[string]any
	if err := json.Unmarshal(ss.Methods.OIDC.Config.Providers[1].RequestedClaims, &claims); err != nil {
		t.Fatalf("requested_claims: %v", err)
	}
	if _, ok := claims["id_token"].(map[string]any)["email_verified"]; !ok {
		t.Errorf("requested_claims should keep null members: %s", ss.Methods.OIDC.Config.Providers[1].RequestedClaims)
	}

	wantUnsupported := []string{
		"ciphers.algorithm",
		"selfservice.methods.lookup_secret.enabled",
		"selfservice.methods.oidc.config.base_redirect_uri",
		"selfservice.methods.oidc.config.providers",
		"selfservice.methods.oidc.enabled",
		"selfservice.methods.totp.config.issuer",
		"selfservice.methods.totp.enabled",
		"selfservice.methods.webauthn.config.passwordless",
		"selfservice.methods.webauthn.config.rp.display_name",
		"selfservice.methods.webauthn.config.rp.id",
		"selfservice.methods.webauthn.config.rp.origin",
		"selfservice.methods.webauthn.enabled",
		// allowed_methods and allow_credentials are set to their defaults;
		// request_log, tls and the top-level version are honoured.
		"tracing.provider",
		"tracing.providers.jaeger.local_agent_address",
		"tracing.providers.jaeger.sampling.server_url",
		"tracing.providers.jaeger.sampling.type",
		"tracing.providers.jaeger.sampling.value",
		"tracing.service_name",
	}
	if got := c.Unsupported(); !slices.Equal(got, wantUnsupported) {
		t.Errorf("Unsupported() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantUnsupported, "\n"))
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("unexpected warnings: %q", c.Warnings())
	}
}

func TestMultipleFilesMerge(t *testing.T) {
	dir := t.TempDir()
	zeroth := filepath.Join(dir, "minimal.yml")
	first := filepath.Join(dir, "base.yml")
	second := filepath.Join(dir, "override.json")
	writeFile(t, zeroth, minimal)
	writeFile(t, first, `
serve:
  public:
    port: 4000
    base_url: https://id.example.org/
  admin:
    port: 5000
selfservice:
  allowed_return_urls: [https://a.example.org/, https://b.example.org/]
  flows:
    login:
      lifespan: 5m
      ui_url: https://app.example.org/login
session:
  cookie:
    domain: example.org
`)
	writeFile(t, second, `{
  "serve": {"public": {"port": 4001}},
  "selfservice": {
    "allowed_return_urls": ["https://c.example.org/"],
    "flows": {"login": {"lifespan": "7m"}}
  },
  "session": {"cookie": {"same_site": "Strict"}}
}`)
	c, err := Load([]string{zeroth, first, second}, noEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"later scalar wins", c.Serve.Public.Port, 4001},
		{"sibling kept", c.Serve.Public.BaseURL, "https://id.example.org/"},
		{"other branch kept", c.Serve.Admin.Port, 5000},
		{"list replaced", c.Selfservice.AllowedReturnURLs, []string{"https://c.example.org/"}},
		{"nested override", c.Selfservice.Flows.Login.Lifespan, 7 * time.Minute},
		{"nested sibling kept", c.Selfservice.Flows.Login.UIURL, "https://app.example.org/login"},
		{"deep merge", c.SessionCookieDomain(), "example.org"},
		{"deep merge 2", c.SessionCookieSameSite(), http.SameSiteStrictMode},
		{"default kept", c.Selfservice.DefaultBrowserReturnURL, "https://app.example.org/"},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestErrorsNameTheSource(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "kratos.yml")
	writeFile(t, f, minimal+"serve:\n  public:\n    port: 0\n")
	_, err := Load([]string{f}, noEnv, false)
	wantErr(t, err, "config: serve.public.port: must be an integer between 1 and 65535, got 0 (from "+f+")")

	_, err = Load([]string{filepath.Join(dir, "missing.yml")}, noEnv, false)
	wantErr(t, err, "config: reading ")

	_, err = loadYAML(t, false, noEnv, "serve: [")
	wantErr(t, err, "config: parsing document 1")

	_, err = loadYAML(t, false, noEnv, "- a\n- b\n")
	wantErr(t, err, "must be a mapping")

	var ce *Error
	_, err = loadYAML(t, false, noEnv, minimal, "log:\n  level: loud\n")
	if !errors.As(err, &ce) || ce.Path != "log.level" || ce.Source != "document 2" {
		t.Errorf("want an *Error for log.level from document 2, got %#v", err)
	}
}

func TestEmptyAndNullValues(t *testing.T) {
	// Empty documents and keys left empty (null) are treated as unset.
	c := mustLoadYAML(t, false, noEnv, "", minimal, "selfservice:\n  flows:\n    login:\n  methods:\nsession:\n")
	if c.Selfservice.Flows.Login.Lifespan != time.Hour {
		t.Errorf("null flows.login should leave defaults, got %v", c.Selfservice.Flows.Login.Lifespan)
	}
}

func TestBcryptCost(t *testing.T) {
	c := mustLoadYAML(t, false, noEnv, minimal, "hashers:\n  bcrypt:\n    cost: 4\n")
	if c.Hashers.Bcrypt.Cost != 12 {
		t.Errorf("cost below 12 outside dev should be raised to 12, got %d", c.Hashers.Bcrypt.Cost)
	}
	if !slices.ContainsFunc(c.Warnings(), func(w string) bool { return strings.HasPrefix(w, "hashers.bcrypt.cost:") }) {
		t.Errorf("raising the cost should be warned about: %q", c.Warnings())
	}
	c = mustLoadYAML(t, true, noEnv, "hashers:\n  bcrypt:\n    cost: 4\n")
	if c.Hashers.Bcrypt.Cost != 4 {
		t.Errorf("dev mode keeps a low cost, got %d", c.Hashers.Bcrypt.Cost)
	}
	c = mustLoadYAML(t, false, noEnv, minimal, "hashers:\n  bcrypt:\n    cost: 14\n")
	if c.Hashers.Bcrypt.Cost != 14 || len(c.Warnings()) != 0 {
		t.Errorf("cost 14 kept without warning, got %d %q", c.Hashers.Bcrypt.Cost, c.Warnings())
	}
	_, err := loadYAML(t, true, noEnv, "hashers:\n  bcrypt:\n    cost: 3\n")
	wantErr(t, err, "config: hashers.bcrypt.cost: must be an integer between 4 and 31, got 3")
	_, err = loadYAML(t, true, noEnv, "hashers:\n  bcrypt: {}\n")
	wantErr(t, err, "config: hashers.bcrypt.cost: is required")
}

func TestByteSizes(t *testing.T) {
	for in, want := range map[string]uint64{
		"128MB": 128 << 20, "1GB": 1 << 30, "512KB": 512 << 10, "64 MiB": 64 << 20, "1.5GB": 3 << 29,
		"1024": 1024, "100B": 100, "2kb": 2048,
	} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "12XB", "-1MB", "1e3"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) should fail", in)
		}
	}
	c := mustLoadYAML(t, true, noEnv, "hashers:\n  argon2:\n    memory: 65536\n    dedicated_memory: 2GB\n")
	if c.Hashers.Argon2.Memory != 65536 || c.Hashers.Argon2.DedicatedMemory != 2<<30 {
		t.Errorf("argon2 sizes = %d, %d", c.Hashers.Argon2.Memory, c.Hashers.Argon2.DedicatedMemory)
	}
	_, err := loadYAML(t, true, noEnv, "hashers:\n  argon2:\n    memory: lots\n")
	wantErr(t, err, `config: hashers.argon2.memory: must be a byte size`, `got "lots"`)
}

func TestHookHelpers(t *testing.T) {
	c, err := Load([]string{"testdata/kratos-v0.9.yml"}, noEnv, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AfterHooks(FlowLogin, "password"); !equal(got, []Hook{{Hook: HookRevokeActiveSessions}}) {
		t.Errorf("login/password hooks = %+v", got)
	}
	if got := c.AfterHooks(FlowLogin, "totp"); len(got) != 1 || got[0].Config.URL != "http://127.0.0.1:4459/hooks/logged-in" {
		t.Errorf("login/totp should fall back to the flow hooks, got %+v", got)
	}
	if got := c.AfterHooks(FlowRegistration, "profile"); len(got) != 0 {
		t.Errorf("registration fallback hooks = %+v", got)
	}
	for _, tc := range []struct{ flow, method, want string }{
		{FlowLogin, "oidc", "http://127.0.0.1:4455/?via=sso"},
		{FlowLogin, "password", "http://127.0.0.1:4455/"},
		{FlowSettings, "profile", "http://127.0.0.1:4455/settings?updated=true"},
		{FlowRegistration, "password", "http://127.0.0.1:4455/"},
		{FlowVerification, "link", "http://127.0.0.1:4455/welcome"},
		{FlowLogout, "", "http://127.0.0.1:4455/login"},
	} {
		if got := c.ReturnTo(tc.flow, tc.method); got != tc.want {
			t.Errorf("ReturnTo(%s, %s) = %s, want %s", tc.flow, tc.method, got, tc.want)
		}
	}
}

func TestCookieFallbacks(t *testing.T) {
	c := mustLoadYAML(t, false, noEnv, minimal, `
cookies:
  domain: example.org
  path: /auth
  same_site: None
secrets:
  cookie: [cookie-secret-0123456789]
`)
	if c.SessionCookieDomain() != "example.org" || c.SessionCookiePath() != "/auth" || c.SessionCookieSameSite() != http.SameSiteNoneMode {
		t.Errorf("session cookie should fall back to cookies.*: %q %q %v", c.SessionCookieDomain(), c.SessionCookiePath(), c.SessionCookieSameSite())
	}
	if c.CSRFCookieSameSite() != http.SameSiteNoneMode || !c.CookieSecure() {
		t.Error("outside dev the CSRF cookie uses cookies.same_site and cookies are Secure")
	}
	if got := c.CookieSecrets(); !slices.Equal(got, []string{"cookie-secret-0123456789"}) {
		t.Errorf("CookieSecrets = %q", got)
	}
}

func TestTracingOTelLoadsFromEnvAndIsSupported(t *testing.T) {
	env := map[string]string{
		"TRACING_PROVIDER":                               "otel",
		"TRACING_SERVICE_NAME":                           "id",
		"TRACING_PROVIDERS_OTLP_SERVER_URL":              "http://127.0.0.1:4318",
		"TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO": "0.25",
	}
	c, err := Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, true)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Tracing.Providers.OTLP
	if c.Tracing.Provider != "otel" || c.Tracing.ServiceName != "id" || o.ServerURL != "http://127.0.0.1:4318" || o.Sampling.SamplingRatio != 0.25 {
		t.Errorf("tracing = %+v", c.Tracing)
	}
	if got := c.Unsupported(); len(got) != 0 {
		t.Errorf("otel tracing is supported, yet reported: %q", got)
	}
	d, err := Load(nil, noEnv, true)
	if err != nil {
		t.Fatal(err)
	}
	if d.Tracing.Providers.OTLP.Sampling.SamplingRatio != 1 {
		t.Errorf("default sampling ratio = %v, want 1", d.Tracing.Providers.OTLP.Sampling.SamplingRatio)
	}
}

// The built-in UI: on in dev mode, off elsewhere unless switched on; when
// on, only ui_urls left at Kratos' defaults move to it.
func TestBuiltinUIDefaults(t *testing.T) {
	off := mustLoadYAML(t, true, noEnv, "ui:\n  enabled: false\n")
	if off.UIEnabled() || off.Selfservice.DefaultBrowserReturnURL != DevDefaultBrowserReturnURL ||
		off.Selfservice.Flows.Login.UIURL != "https://www.ory.sh/kratos/docs/fallback/login" {
		t.Errorf("dev with ui off: %v %q %q", off.UIEnabled(), off.Selfservice.DefaultBrowserReturnURL, off.Selfservice.Flows.Login.UIURL)
	}
	prod := "dsn: memory\nidentity:\n  schemas:\n    - id: default\n      url: base64://e30=\nselfservice:\n  default_browser_return_url: https://app.example.org/\n"
	c := mustLoadYAML(t, false, noEnv, prod)
	if c.UIEnabled() || c.Selfservice.Flows.Login.UIURL != "https://www.ory.sh/kratos/docs/fallback/login" {
		t.Errorf("production default: %v %q", c.UIEnabled(), c.Selfservice.Flows.Login.UIURL)
	}
	c = mustLoadYAML(t, false, noEnv, prod, "serve:\n  public:\n    base_url: https://id.example.org/\nui:\n  enabled: true\n  base_path: /account\nselfservice:\n  flows:\n    settings:\n      ui_url: https://app.example.org/settings\n")
	if !c.UIEnabled() || c.Selfservice.Flows.Login.UIURL != "https://id.example.org/account/login" ||
		c.Selfservice.Flows.Settings.UIURL != "https://app.example.org/settings" ||
		c.Selfservice.DefaultBrowserReturnURL != "https://app.example.org/" {
		t.Errorf("production with ui on: login %q settings %q return %q", c.Selfservice.Flows.Login.UIURL, c.Selfservice.Flows.Settings.UIURL, c.Selfservice.DefaultBrowserReturnURL)
	}
	if _, err := loadYAML(t, true, noEnv, "ui:\n  base_path: ui/\n"); err == nil || !strings.Contains(err.Error(), "ui.base_path") {
		t.Errorf("a bad base path: %v", err)
	}
}

func TestSyntaxErrorsNameFileLineAndColumn(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, doc, want string }{
		// The mistake is the indentation of admin on line 4, not line 1
		// where the block started.
		{"indent.yml", "serve:\n  public:\n    port: 4433\n   admin:\n    port: 4434\n", "indent.yml: line 4, column 4: did not find expected key"},
		{"tab.yml", "dsn: memory\nserve:\n\tpublic: {}\n", "tab.yml: line 3, column 1: found character that cannot start any token"},
		{"list.yml", "selfservice:\n  allowed_return_urls: [https://a.example.org/\ndsn: memory\n", "list.yml: line 3"},
		{"comma.json", "{\n  \"dsn\": \"memory\",\n  \"serve\": {\"public\": {\"port\": 4433,}}\n}\n", "comma.json: line 3, column 37: invalid character '}' looking for beginning of object key string"},
		{"cut.json", "{\n  \"dsn\": \"memory\",\n  \"serve\": {\"public\": ", "cut.json: line 3, column 23: the document ends before it is complete"},
	} {
		f := filepath.Join(dir, tc.name)
		writeFile(t, f, tc.doc)
		_, err := Load([]string{f}, noEnv, true)
		if err == nil || !strings.Contains(err.Error(), "config: parsing "+filepath.Join(dir, tc.want)) {
			t.Errorf("%s: %v\nwant %q", tc.name, err, tc.want)
		}
	}
}
