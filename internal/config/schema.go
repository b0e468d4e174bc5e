package config

import "regexp"

// This file describes every configuration key Hoplite accepts: the keys of a
// Kratos v0.9 configuration file plus the Hoplite additions documented in
// doc.go. The tree is plain Go data, used for four things:
//
//   - structural validation of what was read from files and the environment
//     (unknown keys, types, enums, ranges, required keys of present objects);
//   - the defaults layer (the first layer of the effective configuration);
//   - environment overrides (the variable name of every key is derived from
//     its path, so no variable name is ever parsed back into a path);
//   - the list of keys that are set but not yet implemented (see
//     unsupported.go).
//
// The Go struct tree in config.go mirrors it; a test keeps the two in step.

type kind uint8

const (
	kindObject     kind = iota // fixed set of keys
	kindMap                    // any string keys, values described by elem
	kindArray                  // list, items described by elem
	kindTagged                 // object whose shape depends on a discriminator key
	kindFreeObject             // any JSON object, kept verbatim
	kindString
	kindBool
	kindInt
	kindNumber
	kindDuration // Go duration string ("1h", "30m", "15s"); normalised to nanoseconds
	kindByteSize // "128MB" or a number of bytes; normalised to bytes
)

// format names a string format check.
type format uint8

const (
	formatNone   format = iota
	formatURI           // absolute URL (scheme required)
	formatURIRef        // any URL reference, absolute or relative
	formatEmail         // bare e-mail address
)

type node struct {
	kind kind

	// kindObject
	fields   []*field
	open     bool     // unknown keys are tolerated (and dropped), as Kratos' schema allows there
	required []string // keys that must be present whenever this object is

	// kindArray, kindMap
	elem     *node
	minItems int
	unique   bool

	// kindTagged
	tag      string
	variants []variant

	// scalars
	enum       []string
	min, max   *float64
	minLen     int
	maxLen     int
	format     format
	pattern    *regexp.Regexp
	patternMsg string
	sensitive  bool // never echo the value in error messages

	def     any  // default, written as a user would write it ("1h", "128MB", 4433)
	hoplite bool // a Hoplite addition, not a Kratos key
}

type field struct {
	name string
	node *node
}

type variant struct {
	value string
	node  *node
}

func (n *node) child(name string) *node {
	for _, f := range n.fields {
		if f.name == name {
			return f.node
		}
	}
	return nil
}

// ---- builders ---------------------------------------------------------------

func object(fields ...*field) *node   { return &node{kind: kindObject, fields: fields} }
func key(name string, n *node) *field { return &field{name: name, node: n} }
func str() *node                      { return &node{kind: kindString} }
func boolean() *node                  { return &node{kind: kindBool} }
func integer() *node                  { return &node{kind: kindInt} }
func number() *node                   { return &node{kind: kindNumber} }
func duration(def string) *node       { return &node{kind: kindDuration, def: def} }
func byteSize(def string) *node       { return &node{kind: kindByteSize, def: def} }
func arrayOf(elem *node) *node        { return &node{kind: kindArray, elem: elem} }
func mapOf(elem *node) *node          { return &node{kind: kindMap, elem: elem} }
func freeObject() *node               { return &node{kind: kindFreeObject} }
func tagged(tag string, vs ...variant) *node {
	return &node{kind: kindTagged, tag: tag, variants: vs}
}
func enumOf(values ...string) *node { return &node{kind: kindString, enum: values} }
func uri() *node                    { return &node{kind: kindString, format: formatURI} }
func uriRef() *node                 { return &node{kind: kindString, format: formatURIRef} }

