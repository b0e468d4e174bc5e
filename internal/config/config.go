package config

import (
	"encoding/json"
	"time"
)

// Config is the effective configuration. Field paths mirror the key paths of
// the configuration file in Go CamelCase: the key serve.public.port is
// Config.Serve.Public.Port. Durations are time.Duration, byte sizes are
// numbers of bytes. Build one with Load or LoadBytes; a Config built by hand
// should be checked with Validate.
type Config struct {
	Version           string   `json:"version"`
	DSN               string   `json:"dsn"`
	Dev               bool     `json:"dev"` // the --dev flag, or the dev key
	Help              bool     `json:"help"`
	SQAOptOut         bool     `json:"sqa-opt-out"`
	WatchCourier      bool     `json:"watch-courier"`
	ExposeMetricsPort int      `json:"expose-metrics-port"`
	ConfigFiles       []string `json:"config"`

	Serve       Serve       `json:"serve"`
	Selfservice Selfservice `json:"selfservice"`
	Courier     Courier     `json:"courier"`
	Identity    Identity    `json:"identity"`
	Secrets     Secrets     `json:"secrets"`
	Hashers     Hashers     `json:"hashers"`
	Ciphers     Ciphers     `json:"ciphers"`
	Cookies     Cookies     `json:"cookies"`
	Session     Session     `json:"session"`
	Log         Log         `json:"log"`
	Tracing     Tracing     `json:"tracing"`
	Clients     Clients     `json:"clients"`
	Security    Security    `json:"security"` // Hoplite addition
	UI          UI          `json:"ui"`

	unsupported []string
	warnings    []string
	hostname    func() (string, error)
}

// ---- serve ------------------------------------------------------------------

type Serve struct {
	Public PublicServe `json:"public"`
	Admin  AdminServe  `json:"admin"`
}

type PublicServe struct {
	// BaseURL as configured; use Config.PublicBaseURL for the effective URL.
	BaseURL      string     `json:"base_url"`
	Host         string     `json:"host"`
	Port         int        `json:"port"`
	CORS         CORS       `json:"cors"`
	Socket       Socket     `json:"socket"`
	TLS          TLS        `json:"tls"`
	RequestLog   RequestLog `json:"request_log"`
	MaxBodyBytes int64      `json:"max_body_bytes"` // Hoplite addition
	// TrustedProxies lists the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For is believed when naming a request's client (a
	// Hoplite addition; see httpx.ClientIP).
	TrustedProxies []string `json:"trusted_proxies"`
}

type AdminServe struct {
	// BaseURL as configured; use Config.AdminBaseURL for the effective URL.
	BaseURL      string     `json:"base_url"`
	Host         string     `json:"host"`
	Port         int        `json:"port"`
	Socket       Socket     `json:"socket"`
	TLS          TLS        `json:"tls"`
	RequestLog   RequestLog `json:"request_log"`
	MaxBodyBytes int64      `json:"max_body_bytes"` // Hoplite addition

	// APIKeyHashes holds the SHA-256 of every key listed in
	// serve.admin.api_keys (a Hoplite addition). Plaintext keys are never
	// kept. Check a presented key with Config.AdminAPIKeyValid.
	APIKeyHashes [][32]byte `json:"-"`
}

type CORS struct {
	Enabled            bool     `json:"enabled"`
	AllowedOrigins     []string `json:"allowed_origins"`
	AllowedMethods     []string `json:"allowed_methods"`
	AllowedHeaders     []string `json:"allowed_headers"`
	ExposedHeaders     []string `json:"exposed_headers"`
	AllowCredentials   bool     `json:"allow_credentials"`
	OptionsPassthrough bool     `json:"options_passthrough"`
	MaxAge             int      `json:"max_age"`
	Debug              bool     `json:"debug"`
}

type Socket struct {
	Owner string `json:"owner"`
	Group string `json:"group"`
	Mode  int    `json:"mode"`
}

