package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvNames(t *testing.T) {
	names := map[string]string{}
	for _, k := range envKeys() {
		name := EnvName(k.path)
		if other, dup := names[name]; dup {
			t.Errorf("%s and %s share the variable %s", other, k.path, name)
		}
		names[name] = k.path
	}
	for name, path := range map[string]string{
		"SERVE_PUBLIC_PORT":                         "serve.public.port",
		"DSN":                                       "dsn",
		"SECRETS_DEFAULT":                           "secrets.default",
		"SELFSERVICE_DEFAULT_BROWSER_RETURN_URL":    "selfservice.default_browser_return_url",
		"SELFSERVICE_FLOWS_LOGIN_LIFESPAN":          "selfservice.flows.login.lifespan",
		"COURIER_SMTP_CONNECTION_URI":               "courier.smtp.connection_uri",
		"SQA_OPT_OUT":                               "sqa-opt-out",
		"IDENTITY_SCHEMAS":                          "identity.schemas",
		"SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS": "selfservice.methods.oidc.config.providers",
		"SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS":        "selfservice.flows.registration.after.password.hooks",
		"SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED": "selfservice.methods.password.config.haveibeenpwned_enabled",
		"SERVE_ADMIN_API_KEYS":                           "serve.admin.api_keys",
		"COURIER_SMTP_HEADERS":                           "courier.smtp.headers",
		"SERVE_PUBLIC":                                   "serve.public",
		"TRACING_PROVIDERS_OTLP_SERVER_URL":              "tracing.providers.otlp.server_url",
		"TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO": "tracing.providers.otlp.sampling.sampling_ratio",
		"SERVE_ADMIN_TLS_CERT_BASE64":                    "serve.admin.tls.cert.base64",
	} {
		if names[name] != path {
			t.Errorf("%s should set %s, sets %q", name, path, names[name])
		}
	}
	for _, name := range []string{"SERVE", "LOG", "SESSION", "SELFSERVICE"} {
		if _, ok := names[name]; ok {
			t.Errorf("top-level object variable %s should not be looked up", name)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	docs := []string{minimal, `
serve:
  public:
    port: 4000
    host: 10.0.0.1
courier:
  smtp:
    connection_uri: smtp://file:25/
    from_name: From File
`}
	vars := map[string]string{
		"SERVE_PUBLIC_PORT":                      "4500",
		"DSN":                                    "postgres://env@db/hoplite",
		"LOG_LEVEL":                              "debug",
		"SECRETS_DEFAULT":                        "first-secret-from-env-1, second-secret-from-env-2",
		"SECRETS_COOKIE":                         `["cookie-secret-from-json-1"]`,
		"SELFSERVICE_DEFAULT_BROWSER_RETURN_URL": "https://env.example.org/",
		"SELFSERVICE_ALLOWED_RETURN_URLS":        "https://a.example.org/,https://b.example.org/",
		"SELFSERVICE_FLOWS_LOGIN_LIFESPAN":       "10m",
		"SELFSERVICE_FLOWS_RECOVERY_ENABLED":     "true",
		"SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED": "false",
		"SELFSERVICE_METHODS_PASSWORD_CONFIG_MIN_PASSWORD_LENGTH":    "12",
		"COURIER_SMTP_CONNECTION_URI":                                "smtps://user:pass@mail.example.org:465/",
		"COURIER_SMTP_HEADERS":                                       `{"X-SES-CONFIGURATION-SET":"hoplite"}`,
		"HASHERS_ARGON2_MEMORY":                                      "64MB",
		"IDENTITY_SCHEMAS":                                           `[{"id":"default","url":"file:///x.json"},{"id":"admin","url":"https://schemas.example.org/admin.json"}]`,
		"SELFSERVICE_METHODS_OIDC_CONFIG_PROVIDERS":                  `[{"id":"google","provider":"google","client_id":"cid","client_secret":"cs","mapper_url":"file:///m.jsonnet"}]`,
		"SELFSERVICE_FLOWS_REGISTRATION_AFTER_PASSWORD_HOOKS":        `[{"hook":"session"}]`,
		"SESSION_CACHE_MAX_AGE":                                      "30s",
		"SERVE_ADMIN":                                                `{"port": 4600, "max_body_bytes": 2048}`,
		"SERVE_ADMIN_MAX_BODY_BYTES":                                 "4096",
		// Unrelated or misspelt variables are ignored.
		"SERVE_PUBLIC_PORTT":               "nonsense",
		"HOME":                             "/root",
		"SELFSERVICE_FLOWS_LOGIN_LIFESPAM": "nonsense",
	}
	c := mustLoadYAML(t, false, env(vars), docs...)
	checks := []struct {
		name      string
		got, want any
	}{
		{"env wins over file", c.Serve.Public.Port, 4500},
		{"file value kept", c.Serve.Public.Host, "10.0.0.1"},
		{"DSN", c.DSN, "postgres://env@db/hoplite"},
		{"LOG_LEVEL", c.Log.Level, "debug"},
		{"comma list", c.Secrets.Default, []string{"first-secret-from-env-1", "second-secret-from-env-2"}},
		{"JSON list", c.Secrets.Cookie, []string{"cookie-secret-from-json-1"}},
		{"return url", c.Selfservice.DefaultBrowserReturnURL, "https://env.example.org/"},
		{"allowed return urls", c.Selfservice.AllowedReturnURLs, []string{"https://a.example.org/", "https://b.example.org/"}},
		{"duration", c.Selfservice.Flows.Login.Lifespan, 10 * time.Minute},
		{"bool true", c.Selfservice.Flows.Recovery.Enabled, true},
		{"bool false", c.Selfservice.Methods.Password.Config.HaveIBeenPwnedEnabled, false},
		{"int", c.Selfservice.Methods.Password.Config.MinPasswordLength, 12},
		{"smtp uri", c.Courier.SMTP.ConnectionURI, "smtps://user:pass@mail.example.org:465/"},
		{"smtp sibling from file", c.Courier.SMTP.FromName, "From File"},
		{"map", c.Courier.SMTP.Headers, map[string]string{"X-SES-CONFIGURATION-SET": "hoplite"}},
		{"byte size", c.Hashers.Argon2.Memory, uint64(64 << 20)},
		{"objects", c.Identity.Schemas, []IdentitySchema{{"default", "file:///x.json"}, {"admin", "https://schemas.example.org/admin.json"}}},
		{"providers", c.Selfservice.Methods.OIDC.Config.Providers[0].ClientSecret, "cs"},
		{"hooks", c.Selfservice.Flows.Registration.After.Password.Hooks, []Hook{{Hook: HookSession}}},
		{"hoplite addition", c.Session.Cache.MaxAge, 30 * time.Second},
		{"object from env", c.Serve.Admin.Port, 4600},
		{"key inside object env wins", c.Serve.Admin.MaxBodyBytes, int64(4096)},
	}
	for _, ch := range checks {
		if !equal(ch.got, ch.want) {
			t.Errorf("%s: got %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	// Keys set through the environment count as set.
	if !slices.Contains(c.Unsupported(), "selfservice.methods.oidc.config.providers") {
		t.Errorf("env-set unsupported keys should be reported: %q", c.Unsupported())
	}
}

func TestEnvLooksUpKnownKeysOnly(t *testing.T) {
	known := map[string]bool{}
	for _, k := range envKeys() {
		known[EnvName(k.path)] = true
	}
	var asked []string
	_, err := LoadBytes(nil, func(name string) (string, bool) {
		asked = append(asked, name)
		return "", false
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range asked {
		if !known[name] {
			t.Errorf("looked up %s, which names no key", name)
		}
	}
	if len(asked) != len(known) {
		t.Errorf("looked up %d variables, want %d", len(asked), len(known))
	}
}

func TestEnvBadValues(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        []string
	}{
		{"SERVE_PUBLIC_PORT", "abc", []string{`config: serve.public.port: must be an integer between 1 and 65535, got "abc" (from env SERVE_PUBLIC_PORT)`}},
		{"SERVE_PUBLIC_PORT", "70000", []string{`serve.public.port: must be an integer between 1 and 65535, got 70000 (from env SERVE_PUBLIC_PORT)`}},
		{"SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED", "maybe", []string{
			`selfservice.methods.password.config.haveibeenpwned_enabled: must be true or false, got "maybe"`, "env SELFSERVICE_METHODS_PASSWORD_CONFIG_HAVEIBEENPWNED_ENABLED"}},
		{"SELFSERVICE_FLOWS_LOGIN_LIFESPAN", "forever", []string{`selfservice.flows.login.lifespan: must be a duration`, `got "forever"`, "env SELFSERVICE_FLOWS_LOGIN_LIFESPAN"}},
		{"IDENTITY_SCHEMAS", "default=file:///x.json", []string{"identity.schemas: must be a list (use a JSON array)", "env IDENTITY_SCHEMAS"}},
		{"IDENTITY_SCHEMAS", `[{"id":"default"`, []string{"identity.schemas: must be a list", "env IDENTITY_SCHEMAS"}},
		{"IDENTITY_SCHEMAS", `[{"id":"default"}]`, []string{"identity.schemas[0].url: is required", "env IDENTITY_SCHEMAS"}},
		{"COURIER_SMTP_HEADERS", "X-A: b", []string{"courier.smtp.headers: must be an object (use a JSON object)", "env COURIER_SMTP_HEADERS"}},
		{"LOG_LEVEL", "loud", []string{`log.level: must be one of "trace", "debug", "info", "warning", "error", "fatal", "panic", got "loud"`}},
		{"SECRETS_DEFAULT", "short", []string{"secrets.default[0]: must be at least 16 characters long, got 5", "env SECRETS_DEFAULT"}},
		{"SELFSERVICE_FLOWS_LOGIN_BEFORE_HOOKS", `[{"hook":"session"}]`, []string{`selfservice.flows.login.before.hooks[0].hook: must be one of "web_hook" here, got "session"`}},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := loadYAML(t, true, env(map[string]string{tc.name: tc.value}))
			wantErr(t, err, tc.want...)
		})
	}
}

func TestEnvErrorsDoNotEchoSecrets(t *testing.T) {
	_, err := loadYAML(t, true, env(map[string]string{"SECRETS_DEFAULT": `["not closed`}))
	if err == nil || strings.Contains(err.Error(), "not closed") {
		t.Errorf("error should not echo the secret: %v", err)
	}
	_, err = loadYAML(t, true, env(map[string]string{"COURIER_SMTP_CONNECTION_URI": "http://user:hunter2@mail/"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error should not echo the connection URI: %v", err)
	}
}
