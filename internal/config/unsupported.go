package config

import (
	"reflect"
	"slices"
	"strings"
)

// implemented lists the key prefixes whose features Hoplite implements. A key
// is implemented when its path equals an entry or lies below one. Every other
// key is accepted (it is valid Kratos v0.9 configuration) but reported by
// Unsupported when it is set. Edit this table as features land.
var implemented = []string{
	"dsn",
	"dev",
	"watch-courier",
	"expose-metrics-port",
	"serve.public.host",
	"serve.public.port",
	"serve.public.base_url",
	"serve.public.max_body_bytes",
	"serve.public.cors",
	"serve.public.trusted_proxies",
	"serve.public.request_log",
	"serve.admin.request_log",
	"serve.admin.host",
	"serve.admin.port",
	"serve.admin.base_url",
	"serve.admin.max_body_bytes",
	"serve.admin.api_keys",
	"serve.public.tls",
	"serve.admin.tls",
	"serve.public.socket",
	"serve.admin.socket",
	"secrets",
	"hashers",
	"cookies",
	"session",
	"selfservice.default_browser_return_url",
	"selfservice.allowed_return_urls",
	"selfservice.flows",
	"selfservice.methods.password",
	"selfservice.methods.profile",
	"selfservice.methods.link",
	"identity",
	"courier.smtp",
	"courier.templates",
	"courier.template_override_path",
	"courier.message_ttl",
	"courier.worker",
	"log.level",
	"log.format",
	"log.leak_sensitive_values",
	"version",
	"clients.http",
	"tracing.providers.otlp",
	"security",
}

func isImplemented(path string) bool {
	for _, p := range implemented {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// collectUnsupported lists the paths of the keys set in tree (files and
// environment, normalised) whose features are not implemented. Keys set to
// their default value are left out, as they change nothing. Lists, maps and
// hook entries are reported as one key.
func collectUnsupported(tree map[string]any) []string {
	var out []string
	tracing, _ := tree["tracing"].(map[string]any)
	otel := tracing["provider"] == "otel"
	var walk func(n *node, path string, v any)
	walk = func(n *node, path string, v any) {
		if path != "" && isImplemented(path) {
			return
		}
		// Of the tracing providers only "otel" is implemented; Kratos'
		// own (jaeger, zipkin, …) still load and are reported.
		if otel && (path == "tracing.provider" || path == "tracing.service_name") {
			return
		}
		if n.kind == kindObject {
			m, _ := v.(map[string]any)
			for _, k := range sortedKeys(m) {
				if child := n.child(k); child != nil {
					walk(child, joinPath(path, k), m[k])
				}
			}
			return
		}
		if n.def != nil && reflect.DeepEqual(v, normalizedDefault(n)) {
			return
		}
		out = append(out, path)
	}
	walk(schema, "", tree)
	slices.Sort(out)
	return out
}

func normalizedDefault(n *node) any {
	return (&checker{}).value(n, "", n.def)
}

// Unsupported returns the dotted paths of the keys that were set (in a file
// or the environment) but whose feature Hoplite does not implement yet, for
// one log line each at start.
func (c *Config) Unsupported() []string { return slices.Clone(c.unsupported) }

// Warnings returns notices about the configuration worth one log line each
// at start: generated secrets, plaintext API keys, raised bcrypt cost,
// deprecated values.
func (c *Config) Warnings() []string { return slices.Clone(c.warnings) }