type TLS struct {
	Key  TLSSource `json:"key"`
	Cert TLSSource `json:"cert"`
}

type TLSSource struct {
	Path   string `json:"path"`
	Base64 string `json:"base64"`
}

// Enabled tells whether a certificate or key is configured at all.
func (t TLS) Enabled() bool {
	return t.Cert.Path != "" || t.Cert.Base64 != "" || t.Key.Path != "" || t.Key.Base64 != ""
}

type RequestLog struct {
	DisableForHealth bool `json:"disable_for_health"`
}

// ---- selfservice ------------------------------------------------------------

type Selfservice struct {
	DefaultBrowserReturnURL string   `json:"default_browser_return_url"`
	AllowedReturnURLs       []string `json:"allowed_return_urls"`
	Flows                   Flows    `json:"flows"`
	Methods                 Methods  `json:"methods"`
}

type Flows struct {
	Login        LoginFlow        `json:"login"`
	Registration RegistrationFlow `json:"registration"`
	Settings     SettingsFlow     `json:"settings"`
	Recovery     RecoveryFlow     `json:"recovery"`
	Verification VerificationFlow `json:"verification"`
	Logout       LogoutFlow       `json:"logout"`
	Error        ErrorFlow        `json:"error"`
}

// Hook is one entry of a hook list. Config is set for web_hook only.
type Hook struct {
	Hook   string         `json:"hook"`
	Config *WebHookConfig `json:"config,omitempty"`
}

type WebHookConfig struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	// Body is a Jsonnet template URI (file://, http(s)://, base64://) or,
	// deprecated, a bare file path.
	Body     string          `json:"body"`
	Auth     *WebHookAuth    `json:"auth,omitempty"`
	Response WebHookResponse `json:"response"`
	// ForwardRequestHeaders adds request headers to those a template sees
	// (Hoplite addition).
	ForwardRequestHeaders []string `json:"forward_request_headers,omitempty"`
}

// WebHookAuth is {type: api_key, config: {name, value, in}} or
// {type: basic_auth, config: {user, password}}.
type WebHookAuth struct {
	Type   string            `json:"type"`
	Config WebHookAuthConfig `json:"config"`
}

type WebHookAuthConfig struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	In       string `json:"in"` // header | cookie
	User     string `json:"user"`
	Password string `json:"password"`
}

type WebHookResponse struct {
	Ignore bool `json:"ignore"`
}

// Hooks is a "before" block.
type Hooks struct {
	Hooks []Hook `json:"hooks"`
}

// AfterMethod is the per-method part of an "after" block (and the whole
// "after" block of recovery and verification).
type AfterMethod struct {
	DefaultBrowserReturnURL string `json:"default_browser_return_url"`
	Hooks                   []Hook `json:"hooks"`
}

type LoginFlow struct {
	UIURL    string        `json:"ui_url"`
	Lifespan time.Duration `json:"lifespan"`
	Before   Hooks         `json:"before"`
	After    LoginAfter    `json:"after"`
}

type LoginAfter struct {
	DefaultBrowserReturnURL string      `json:"default_browser_return_url"`
	Hooks                   []Hook      `json:"hooks"`
	Password                AfterMethod `json:"password"`
	WebAuthn                AfterMethod `json:"webauthn"`
	OIDC                    AfterMethod `json:"oidc"`
}

type RegistrationFlow struct {
	Enabled  bool              `json:"enabled"`
	UIURL    string            `json:"ui_url"`
	Lifespan time.Duration     `json:"lifespan"`
	Before   Hooks             `json:"before"`
	After    RegistrationAfter `json:"after"`
}

type RegistrationAfter struct {
	DefaultBrowserReturnURL string      `json:"default_browser_return_url"`
	Hooks                   []Hook      `json:"hooks"`
	Password                AfterMethod `json:"password"`
	OIDC                    AfterMethod `json:"oidc"`
	WebAuthn                AfterMethod `json:"webauthn"`
}

