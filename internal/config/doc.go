// Package config loads Hoplite's configuration.
//
// Hoplite reads Ory Kratos v0.9 configuration files unchanged: every key a
// Kratos v0.9.0-alpha.3 file may contain is accepted with the same meaning,
// type and default, and any other key is an error naming its full path (the
// key tree is in schema.go). Keys that are valid but whose feature Hoplite
// does not implement yet are accepted and listed by Config.Unsupported (the
// table of implemented prefixes is in unsupported.go).
//
// The effective configuration is built in layers: defaults, then the
// configuration files in order (objects merged key by key, lists and scalars
// replaced), then environment variables (env.go describes their names and
// value syntax). Load validates the result and returns a typed Config.
//
// # Hoplite additions
//
// These keys are not Kratos keys:
//
//   - serve.admin.api_keys: list of keys allowed to call the admin API. Write
//     each as "sha256:<hex SHA-256 of the key>" (see HashAPIKey); a plaintext
//     key is accepted, hashed at load and reported by Warnings. Only hashes
//     are kept (AdminServe.APIKeyHashes); check a presented key with
//     Config.AdminAPIKeyValid. Environment: SERVE_ADMIN_API_KEYS (JSON array
//     or comma-separated).
//   - serve.public.max_body_bytes, serve.admin.max_body_bytes: the largest
//     request body each server accepts, in bytes. Default 1048576 (1 MiB).
//   - serve.public.trusted_proxies: IPs or CIDR ranges of reverse proxies
//     whose X-Forwarded-For names the client (Config.TrustedProxies,
//     httpx.ClientIP). Default empty: the peer address is the client.
//   - courier.worker.enabled: default true. serve runs the mail worker
//     whenever it has a sender; false leaves delivery to `courier watch`.
//   - session.cache.max_age: duration, default 0 (off). When set, a session
//     check may be answered from a cache for at most this long, so a revoked
//     session may still pass whoami on another instance for up to max_age.
//   - serve.public.trusted_proxies: addresses and CIDR networks of reverse
//     proxies whose X-Forwarded-For names the client (Config.TrustedProxies).
//   - security.brute_force.*: failure counters of password sign-in and the
//     per-address mail cooldown (on by default; see docs/configuration.md).
//   - security.max_waiting_hashes: the bound of the password hash queue.
//   - security.audit.retention: how long security events are kept.
//   - security.credential_changes.{revoke_other_sessions,notify,
//     invalidate_recovery_links}: booleans, default false. After a new
//     password in settings or a completed recovery: end the identity's
//     other sessions, mail its addresses, revoke its unused recovery links.
//   - session.idle_timeout: duration, default 0 (off). A session unused for
//     this long ends, within its lifespan.
//   - forward_request_headers of a web_hook's config: request headers the
//     hook's template sees beyond the built-in list (credentials never).
//
// # Dev mode
//
// Dev mode is on when Load's dev argument (the --dev flag) is true or the dev
// key is true. It changes these defaults, each applied only when the key is
// absent from every file and from the environment, so `hoplite serve --dev`
// runs with no configuration at all:
//
//   - dsn: "sqlite://<data dir>/hoplite.sqlite?_fk=true" (DevDSN; the data
//     dir is set with WithDataDir and defaults to the working directory);
//   - identity.schemas: [{id: default, url: "hoplite://default"}], the
//     built-in identity schema (DevIdentitySchemaURL);
//   - selfservice.default_browser_return_url: "http://127.0.0.1:4455/";
//   - serve.public.host and serve.admin.host: "127.0.0.1" instead of
//     "0.0.0.0";
//   - with no configuration document at all: selfservice.flows.recovery
//     and selfservice.flows.verification enabled.
//
// Dev mode also, as in Kratos: keeps a bcrypt cost below 12 (outside dev it
// is raised to 12 with a warning), guesses http:// base URLs with host
// "localhost" for a wildcard listen address, drops the Secure cookie
// attribute, forces the CSRF cookie to SameSite=Lax, and does not require an
// SMTP connection when recovery or verification is enabled.
//
// Outside dev mode dsn, identity.schemas and
// selfservice.default_browser_return_url are required. Secrets are never
// invented by the loader: internal/app keys sessions with secrets.default,
// secrets.cookie and secrets.cipher in that order (Config.SessionSecrets),
// generates one in dev mode when none is set, and refuses to start without
// one otherwise.
package config