func (n *node) withDefault(v any) *node       { n.def = v; return n }
func (n *node) requires(keys ...string) *node { n.required = keys; return n }
func (n *node) openKeys() *node               { n.open = true; return n }
func (n *node) secret() *node                 { n.sensitive = true; return n }
func (n *node) addition() *node               { n.hoplite = true; return n }
func (n *node) uniqueItems() *node            { n.unique = true; return n }
func (n *node) atLeastItems(k int) *node      { n.minItems = k; return n }
func (n *node) lengths(minLen, maxLen int) *node {
	n.minLen, n.maxLen = minLen, maxLen
	return n
}
func (n *node) between(lo, hi float64) *node { n.min, n.max = &lo, &hi; return n }
func (n *node) atLeast(lo float64) *node     { n.min = &lo; return n }
func (n *node) matching(re, msg string) *node {
	n.pattern, n.patternMsg = regexp.MustCompile(re), msg
	return n
}

// ---- hooks ------------------------------------------------------------------

// Hook names.
const (
	HookSession                = "session"
	HookRevokeActiveSessions   = "revoke_active_sessions"
	HookRequireVerifiedAddress = "require_verified_address"
	HookWebHook                = "web_hook"
)

// hookPositions lists, for every key that holds a hook list, the hook names
// Kratos v0.9 allows there. It is the single source for the schema below and
// for Validate.
var hookPositions = map[string][]string{
	"selfservice.flows.login.before.hooks":                {HookWebHook},
	"selfservice.flows.login.after.hooks":                 {HookWebHook},
	"selfservice.flows.login.after.password.hooks":        {HookRevokeActiveSessions, HookRequireVerifiedAddress, HookWebHook},
	"selfservice.flows.login.after.webauthn.hooks":        {HookRevokeActiveSessions, HookRequireVerifiedAddress, HookWebHook},
	"selfservice.flows.login.after.oidc.hooks":            {HookRevokeActiveSessions, HookWebHook},
	"selfservice.flows.registration.before.hooks":         {HookWebHook},
	"selfservice.flows.registration.after.hooks":          {HookWebHook},
	"selfservice.flows.registration.after.password.hooks": {HookSession, HookWebHook},
	"selfservice.flows.registration.after.oidc.hooks":     {HookSession, HookWebHook},
	"selfservice.flows.registration.after.webauthn.hooks": {HookSession, HookWebHook},
	"selfservice.flows.settings.after.hooks":              {HookWebHook},
	"selfservice.flows.settings.after.password.hooks":     {HookWebHook},
	"selfservice.flows.settings.after.profile.hooks":      {HookWebHook},
	"selfservice.flows.recovery.after.hooks":              {HookWebHook, HookRevokeActiveSessions},
	"selfservice.flows.verification.after.hooks":          {HookWebHook},
}

func webHookAuthNode() *node {
	return tagged("type",
		variant{"api_key", object(
			key("type", str()),
			key("config", object(
				key("name", str()),
				key("value", str().secret()),
				key("in", enumOf("header", "cookie")),
			).requires("name", "value", "in")),
		).requires("config")},
		variant{"basic_auth", object(
			key("type", str()),
			key("config", object(
				key("user", str()),
				key("password", str().secret()),
			).requires("user", "password")),
		).requires("config")},
	)
}

func webHookConfigNode() *node {
	return object(
		key("url", uri()),
		key("method", str()),
		// A Jsonnet template URI (file://, http(s)://, base64://); bare paths
		// are accepted with a deprecation warning, as Kratos does.
		key("body", str()),
		key("auth", webHookAuthNode()),
		key("response", object(
			key("ignore", boolean().withDefault(false)),
		)),
		// Request headers the template sees beyond the built-in allow-list
		// (hook.ForwardedHeaders); credentials are never forwarded.
		key("forward_request_headers", arrayOf(str()).addition()),
	).requires("url", "method")
}

func hooksNode(path string) *node {
	allowed, ok := hookPositions[path]
	if !ok {
		panic("config: no hook position " + path)
	}
	vs := make([]variant, 0, len(allowed))
	for _, name := range allowed {
		if name == HookWebHook {
			vs = append(vs, variant{name, object(
				key("hook", str()),
				key("config", webHookConfigNode()),
			).requires("config")})
			continue
		}
		vs = append(vs, variant{name, object(key("hook", str()))})
	}
	return arrayOf(tagged("hook", vs...)).uniqueItems()
}