type SettingsFlow struct {
	UIURL                   string        `json:"ui_url"`
	Lifespan                time.Duration `json:"lifespan"`
	PrivilegedSessionMaxAge time.Duration `json:"privileged_session_max_age"`
	RequiredAAL             string        `json:"required_aal"`
	After                   SettingsAfter `json:"after"`
}

type SettingsAfter struct {
	DefaultBrowserReturnURL string      `json:"default_browser_return_url"`
	Hooks                   []Hook      `json:"hooks"`
	Password                AfterMethod `json:"password"`
	Profile                 AfterMethod `json:"profile"`
}

type RecoveryFlow struct {
	Enabled  bool          `json:"enabled"`
	UIURL    string        `json:"ui_url"`
	Lifespan time.Duration `json:"lifespan"`
	After    AfterMethod   `json:"after"`
}

type VerificationFlow struct {
	Enabled  bool          `json:"enabled"`
	UIURL    string        `json:"ui_url"`
	Lifespan time.Duration `json:"lifespan"`
	After    AfterMethod   `json:"after"`
}

type LogoutFlow struct {
	After LogoutAfter `json:"after"`
}

type LogoutAfter struct {
	DefaultBrowserReturnURL string `json:"default_browser_return_url"`
}

type ErrorFlow struct {
	UIURL string `json:"ui_url"`
}

type Methods struct {
	Password     PasswordMethod     `json:"password"`
	Profile      ProfileMethod      `json:"profile"`
	Link         LinkMethod         `json:"link"`
	TOTP         TOTPMethod         `json:"totp"`
	LookupSecret LookupSecretMethod `json:"lookup_secret"`
	WebAuthn     WebAuthnMethod     `json:"webauthn"`
	OIDC         OIDCMethod         `json:"oidc"`
}

type PasswordMethod struct {
	Enabled bool           `json:"enabled"`
	Config  PasswordConfig `json:"config"`
}

type PasswordConfig struct {
	HaveIBeenPwnedHost               string `json:"haveibeenpwned_host"`
	HaveIBeenPwnedEnabled            bool   `json:"haveibeenpwned_enabled"`
	MaxBreaches                      int    `json:"max_breaches"`
	IgnoreNetworkErrors              bool   `json:"ignore_network_errors"`
	MinPasswordLength                int    `json:"min_password_length"`
	IdentifierSimilarityCheckEnabled bool   `json:"identifier_similarity_check_enabled"`
}

type ProfileMethod struct {
	Enabled bool `json:"enabled"`
}

type LinkMethod struct {
	Enabled bool       `json:"enabled"`
	Config  LinkConfig `json:"config"`
}

type LinkConfig struct {
	// BaseURL overrides the base of recovery and verification links; empty
	// means the public base URL.
	BaseURL  string        `json:"base_url"`
	Lifespan time.Duration `json:"lifespan"`
}

type TOTPMethod struct {
	Enabled bool       `json:"enabled"`
	Config  TOTPConfig `json:"config"`
}

type TOTPConfig struct {
	Issuer string `json:"issuer"` // empty: the host of the public base URL
}

type LookupSecretMethod struct {
	Enabled bool `json:"enabled"`
}

type WebAuthnMethod struct {
	Enabled bool           `json:"enabled"`
	Config  WebAuthnConfig `json:"config"`
}

type WebAuthnConfig struct {
	Passwordless bool `json:"passwordless"`
	// Passkeys (Hoplite only, not in Kratos v0.9) makes new keys
	// discoverable credentials that sign in without an identifier.
	Passkeys bool       `json:"passkeys"`
	RP       WebAuthnRP `json:"rp"`
}

type WebAuthnRP struct {
	DisplayName string `json:"display_name"`
	ID          string `json:"id"`
	Origin      string `json:"origin"`
	Icon        string `json:"icon"`
}

type OIDCMethod struct {
	Enabled bool       `json:"enabled"`
	Config  OIDCConfig `json:"config"`
}

