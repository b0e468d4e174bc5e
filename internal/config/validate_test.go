package config

import (
	"strings"
	"testing"
)

func TestInvalidConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown top-level key", "colour: blue", []string{`config: unknown key "colour"`}},
		{"unknown nested key", "selfservice:\n  flows:\n    login:\n      lifespam: 1h", []string{`config: unknown key "selfservice.flows.login.lifespam"`}},
		{"unknown key in list item", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - id: x\n            provider: github\n            client_id: a\n            client_secret: b\n            mapper_url: file:///m\n            tenant: y",
			[]string{`unknown key "selfservice.methods.oidc.config.providers[0].tenant"`}},
		{"unknown key in hook config", "selfservice:\n  flows:\n    login:\n      before:\n        hooks:\n          - hook: web_hook\n            config:\n              url: https://h.example.org/\n              method: POST\n              headers: {A: b}",
			[]string{`unknown key "selfservice.flows.login.before.hooks[0].config.headers"`}},
		{"config on a session hook", "selfservice:\n  flows:\n    registration:\n      after:\n        password:\n          hooks:\n            - hook: session\n              config: {}",
			[]string{`unknown key "selfservice.flows.registration.after.password.hooks[0].config"`}},
		{"later-version key", "selfservice:\n  methods:\n    code:\n      enabled: true", []string{`unknown key "selfservice.methods.code"`}},
		{"admin has no cors", "serve:\n  admin:\n    cors:\n      enabled: true", []string{`unknown key "serve.admin.cors"`}},
		{"wrong type: string for int", "serve:\n  public:\n    port: abc", []string{`config: serve.public.port: must be an integer between 1 and 65535, got "abc"`}},
		{"wrong type: object for string", "dsn:\n  url: x", []string{`config: dsn: must be a string, got an object`}},
		{"wrong type: scalar for object", "serve: 4433", []string{`config: serve: must be an object, got 4433`}},
		{"wrong type: scalar for list", "selfservice:\n  allowed_return_urls: https://a.example.org/", []string{`selfservice.allowed_return_urls: must be a list`}},
		{"wrong type: bool", "selfservice:\n  flows:\n    registration:\n      enabled: yes", []string{`selfservice.flows.registration.enabled: must be true or false, got "yes"`}},
		{"wrong type: number for string", "selfservice:\n  methods:\n    totp:\n      config:\n        issuer: 42", []string{`selfservice.methods.totp.config.issuer: must be a string, got 42`}},
		{"integer duration", "session:\n  lifespan: 3600", []string{`session.lifespan: must be a duration such as "1h", "30m" or "15s", got 3600`}},
		{"negative duration", "session:\n  lifespan: -1h", []string{`session.lifespan: must be a duration`}},
		{"port out of range", "serve:\n  admin:\n    port: 70000", []string{`config: serve.admin.port: must be an integer between 1 and 65535, got 70000`}},
		{"port zero", "serve:\n  public:\n    port: 0", []string{`serve.public.port: must be an integer between 1 and 65535, got 0`}},
		{"fractional port", "serve:\n  public:\n    port: 44.5", []string{`serve.public.port: must be an integer between 1 and 65535, got 44.5`}},
		{"bad same_site", "cookies:\n  same_site: lax", []string{`config: cookies.same_site: must be one of "Strict", "Lax", "None", got "lax"`}},
		{"bad session same_site", "session:\n  cookie:\n    same_site: Relaxed", []string{`session.cookie.same_site: must be one of`}},
		{"bad hasher", "hashers:\n  algorithm: scrypt", []string{`hashers.algorithm: must be one of "argon2", "bcrypt", got "scrypt"`}},
		{"bad log level", "log:\n  level: verbose", []string{`log.level: must be one of`}},
		{"bad required_aal", "session:\n  whoami:\n    required_aal: aal2", []string{`session.whoami.required_aal: must be one of "aal1", "highest_available", got "aal2"`}},
		{"bad oidc provider", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - id: x\n            provider: netid\n            client_id: a\n            client_secret: b\n            mapper_url: file:///m",
			[]string{`providers[0].provider: must be one of "generic", "google"`, `got "netid"`}},
		{"bad cipher algorithm", "ciphers:\n  algorithm: rot13", []string{`ciphers.algorithm: must be one of "noop", "aes", "xchacha20-poly1305"`}},
		{"short default secret", "secrets:\n  default: [too-short]", []string{`config: secrets.default[0]: must be at least 16 characters long, got 9`}},
		{"short cookie secret", "secrets:\n  cookie: [a-long-enough-secret, tiny]", []string{`config: secrets.cookie[1]: must be at least 16 characters long, got 4`}},
		{"cipher secret length", "secrets:\n  cipher: [thirty-one-characters-long-xxxx]", []string{`config: secrets.cipher[0]: must be exactly 32 characters long, got 31`}},
		{"duplicate secrets", "secrets:\n  default: [same-secret-value-123, same-secret-value-123]", []string{`secrets.default[1]: repeats entry [0]`}},
		{"cipher secret required", "ciphers:\n  algorithm: aes", []string{`config: secrets.cipher: is required when ciphers.algorithm is "aes"`}},
		{"bad URL", "serve:\n  admin:\n    base_url: not a url", []string{`serve.admin.base_url: must be an absolute URL, got "not a url"`}},
		{"bad identity schema URL", "identity:\n  schemas:\n    - id: default\n      url: ://broken", []string{`identity.schemas[0].url: must be an absolute URL`}},
		{"empty identity schemas", "identity:\n  schemas: []", []string{`identity.schemas: must have at least 1 entry`}},
		{"unknown default schema", "identity:\n  default_schema_id: customer", []string{`identity.default_schema_id: no schema in identity.schemas has the id "customer"`}},
		{"hook not allowed here", "selfservice:\n  flows:\n    login:\n      after:\n        password:\n          hooks:\n            - hook: session",
			[]string{`selfservice.flows.login.after.password.hooks[0].hook: must be one of "revoke_active_sessions", "require_verified_address", "web_hook" here, got "session"`}},
		{"unknown hook", "selfservice:\n  flows:\n    recovery:\n      after:\n        hooks:\n          - hook: notify", []string{`recovery.after.hooks[0].hook: must be one of "web_hook", "revoke_active_sessions" here, got "notify"`}},
		{"hook name missing", "selfservice:\n  flows:\n    verification:\n      after:\n        hooks:\n          - config: {}", []string{`verification.after.hooks[0].hook: is required`}},
		{"web hook without url", "selfservice:\n  flows:\n    settings:\n      after:\n        hooks:\n          - hook: web_hook\n            config:\n              method: POST",
			[]string{`selfservice.flows.settings.after.hooks[0].config.url: is required`}},
		{"web hook without config", "selfservice:\n  flows:\n    settings:\n      after:\n        hooks:\n          - hook: web_hook", []string{`settings.after.hooks[0].config: is required`}},
		{"web hook bad auth type", "selfservice:\n  flows:\n    settings:\n      after:\n        hooks:\n          - hook: web_hook\n            config:\n              url: https://h.example.org/\n              method: POST\n              auth:\n                type: bearer",
			[]string{`config.auth.type: must be one of "api_key", "basic_auth" here, got "bearer"`}},
		{"web hook api key in query", "selfservice:\n  flows:\n    settings:\n      after:\n        hooks:\n          - hook: web_hook\n            config:\n              url: https://h.example.org/\n              method: POST\n              auth:\n                type: api_key\n                config: {name: k, value: v, in: query}",
			[]string{`config.auth.config.in: must be one of "header", "cookie", got "query"`}},
		{"duplicate hooks", "selfservice:\n  flows:\n    recovery:\n      after:\n        hooks:\n          - hook: revoke_active_sessions\n          - hook: revoke_active_sessions", []string{`recovery.after.hooks[1]: repeats entry [0]`}},
		{"smtp uri scheme", "courier:\n  smtp:\n    connection_uri: mail.example.org:25", []string{`courier.smtp.connection_uri: must be a URL starting with smtp:// or smtps://`}},
		{"courier without smtp", "courier:\n  message_ttl: 1h", []string{`config: courier.smtp: is required`}},
		{"bad from address", "courier:\n  smtp:\n    connection_uri: smtp://m/\n    from_address: nobody", []string{`courier.smtp.from_address: must be an e-mail address, got "nobody"`}},
		{"min password length", "selfservice:\n  methods:\n    password:\n      config:\n        min_password_length: 4", []string{`min_password_length: must be an integer of at least 6, got 4`}},
		{"max body bytes", "serve:\n  public:\n    max_body_bytes: 0", []string{`serve.public.max_body_bytes: must be an integer of at least 1, got 0`}},
		{"webauthn rp incomplete", "selfservice:\n  methods:\n    webauthn:\n      enabled: true\n      config:\n        rp:\n          id: example.org", []string{`selfservice.methods.webauthn.config.rp.display_name: is required`}},
		{"webauthn enabled without config", "selfservice:\n  methods:\n    webauthn:\n      enabled: true", []string{`selfservice.methods.webauthn.config.rp.id: is required when selfservice.methods.webauthn.enabled is true`}},
		{"oidc provider missing fields", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - id: x\n            provider: github",
			[]string{`providers[0].client_id: is required`, `providers[0].mapper_url: is required`}},
		{"oidc microsoft without tenant", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - {id: ms, provider: microsoft, client_id: a, client_secret: b, mapper_url: 'file:///m'}",
			[]string{`providers[0].microsoft_tenant: is required for the microsoft provider`}},
		{"oidc apple", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - {id: apple, provider: apple, client_id: a, client_secret: b, mapper_url: 'file:///m', apple_team_id: T}",
			[]string{`providers[0].client_secret: must not be set for the apple provider`, `providers[0].apple_private_key_id: is required for the apple provider`}},
		{"oidc generic without secret", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - {id: g, provider: generic, client_id: a, mapper_url: 'file:///m', issuer_url: 'https://sso.example.org'}",
			[]string{`providers[0].client_secret: is required`}},
		{"oidc duplicate ids", "selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - {id: g, provider: github, client_id: a, client_secret: s, mapper_url: 'file:///m'}\n          - {id: g, provider: gitlab, client_id: b, client_secret: s, mapper_url: 'file:///m'}",
			[]string{`providers[1].id: "g" is used by more than one provider`}},
		{"misspelt smtp scheme is quoted", "courier:\n  smtp:\n    connection_uri: smpt://u:hunter22@mail.example.org:587/", []string{`courier.smtp.connection_uri: must be a URL starting with smtp:// or smtps://, got the scheme "smpt://"`}},
		{"unknown smtp option", "courier:\n  smtp:\n    connection_uri: smtp://mail.example.org:587/?disable_startls=true", []string{`courier.smtp.connection_uri: has the unknown option "disable_startls"; the options are "disable_starttls", "skip_ssl_verify", "legacy_ssl"`}},
		{"smtp option not a boolean", "courier:\n  smtp:\n    connection_uri: smtp://mail.example.org/?skip_ssl_verify=sometimes", []string{`option "skip_ssl_verify" must be true or false, got "sometimes"`}},
		{"public and admin on one port", "serve:\n  public:\n    port: 4500\n  admin:\n    port: 4500", []string{`config: serve.admin.port: 4500 is also serve.public.port; the public and admin APIs need different ports`}},
		{"bad trusted proxy", "serve:\n  public:\n    trusted_proxies: [10.0.0.0/8, 10.0.0.300]", []string{`serve.public.trusted_proxies[1]: must be an IP address or a CIDR range such as 10.0.0.0/8, got "10.0.0.300"`}},
		{"tracing provider", "tracing:\n  provider: newrelic", []string{`tracing.provider: must be one of "jaeger", "zipkin", "datadog", "elastic-apm", "instana", "otel", got "newrelic"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadYAML(t, true, noEnv, tc.doc)
			wantErr(t, err, tc.want...)
		})
	}
}

func TestCourierRequiredWhenRecoveryOrVerificationEnabled(t *testing.T) {
	doc := "selfservice:\n  flows:\n    verification:\n      enabled: true\n"
	_, err := loadYAML(t, false, noEnv, minimal, doc)
	wantErr(t, err, "config: courier.smtp.connection_uri: is required when selfservice.flows.recovery or selfservice.flows.verification is enabled")
	if _, err := loadYAML(t, true, noEnv, doc); err != nil {
		t.Errorf("dev mode does not require SMTP: %v", err)
	}
	if _, err := loadYAML(t, false, noEnv, minimal, doc, "courier:\n  smtp:\n    connection_uri: smtp://mail:25/\n"); err != nil {
		t.Errorf("with SMTP configured: %v", err)
	}
}

func TestOpenObjectsTolerateExtraKeys(t *testing.T) {
	// Kratos' schema does not close these objects, so files may carry extra
	// keys there; they are ignored.
	c := mustLoadYAML(t, true, noEnv, `
selfservice:
  methods:
    link:
      config:
        lifespan: 2h
        legacy_option: true
    webauthn:
      config:
        rp:
          id: example.org
          display_name: Example
          issuer: ignored
identity:
  schemas:
    - id: default
      url: file:///x.json
      comment: extra
ciphers:
  algorithm: noop
  extra: 1
clients:
  http:
    disallow_private_ip_ranges: true
    something: else
`)
	if c.Selfservice.Methods.Link.Config.Lifespan.Hours() != 2 || !c.Clients.HTTP.DisallowPrivateIPRanges {
		t.Errorf("known keys next to extra ones should load: %+v", c.Selfservice.Methods.Link)
	}
}

func TestWebHookBarePathIsDeprecated(t *testing.T) {
	c := mustLoadYAML(t, true, noEnv, "selfservice:\n  flows:\n    login:\n      after:\n        hooks:\n          - hook: web_hook\n            config:\n              url: https://h.example.org/\n              method: POST\n              body: /etc/hooks/body.jsonnet\n")
	found := false
	for _, w := range c.Warnings() {
		found = found || strings.HasPrefix(w, "selfservice.flows.login.after.hooks[0].config.body:")
	}
	if !found {
		t.Errorf("a bare body path should be warned about: %q", c.Warnings())
	}
}

func TestUnsupportedKeys(t *testing.T) {
	c := mustLoadYAML(t, true, noEnv, `
log:
  level: debug
  redaction_text: "***"
selfservice:
  methods:
    totp:
      enabled: false   # the default: changes nothing, not reported
    lookup_secret:
      enabled: true
    password:
      enabled: true
serve:
  public:
    port: 4455
    socket:
      mode: 448
    tls:
      cert:
        path: /etc/hoplite/tls.crt
      key:
        path: /etc/hoplite/tls.key
  admin:
    api_keys: ["sha256:`+strings.Repeat("ab", 32)+`"]
courier:
  smtp:
    connection_uri: smtp://mail:25/
  sms:
    enabled: true
    request_config:
      url: https://sms.example.org/
      method: POST
expose-metrics-port: 9090
sqa-opt-out: true
tracing:
  provider: jaeger
  providers:
    jaeger:
      local_agent_address: 127.0.0.1:6831
`)
	want := []string{
		"courier.sms.enabled",
		"courier.sms.request_config.method",
		"courier.sms.request_config.url",
		"log.redaction_text",
		"selfservice.methods.lookup_secret.enabled",
		"sqa-opt-out",
		"tracing.provider",
		"tracing.providers.jaeger.local_agent_address",
	}
	if got := c.Unsupported(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Unsupported() = %q, want %q", got, want)
	}
}

func TestValidateHandBuiltConfig(t *testing.T) {
	c, err := Load(nil, noEnv, true)
	if err != nil {
		t.Fatal(err)
	}
	c.Serve.Public.Port = 0
	c.Selfservice.Flows.Login.After.Password.Hooks = []Hook{{Hook: HookSession}}
	c.Selfservice.Flows.Settings.After.Hooks = []Hook{{Hook: HookWebHook, Config: &WebHookConfig{Method: "POST"}}}
	c.Secrets.Cipher = []string{"short"}
	c.Hashers.Algorithm = "md5"
	wantErr(t, c.Validate(),
		"config: serve.public.port: must be an integer between 1 and 65535, got 0",
		`selfservice.flows.login.after.password.hooks[0].hook: must be one of "revoke_active_sessions", "require_verified_address", "web_hook" here, got "session"`,
		"selfservice.flows.settings.after.hooks[0].config.url: is required",
		"secrets.cipher[0]: must be exactly 32 characters long, got 5",
		`hashers.algorithm: must be one of "argon2", "bcrypt", got "md5"`)
}

func TestErrorsDoNotEchoSecretValues(t *testing.T) {
	for _, doc := range []string{
		"dsn: 31415926535",
		"secrets:\n  default: [31415926535]",
		"courier:\n  smtp:\n    connection_uri: 31415926535",
		"selfservice:\n  methods:\n    oidc:\n      config:\n        providers:\n          - {id: g, provider: github, client_id: a, client_secret: 31415926535, mapper_url: 'file:///m'}",
	} {
		_, err := loadYAML(t, true, noEnv, doc)
		if err == nil || strings.Contains(err.Error(), "31415926535") {
			t.Errorf("%q: error should not echo the value: %v", doc, err)
		}
	}
}

func TestSMTPErrorsNeverShowThePassword(t *testing.T) {
	for _, uri := range []string{"smpt://u:hunter22@mail.example.org/", "smtp://u:hunter22@mail.example.org/?disable_startls=1", "smtp://u:hunter22@mail example/"} {
		_, err := loadYAML(t, true, noEnv, "courier:\n  smtp:\n    connection_uri: '"+uri+"'")
		if err == nil || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: %v", uri, err)
		}
	}
}

func TestPortsMayRepeatOnDistinctHosts(t *testing.T) {
	mustLoadYAML(t, true, noEnv, "serve:\n  public:\n    host: 127.0.0.1\n    port: 4500\n  admin:\n    host: 127.0.0.2\n    port: 4500")
}

func TestDevDefaultsForAddressFlowsNeedNoFile(t *testing.T) {
	// With a configuration file, dev mode keeps Kratos' defaults.
	c := mustLoadYAML(t, true, noEnv, "log:\n  level: info")
	if c.Selfservice.Flows.Recovery.Enabled || c.Selfservice.Flows.Verification.Enabled {
		t.Errorf("recovery %v verification %v with a file, want both off", c.Selfservice.Flows.Recovery.Enabled, c.Selfservice.Flows.Verification.Enabled)
	}
}