// afterNode describes an "after" block (or a per-method block inside one).
func afterNode(hooksPath string, methods ...*field) *node {
	fs := []*field{
		key("default_browser_return_url", uriRef()),
		key("hooks", hooksNode(hooksPath)),
	}
	return object(append(fs, methods...)...)
}

// ---- the tree ---------------------------------------------------------------

const fallbackUIBase = "https://www.ory.sh/kratos/docs/fallback/"

func flowUIURL(flow string) *node { return uriRef().withDefault(fallbackUIBase + flow) }

func requiredAAL() *node { return enumOf("aal1", "highest_available").withDefault("highest_available") }

func sameSite() *node { return enumOf("Strict", "Lax", "None") }

func portNode(def int) *node { return integer().between(1, 65535).withDefault(def) }

func socketNode() *node {
	return object(
		key("owner", str().withDefault("")),
		key("group", str().withDefault("")),
		key("mode", integer().between(0, 511).withDefault(493)),
	)
}

func tlsNode() *node {
	source := func() *node {
		return object(key("path", str()), key("base64", str().secret()))
	}
	return object(key("key", source()), key("cert", source()))
}

func requestLogNode() *node {
	return object(key("disable_for_health", boolean().withDefault(false)))
}

// Default listen hosts. In dev mode both servers listen on the loopback
// interface unless a host is configured.
const (
	defaultHost    = "0.0.0.0"
	devDefaultHost = "127.0.0.1"
)

const maxUint32 = 1<<32 - 1

// DefaultMaxBodyBytes is the default of serve.public.max_body_bytes and
// serve.admin.max_body_bytes (a Hoplite addition): 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

func emailTemplateNode() *node {
	return object(
		key("subject", uri()),
		key("body", object(
			key("html", uri()),
			key("plaintext", uri()),
		)),
	)
}

func courierTemplatesNode() *node {
	return object(
		key("valid", object(key("email", emailTemplateNode())).requires("email")),
		key("invalid", object(key("email", emailTemplateNode())).requires("email")),
	)
}

// OIDCProviders lists the provider values Kratos v0.9 accepts.
var OIDCProviders = []string{
	"generic", "google", "github", "github-app", "gitlab", "microsoft", "discord",
	"slack", "facebook", "auth0", "vk", "yandex", "apple", "spotify",
}

func oidcProviderNode() *node {
	return object(
		key("id", str()),
		key("provider", enumOf(OIDCProviders...)),
		key("label", str()),
		key("client_id", str()),
		key("client_secret", str().secret()),
		key("issuer_url", uri()),
		key("auth_url", uri()),
		key("token_url", uri()),
		key("mapper_url", uri()),
		key("scope", arrayOf(str())),
		key("microsoft_tenant", str()),
		key("apple_team_id", str()),
		key("apple_private_key_id", str()),
		key("apple_private_key", str().secret()),
		key("requested_claims", freeObject()),
	).requires("id", "provider", "client_id", "mapper_url")
}