type OIDCConfig struct {
	BaseRedirectURI string         `json:"base_redirect_uri"` // empty: the public base URL
	Providers       []OIDCProvider `json:"providers"`
}

type OIDCProvider struct {
	ID                string          `json:"id"`
	Provider          string          `json:"provider"`
	Label             string          `json:"label"`
	ClientID          string          `json:"client_id"`
	ClientSecret      string          `json:"client_secret"`
	IssuerURL         string          `json:"issuer_url"`
	AuthURL           string          `json:"auth_url"`
	TokenURL          string          `json:"token_url"`
	Scope             []string        `json:"scope"`
	MapperURL         string          `json:"mapper_url"`
	MicrosoftTenant   string          `json:"microsoft_tenant"`
	AppleTeamID       string          `json:"apple_team_id"`
	ApplePrivateKeyID string          `json:"apple_private_key_id"`
	ApplePrivateKey   string          `json:"apple_private_key"`
	RequestedClaims   json.RawMessage `json:"requested_claims,omitempty"`
}

// ---- courier ----------------------------------------------------------------

type Courier struct {
	SMTP SMTP `json:"smtp"`
	// TemplateOverridePath is a directory whose templates replace the
	// built-in ones file by file; empty means built-in templates only.
	TemplateOverridePath string           `json:"template_override_path"`
	Templates            CourierTemplates `json:"templates"`
	MessageTTL           time.Duration    `json:"message_ttl"`
	SMS                  SMS              `json:"sms"`
	Worker               CourierWorker    `json:"worker"` // Hoplite addition
}

// CourierWorker is a Hoplite addition.
type CourierWorker struct {
	// Enabled lets `hoplite serve` deliver queued mail itself whenever it
	// has a sender (SMTP, or the log in dev mode). Set it to false when a
	// separate `hoplite courier watch` process delivers the mail.
	Enabled bool `json:"enabled"`
}

type SMTP struct {
	ConnectionURI string            `json:"connection_uri"`
	FromAddress   string            `json:"from_address"`
	FromName      string            `json:"from_name"`
	Headers       map[string]string `json:"headers"`
}

type CourierTemplates struct {
	Recovery     TemplateSet `json:"recovery"`
	Verification TemplateSet `json:"verification"`
}

type TemplateSet struct {
	Valid   EmailTemplateSet `json:"valid"`
	Invalid EmailTemplateSet `json:"invalid"`
}

type EmailTemplateSet struct {
	Email EmailTemplate `json:"email"`
}

// EmailTemplate holds template URIs (file://, http(s)://, base64://); empty
// fields fall back to the override path or the built-in templates.
type EmailTemplate struct {
	Subject string            `json:"subject"`
	Body    EmailTemplateBody `json:"body"`
}

type EmailTemplateBody struct {
	HTML      string `json:"html"`
	Plaintext string `json:"plaintext"`
}

type SMS struct {
	Enabled       bool              `json:"enabled"`
	From          string            `json:"from"`
	RequestConfig *SMSRequestConfig `json:"request_config,omitempty"`
}

type SMSRequestConfig struct {
	URL    string            `json:"url"`
	Method string            `json:"method"`
	Header map[string]string `json:"header"`
	Body   string            `json:"body"`
	Auth   *WebHookAuth      `json:"auth,omitempty"`
}

// ---- identity, secrets, hashers, ciphers, cookies, session ------------------

type Identity struct {
	DefaultSchemaID string           `json:"default_schema_id"`
	Schemas         []IdentitySchema `json:"schemas"`
}

// IdentitySchema names one identity schema. URL schemes: file://,
// http(s)://, base64://, and hoplite://default for the built-in schema used
// in dev mode.
type IdentitySchema struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

type Secrets struct {
	// Default secrets: the first signs and encrypts, all verify. Session
	// tokens fall back to the cookie, then the cipher secrets when none is
	// configured (see Config.SessionSecrets).
	Default []string `json:"default"`
	// Cookie secrets; empty means Default (see Config.CookieSecrets).
	Cookie []string `json:"cookie"`
	// Cipher secrets, exactly 32 characters each; required when
	// ciphers.algorithm is aes or xchacha20-poly1305.
	Cipher []string `json:"cipher"`
}

