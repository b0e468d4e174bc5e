package config

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
)

// PublicBaseURL is the URL the public API is reachable at:
// serve.public.base_url when set, else a guess (see guessBaseURL).
func (c *Config) PublicBaseURL() *url.URL {
	return c.baseURL(c.Serve.Public.BaseURL, c.Serve.Public.Host, c.Serve.Public.Port)
}

// AdminBaseURL is the URL the admin API is reachable at:
// serve.admin.base_url when set, else a guess (see guessBaseURL).
func (c *Config) AdminBaseURL() *url.URL {
	return c.baseURL(c.Serve.Admin.BaseURL, c.Serve.Admin.Host, c.Serve.Admin.Port)
}

// baseURL returns the configured URL, or guesses http(s)://<host>:<port>/:
// https unless in dev mode; a wildcard or empty listen host becomes
// "localhost" in dev mode and the machine's host name otherwise.
func (c *Config) baseURL(configured, host string, port int) *url.URL {
	if configured != "" {
		if u, err := url.Parse(configured); err == nil {
			return u
		}
	}
	scheme := "https"
	if c.Dev {
		scheme = "http"
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.HasPrefix(host, "unix:") {
		host = "" // a socket path is no URL host: guess as for a wildcard
	}
	switch host {
	case "", "0.0.0.0", "::":
		if c.Dev {
			host = "localhost"
		} else {
			host = c.machineHostname()
		}
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: "/"}
}

func (c *Config) machineHostname() string {
	f := c.hostname
	if f == nil {
		f = os.Hostname
	}
	if h, err := f(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// CookieSecrets returns secrets.cookie, or the session secrets when no
// cookie secret is configured. The first one signs; all of them verify.
func (c *Config) CookieSecrets() []string {
	if len(c.Secrets.Cookie) > 0 {
		return slices.Clone(c.Secrets.Cookie)
	}
	return c.SessionSecrets()
}

// SessionSecrets are the secrets that key session and logout token hashes:
// secrets.default, then secrets.cookie, then secrets.cipher, each secret
// once. The first signs new tokens and every one is tried on lookup, so a
// Kratos file that sets only cookie and cipher secrets keeps its sessions
// across restarts and instances, and adding secrets.default later rotates
// keys without logging anybody out (the older secrets still verify).
func (c *Config) SessionSecrets() []string {
	var out []string
	for _, list := range [][]string{c.Secrets.Default, c.Secrets.Cookie, c.Secrets.Cipher} {
		for _, s := range list {
			if s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// CookieSecure reports whether cookies carry the Secure attribute: always,
// except in dev mode.
func (c *Config) CookieSecure() bool { return !c.Dev }

// SessionCookieDomain is session.cookie.domain, falling back to cookies.domain.
func (c *Config) SessionCookieDomain() string {
	if c.Session.Cookie.Domain != "" {
		return c.Session.Cookie.Domain
	}
	return c.Cookies.Domain
}

// SessionCookiePath is session.cookie.path, falling back to cookies.path
// and then "/".
func (c *Config) SessionCookiePath() string {
	if c.Session.Cookie.Path != "" {
		return c.Session.Cookie.Path
	}
	if c.Cookies.Path != "" {
		return c.Cookies.Path
	}
	return "/"
}

// SessionCookieSameSite is session.cookie.same_site, falling back to
// cookies.same_site.
func (c *Config) SessionCookieSameSite() http.SameSite {
	if c.Session.Cookie.SameSite != "" {
		return sameSiteMode(c.Session.Cookie.SameSite)
	}
	return sameSiteMode(c.Cookies.SameSite)
}

// CSRFCookieSameSite is cookies.same_site, forced to Lax in dev mode.
func (c *Config) CSRFCookieSameSite() http.SameSite {
	if c.Dev {
		return http.SameSiteLaxMode
	}
	return sameSiteMode(c.Cookies.SameSite)
}

func sameSiteMode(s string) http.SameSite {
	switch s {
	case "Strict":
		return http.SameSiteStrictMode
	case "None":
		return http.SameSiteNoneMode
	}
	return http.SameSiteLaxMode
}

// Flow names accepted by AfterHooks and ReturnTo.
const (
	FlowLogin        = "login"
	FlowRegistration = "registration"
	FlowSettings     = "settings"
	FlowRecovery     = "recovery"
	FlowVerification = "verification"
	FlowLogout       = "logout"
)

// after returns the flow-level part of a flow's "after" block and its
// per-method parts.
func (c *Config) after(flow string) (AfterMethod, map[string]AfterMethod) {
	f := &c.Selfservice.Flows
	switch flow {
	case FlowLogin:
		a := f.Login.After
		return AfterMethod{a.DefaultBrowserReturnURL, a.Hooks},
			map[string]AfterMethod{"password": a.Password, "webauthn": a.WebAuthn, "oidc": a.OIDC}
	case FlowRegistration:
		a := f.Registration.After
		return AfterMethod{a.DefaultBrowserReturnURL, a.Hooks},
			map[string]AfterMethod{"password": a.Password, "webauthn": a.WebAuthn, "oidc": a.OIDC}
	case FlowSettings:
		a := f.Settings.After
		return AfterMethod{a.DefaultBrowserReturnURL, a.Hooks},
			map[string]AfterMethod{"password": a.Password, "profile": a.Profile}
	case FlowRecovery:
		return f.Recovery.After, nil
	case FlowVerification:
		return f.Verification.After, nil
	case FlowLogout:
		return AfterMethod{DefaultBrowserReturnURL: f.Logout.After.DefaultBrowserReturnURL}, nil
	}
	return AfterMethod{}, nil
}

// AfterHooks returns the hooks to run after a flow completed with method:
// the method's own list when it has one, else the flow-level list (so the
// flow-level list runs only for methods without hooks of their own).
func (c *Config) AfterHooks(flow, method string) []Hook {
	flowLevel, methods := c.after(flow)
	if m, ok := methods[method]; ok && len(m.Hooks) > 0 {
		return m.Hooks
	}
	return flowLevel.Hooks
}

// MethodReturnURL returns only the method's own
// after.<method>.default_browser_return_url of a flow ("" when unset).
func (c *Config) MethodReturnURL(flow, method string) string {
	_, methods := c.after(flow)
	return methods[method].DefaultBrowserReturnURL
}

// ReturnTo returns the default redirect target after a flow completed with
// method: the method's default_browser_return_url, else the flow's, else
// selfservice.default_browser_return_url.
func (c *Config) ReturnTo(flow, method string) string {
	flowLevel, methods := c.after(flow)
	if m, ok := methods[method]; ok && m.DefaultBrowserReturnURL != "" {
		return m.DefaultBrowserReturnURL
	}
	if flowLevel.DefaultBrowserReturnURL != "" {
		return flowLevel.DefaultBrowserReturnURL
	}
	return c.Selfservice.DefaultBrowserReturnURL
}

type hookList struct {
	path  string
	hooks []Hook
}

// hookLists returns every hook list with its key path (the keys of
// hookPositions).
func (c *Config) hookLists() []hookList {
	f := &c.Selfservice.Flows
	const p = "selfservice.flows."
	return []hookList{
		{p + "login.before.hooks", f.Login.Before.Hooks},
		{p + "login.after.hooks", f.Login.After.Hooks},
		{p + "login.after.password.hooks", f.Login.After.Password.Hooks},
		{p + "login.after.webauthn.hooks", f.Login.After.WebAuthn.Hooks},
		{p + "login.after.oidc.hooks", f.Login.After.OIDC.Hooks},
		{p + "registration.before.hooks", f.Registration.Before.Hooks},
		{p + "registration.after.hooks", f.Registration.After.Hooks},
		{p + "registration.after.password.hooks", f.Registration.After.Password.Hooks},
		{p + "registration.after.oidc.hooks", f.Registration.After.OIDC.Hooks},
		{p + "registration.after.webauthn.hooks", f.Registration.After.WebAuthn.Hooks},
		{p + "settings.after.hooks", f.Settings.After.Hooks},
		{p + "settings.after.password.hooks", f.Settings.After.Password.Hooks},
		{p + "settings.after.profile.hooks", f.Settings.After.Profile.Hooks},
		{p + "recovery.after.hooks", f.Recovery.After.Hooks},
		{p + "verification.after.hooks", f.Verification.After.Hooks},
	}
}

// requireVerifiedAddressMethod is the one login method the
// require_verified_address hook checks: Kratos v0.9 lets it pass every
// other method (it may be configured under after.webauthn, where it does
// nothing).
const requireVerifiedAddressMethod = "password"

// AppliesTo reports whether the hook runs after a flow completed with
// method.
func (h Hook) AppliesTo(method string) bool {
	if h.Hook == HookRequireVerifiedAddress {
		return method == requireVerifiedAddressMethod
	}
	return true
}