func buildSchema() *node {
	serve := object(
		key("public", object(
			key("base_url", uriRef()),
			key("host", str().withDefault(defaultHost)),
			key("port", portNode(4433)),
			key("cors", object(
				key("enabled", boolean().withDefault(false)),
				key("allowed_origins", arrayOf(str().lengths(1, 0)).uniqueItems().withDefault([]any{"*"})),
				key("allowed_methods", arrayOf(enumOf("POST", "GET", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD", "OPTIONS", "TRACE")).
					withDefault([]any{"POST", "GET", "PUT", "PATCH", "DELETE"})),
				key("allowed_headers", arrayOf(str()).withDefault([]any{"Authorization", "Content-Type", "X-Session-Token"})),
				key("exposed_headers", arrayOf(str()).withDefault([]any{"Content-Type"})),
				key("allow_credentials", boolean().withDefault(true)),
				key("options_passthrough", boolean().withDefault(false)),
				key("max_age", integer().atLeast(0).withDefault(0)),
				key("debug", boolean().withDefault(false)),
			)),
			key("socket", socketNode()),
			key("tls", tlsNode()),
			key("request_log", requestLogNode()),
			key("max_body_bytes", integer().atLeast(1).withDefault(DefaultMaxBodyBytes).addition()),
			key("trusted_proxies", arrayOf(str().matching(`^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$`, "must be an IP address or a CIDR range such as 10.0.0.0/8")).addition()),
		)),
		key("admin", object(
			key("base_url", uri()),
			key("host", str().withDefault(defaultHost)),
			key("port", portNode(4434)),
			key("socket", socketNode()),
			key("tls", tlsNode()),
			key("request_log", requestLogNode()),
			key("max_body_bytes", integer().atLeast(1).withDefault(DefaultMaxBodyBytes).addition()),
			key("api_keys", arrayOf(str().lengths(1, 0).secret()).addition()),
		)),
	)

	selfservice := object(
		key("default_browser_return_url", uriRef()),
		key("allowed_return_urls", arrayOf(uriRef()).uniqueItems()),
		key("flows", object(
			key("login", object(
				key("ui_url", flowUIURL("login")),
				key("lifespan", duration("1h")),
				key("before", object(key("hooks", hooksNode("selfservice.flows.login.before.hooks")))),
				key("after", afterNode("selfservice.flows.login.after.hooks",
					key("password", afterNode("selfservice.flows.login.after.password.hooks")),
					key("webauthn", afterNode("selfservice.flows.login.after.webauthn.hooks")),
					key("oidc", afterNode("selfservice.flows.login.after.oidc.hooks")),
				)),
			)),
			key("registration", object(
				key("enabled", boolean().withDefault(true)),
				key("ui_url", flowUIURL("registration")),
				key("lifespan", duration("1h")),
				key("before", object(key("hooks", hooksNode("selfservice.flows.registration.before.hooks")))),
				key("after", afterNode("selfservice.flows.registration.after.hooks",
					key("password", afterNode("selfservice.flows.registration.after.password.hooks")),
					key("oidc", afterNode("selfservice.flows.registration.after.oidc.hooks")),
					key("webauthn", afterNode("selfservice.flows.registration.after.webauthn.hooks")),
				)),
			)),
			key("settings", object(
				key("ui_url", flowUIURL("settings")),
				key("lifespan", duration("1h")),
				key("privileged_session_max_age", duration("1h")),
				key("required_aal", requiredAAL()),
				key("after", afterNode("selfservice.flows.settings.after.hooks",
					key("password", afterNode("selfservice.flows.settings.after.password.hooks")),
					key("profile", afterNode("selfservice.flows.settings.after.profile.hooks")),
				)),
			)),
			key("recovery", object(
				key("enabled", boolean().withDefault(false)),
				key("ui_url", flowUIURL("recovery")),
				key("lifespan", duration("1h")),
				key("after", afterNode("selfservice.flows.recovery.after.hooks")),
			)),
			key("verification", object(
				key("enabled", boolean().withDefault(false)),
				key("ui_url", flowUIURL("verification")),
				key("lifespan", duration("1h")),
				key("after", afterNode("selfservice.flows.verification.after.hooks")),
			)),
			key("logout", object(
				key("after", object(key("default_browser_return_url", uriRef()))),
			)),
			key("error", object(
				key("ui_url", flowUIURL("error")),
			)),
		)),
		key("methods", object(
			key("profile", object(
				key("enabled", boolean().withDefault(true)),
			)),
			key("password", object(
				key("enabled", boolean().withDefault(true)),
				key("config", object(
					key("haveibeenpwned_host", str().withDefault("api.pwnedpasswords.com")),
					key("haveibeenpwned_enabled", boolean().withDefault(true)),
					key("max_breaches", integer().between(0, 100).withDefault(0)),
					key("ignore_network_errors", boolean().withDefault(true)),
					key("min_password_length", integer().atLeast(6).withDefault(8)),
					key("identifier_similarity_check_enabled", boolean().withDefault(true)),
				)),
			)),
			key("link", object(
				key("enabled", boolean().withDefault(true)),
				key("config", object(
					key("base_url", uriRef()),
					key("lifespan", duration("1h")),
				).openKeys()),
			)),
			key("totp", object(
				key("enabled", boolean().withDefault(false)),
				key("config", object(
					key("issuer", str()),
				)),
			)),
			key("lookup_secret", object(
				key("enabled", boolean().withDefault(false)),
			)),
			key("webauthn", object(
				key("enabled", boolean().withDefault(false)),
				key("config", object(
					key("passwordless", boolean()),
					key("passkeys", boolean()),
					key("rp", object(
						key("display_name", str()),
						key("id", str()),
						key("origin", uri()),
						key("icon", uri()),
					).requires("id", "display_name").openKeys()),
				)),
			)),
			key("oidc", object(
				key("enabled", boolean().withDefault(false)),
				key("config", object(
					key("base_redirect_uri", uri()),
					key("providers", arrayOf(oidcProviderNode())),
				)),
			)),
		)),
	)

	courier := object(
		key("smtp", object(
			key("connection_uri", str().secret()), // scheme and options: Validate
			key("from_address", str().withDefault("no-reply@ory.kratos.sh")),
			key("from_name", str()),
			key("headers", mapOf(str())),
		).requires("connection_uri")),
		key("template_override_path", str()),
		key("templates", object(
			key("recovery", courierTemplatesNode()),
			key("verification", courierTemplatesNode()),
		)),
		key("message_ttl", duration("1h")),
		key("sms", object(
			key("enabled", boolean().withDefault(false)),
			key("from", str().withDefault("Ory Kratos")),
			key("request_config", object(
				key("url", str().matching(`^https?://`, "must be a URL starting with http:// or https://")),
				key("method", str()),
				key("header", mapOf(str())),
				key("body", str().matching(`^(http|https|file|base64)://`, "must be a URI starting with http://, https://, file:// or base64://")),
				key("auth", webHookAuthNode()),
			).requires("url", "method")),
		)),
		key("worker", object(
			key("enabled", boolean().withDefault(true)),
		).addition()),
	).requires("smtp")
	courier.child("smtp").child("from_address").format = formatEmail

	return object(
		key("version", str()),
		key("dsn", str().secret()),
		key("dev", boolean()),
		key("help", boolean()),
		key("sqa-opt-out", boolean().withDefault(false)),
		key("watch-courier", boolean().withDefault(false)),
		key("expose-metrics-port", integer().between(0, 65535).withDefault(0)),
		key("config", arrayOf(str())),
		key("serve", serve),
		key("selfservice", selfservice),
		key("courier", courier),
		key("identity", object(
			key("default_schema_id", str().withDefault("default")),
			key("schemas", arrayOf(object(
				key("id", str()),
				key("url", uri()),
			).requires("id", "url").openKeys()).atLeastItems(1)),
		)),
		key("secrets", object(
			key("default", arrayOf(str().lengths(16, 0).secret()).uniqueItems()),
			key("cookie", arrayOf(str().lengths(16, 0).secret()).uniqueItems()),
			key("cipher", arrayOf(str().lengths(32, 32).secret()).atLeastItems(1)),
		)),
		key("hashers", object(
			key("algorithm", enumOf("argon2", "bcrypt").withDefault("bcrypt")),
			key("argon2", object(
				key("memory", byteSize("128MB")),
				key("iterations", integer().between(1, maxUint32).withDefault(1)),
				key("parallelism", integer().between(1, 255)),
				key("salt_length", integer().between(16, maxUint32).withDefault(16)),
				key("key_length", integer().between(16, maxUint32).withDefault(32)),
				key("expected_duration", duration("500ms")),
				key("expected_deviation", duration("500ms")),
				key("dedicated_memory", byteSize("1GB")),
			)),
			key("bcrypt", object(
				key("cost", integer().between(4, 31).withDefault(12)),
			).requires("cost")),
		)),
		key("ciphers", object(
			key("algorithm", enumOf("noop", "aes", "xchacha20-poly1305").withDefault("noop")),
		).openKeys()),
		key("cookies", object(
			key("domain", str()),
			key("path", str().withDefault("/")),
			key("same_site", sameSite().withDefault("Lax")),
		)),
		key("session", object(
			key("lifespan", duration("24h")),
			key("idle_timeout", duration("0s").addition()),
			key("cookie", object(
				key("name", str().withDefault("ory_kratos_session")),
				key("persistent", boolean().withDefault(true)),
				key("domain", str()),
				key("path", str()),
				key("same_site", sameSite()),
			)),
			key("whoami", object(
				key("required_aal", requiredAAL()),
			)),
			key("cache", object(
				key("enabled", boolean().withDefault(true)),
				key("max_entries", integer().atLeast(1).withDefault(100000)),
				key("max_bytes", byteSize("64MB")),
				key("poll_interval", duration("200ms")),
				key("max_age", duration("0s")),
			).addition()),
		)),
		key("log", object(
			key("level", enumOf("trace", "debug", "info", "warning", "error", "fatal", "panic").withDefault("info")),
			key("format", enumOf("json", "text")),
			key("leak_sensitive_values", boolean()),
			key("redaction_text", str()),
		)),
		key("tracing", object(
			// "otel" (OpenTelemetry over OTLP/HTTP) is a Hoplite addition, in
			// the shape later Kratos versions use for it.
			key("provider", enumOf("jaeger", "zipkin", "datadog", "elastic-apm", "instana", "otel")),
			key("service_name", str()),
			key("providers", object(
				key("jaeger", object(
					key("local_agent_address", str()),
					key("propagation", str()),
					key("max_tag_value_length", integer().atLeast(0)),
					key("sampling", object(
						key("type", enumOf("const", "rateLimiting", "probabilistic")),
						key("value", number().atLeast(0)),
						key("server_url", uri()),
					)),
				)),
				key("zipkin", object(
					key("server_url", uri()),
				)),
				key("otlp", object(
					key("server_url", str()),
					key("insecure", boolean().withDefault(false)),
					key("sampling", object(
						key("sampling_ratio", number().between(0, 1).withDefault(1.0)),
					)),
				).addition()),
			)),
		)),
		key("clients", object(
			key("http", object(
				key("disallow_private_ip_ranges", boolean().withDefault(false)),
			).openKeys()),
		).openKeys()),
		key("security", object(
			key("brute_force", object(
				key("enabled", boolean().withDefault(true)),
				key("max_failures_per_account", integer().atLeast(1).withDefault(100)),
				key("max_failures_per_ip", integer().atLeast(1).withDefault(1000)),
				key("window", duration("1h")),
				key("free_failures", integer().atLeast(0).withDefault(5)),
				key("base_delay", duration("1s")),
				key("max_delay", duration("1m")),
				key("lockout", duration("1h")),
				key("mail_cooldown", duration("1m")),
			)),
			key("max_waiting_hashes", integer().atLeast(0).withDefault(64)),
			key("audit", object(
				key("retention", duration("2160h")),
			)),
			key("credential_changes", object(
				key("revoke_other_sessions", boolean().withDefault(false)),
				key("notify", boolean().withDefault(false)),
				key("invalidate_recovery_links", boolean().withDefault(false)),
			)),
		).addition()),
		key("ui", object(
			key("enabled", boolean()),
			key("base_path", str().withDefault("/ui").matching(`^/[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$`, "must be a path such as /ui, without a trailing slash")),
			key("stylesheet", str()),
		).addition()),
	)
}

// schema is the root of the key tree. It is built once and never modified.
var schema = buildSchema()