type Hashers struct {
	Algorithm string `json:"algorithm"` // bcrypt | argon2
	Argon2    Argon2 `json:"argon2"`
	Bcrypt    Bcrypt `json:"bcrypt"`
}

type Argon2 struct {
	Memory            uint64        `json:"memory"` // bytes
	Iterations        uint32        `json:"iterations"`
	Parallelism       uint8         `json:"parallelism"` // default 2×NumCPU (at most 255)
	SaltLength        uint32        `json:"salt_length"`
	KeyLength         uint32        `json:"key_length"`
	ExpectedDuration  time.Duration `json:"expected_duration"`
	ExpectedDeviation time.Duration `json:"expected_deviation"`
	DedicatedMemory   uint64        `json:"dedicated_memory"` // bytes
}

type Bcrypt struct {
	// Cost; values below 12 are raised to 12 unless in dev mode.
	Cost int `json:"cost"`
}

type Ciphers struct {
	Algorithm string `json:"algorithm"` // noop | aes | xchacha20-poly1305
}

type Cookies struct {
	Domain   string `json:"domain"`
	Path     string `json:"path"`
	SameSite string `json:"same_site"` // Strict | Lax | None
}

type Session struct {
	Lifespan time.Duration `json:"lifespan"`
	// IdleTimeout ends a session that was not used for this long, within
	// its lifespan; 0 (the default) never does (Hoplite addition).
	IdleTimeout time.Duration `json:"idle_timeout"`
	Cookie      SessionCookie `json:"cookie"`
	Whoami      Whoami        `json:"whoami"`
	Cache       SessionCache  `json:"cache"` // Hoplite addition
}

// SessionCookie holds session.cookie.* as configured; Domain, Path and
// SameSite fall back to cookies.* (see Config.SessionCookieDomain and
// friends).
type SessionCookie struct {
	Name       string `json:"name"`
	Persistent bool   `json:"persistent"`
	Domain     string `json:"domain"`
	Path       string `json:"path"`
	SameSite   string `json:"same_site"`
}

type Whoami struct {
	RequiredAAL string `json:"required_aal"` // aal1 | highest_available
}

// SessionCache is a Hoplite addition: the in-process cache of checked
// sessions, kept exact by the invalidation log (see docs/operations.md).
type SessionCache struct {
	// Enabled turns the cache on (the default).
	Enabled bool `json:"enabled"`
	// MaxEntries and MaxBytes bound the cache; the bytes are an estimate
	// of the memory each entry holds.
	MaxEntries int    `json:"max_entries"`
	MaxBytes   uint64 `json:"max_bytes"`
	// PollInterval is how often SQLite and MySQL read the invalidation
	// log (PostgreSQL is notified instead).
	PollInterval time.Duration `json:"poll_interval"`
	// MaxAge, when above 0, also caps how long one entry is served.
	MaxAge time.Duration `json:"max_age"`
}

// ---- log, tracing, clients --------------------------------------------------

type Log struct {
	Level               string `json:"level"`
	Format              string `json:"format"` // json | text; empty: the logger's default
	LeakSensitiveValues bool   `json:"leak_sensitive_values"`
	RedactionText       string `json:"redaction_text"`
}

type Tracing struct {
	Provider    string           `json:"provider"`
	ServiceName string           `json:"service_name"`
	Providers   TracingProviders `json:"providers"`
}

type TracingProviders struct {
	Jaeger Jaeger `json:"jaeger"`
	Zipkin Zipkin `json:"zipkin"`
	OTLP   OTLP   `json:"otlp"` // Hoplite addition, used by provider "otel"
}

// OTLP is tracing.providers.otlp: where provider "otel" sends spans
// (OTLP over HTTP).
type OTLP struct {
	// ServerURL is host:port or a URL of the collector; empty uses the
	// OTEL_EXPORTER_OTLP_* environment variables, else localhost:4318.
	ServerURL string       `json:"server_url"`
	Insecure  bool         `json:"insecure"` // plain HTTP instead of HTTPS
	Sampling  OTLPSampling `json:"sampling"`
}

type OTLPSampling struct {
	SamplingRatio float64 `json:"sampling_ratio"` // 0..1 of root spans kept; default 1
}

type Jaeger struct {
	LocalAgentAddress string         `json:"local_agent_address"`
	Propagation       string         `json:"propagation"`
	MaxTagValueLength int            `json:"max_tag_value_length"`
	Sampling          JaegerSampling `json:"sampling"`
}

type JaegerSampling struct {
	Type      string  `json:"type"`
	Value     float64 `json:"value"`
	ServerURL string  `json:"server_url"`
}

type Zipkin struct {
	ServerURL string `json:"server_url"`
}

type Clients struct {
	HTTP HTTPClient `json:"http"`
}

type HTTPClient struct {
	DisallowPrivateIPRanges bool `json:"disallow_private_ip_ranges"`
}

// ---- security (a Hoplite addition) -------------------------------------------

// Security holds the protections Kratos v0.9 lacks.
type Security struct {
	BruteForce BruteForce `json:"brute_force"`
	// MaxWaitingHashes bounds the requests waiting for a password hash slot;
	// beyond it requests get 503 with Retry-After.
	MaxWaitingHashes int           `json:"max_waiting_hashes"`
	Audit            SecurityAudit `json:"audit"`
	// CredentialChanges is what happens after a password change or a
	// completed recovery (all off by default, as in Kratos).
	CredentialChanges CredentialChanges `json:"credential_changes"`
}

// CredentialChanges are the optional consequences of a changed sign-in
// secret (a new password in settings) or a completed recovery.
type CredentialChanges struct {
	// RevokeOtherSessions ends the identity's other sessions, keeping the
	// one that made the change (or the recovery's new session).
	RevokeOtherSessions bool `json:"revoke_other_sessions"`
	// Notify mails the identity's verified email addresses (all of them
	// when none is verified) about the change.
	Notify bool `json:"notify"`
	// InvalidateRecoveryLinks makes every unused recovery link of the
	// identity stop working.
	InvalidateRecoveryLinks bool `json:"invalidate_recovery_links"`
}

// BruteForce are the failure counters of sign-in and the mail cooldown.
type BruteForce struct {
	Enabled               bool          `json:"enabled"`
	MaxFailuresPerAccount int           `json:"max_failures_per_account"`
	MaxFailuresPerIP      int           `json:"max_failures_per_ip"`
	Window                time.Duration `json:"window"`
	FreeFailures          int           `json:"free_failures"`
	BaseDelay             time.Duration `json:"base_delay"`
	MaxDelay              time.Duration `json:"max_delay"`
	Lockout               time.Duration `json:"lockout"`
	MailCooldown          time.Duration `json:"mail_cooldown"`
}

// SecurityAudit configures the security event log.
type SecurityAudit struct {
	// Retention is how long events are kept; 0 keeps them forever.
	Retention time.Duration `json:"retention"`
}

// ---- ui (Hoplite addition) ---------------------------------------------------

// UI is the built-in self-service UI.
type UI struct {
	// Enabled serves the pages. Unset means on in dev mode and off
	// otherwise (see finish); when on, every flow ui_url left at Kratos'
	// default points at the built-in pages.
	Enabled *bool `json:"enabled"`
	// BasePath is where the pages live on the public port.
	BasePath string `json:"base_path"`
	// Stylesheet is a CSS file served instead of the built-in one.
	Stylesheet string `json:"stylesheet"`
}

// UIEnabled reports whether the built-in pages are served.
func (c *Config) UIEnabled() bool { return c.UI.Enabled != nil && *c.UI.Enabled }
