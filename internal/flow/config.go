package flow

import (
	"net/url"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
)

// Config is what the engine reads from the configuration. internal/app
// builds it (FromConfig), so the engine depends on these values and not on
// the whole configuration tree.
type Config struct {
	// PublicURL is the public base URL; form actions and links use it.
	PublicURL *url.URL
	// DefaultReturnURL is selfservice.default_browser_return_url.
	DefaultReturnURL string
	// AllowedReturnURLs is selfservice.allowed_return_urls.
	AllowedReturnURLs []string
	// Kinds holds each flow kind's UI URL, lifespan and switch.
	Kinds map[Kind]KindConfig
	// ErrorUIURL is selfservice.flows.error.ui_url.
	ErrorUIURL string
	// PrivilegedSessionMaxAge is how long after signing in a session may
	// make sensitive settings changes.
	PrivilegedSessionMaxAge time.Duration
	// SettingsRequiredAAL is selfservice.flows.settings.required_aal.
	SettingsRequiredAAL string

	// AfterHooks returns the hooks to run after flow ("login", …, as in
	// the config keys) completed with method.
	AfterHooks func(flow, method string) []config.Hook
	// ReturnTo returns the default redirect after flow completed with
	// method (the method's, the flow's, then the global default).
	ReturnTo func(flow, method string) string
	// MethodReturnURL returns only the method's own after-URL of flow.
	MethodReturnURL func(flow, method string) string
	// AfterReturnURL returns only the flow's own after-URL ("" when unset).
	AfterReturnURL func(flow string) string

	// CredentialChanges is security.credential_changes: what follows a new
	// sign-in secret (Result.SecretChanged) or a completed recovery.
	CredentialChanges config.CredentialChanges

	// APIFlowChecksDisabled turns off the refusal of API flow submissions
	// that come from a browser: Kratos allows that in dev mode with
	// DEV_DISABLE_API_FLOW_ENFORCEMENT=true, so that API flows can be tried
	// from a browser.
	APIFlowChecksDisabled bool
}

// KindConfig is one flow kind's settings.
type KindConfig struct {
	UIURL    string
	Lifespan time.Duration
	// Enabled is false when the kind is switched off (registration,
	// recovery and verification can be).
	Enabled bool
}

// FromConfig builds the engine's Config from the server's configuration.
func FromConfig(c *config.Config, apiFlowChecksDisabled bool) Config {
	f := &c.Selfservice.Flows
	return Config{
		PublicURL:         c.PublicBaseURL(),
		DefaultReturnURL:  c.Selfservice.DefaultBrowserReturnURL,
		AllowedReturnURLs: c.Selfservice.AllowedReturnURLs,
		Kinds: map[Kind]KindConfig{
			Login:        {UIURL: f.Login.UIURL, Lifespan: f.Login.Lifespan, Enabled: true},
			Registration: {UIURL: f.Registration.UIURL, Lifespan: f.Registration.Lifespan, Enabled: f.Registration.Enabled},
			Settings:     {UIURL: f.Settings.UIURL, Lifespan: f.Settings.Lifespan, Enabled: true},
			Recovery:     {UIURL: f.Recovery.UIURL, Lifespan: f.Recovery.Lifespan, Enabled: f.Recovery.Enabled},
			Verification: {UIURL: f.Verification.UIURL, Lifespan: f.Verification.Lifespan, Enabled: f.Verification.Enabled},
		},
		ErrorUIURL:              f.Error.UIURL,
		PrivilegedSessionMaxAge: f.Settings.PrivilegedSessionMaxAge,
		SettingsRequiredAAL:     f.Settings.RequiredAAL,
		AfterHooks:              c.AfterHooks,
		ReturnTo:                c.ReturnTo,
		MethodReturnURL:         c.MethodReturnURL,
		AfterReturnURL: func(flow string) string {
			switch flow {
			case config.FlowSettings:
				return f.Settings.After.DefaultBrowserReturnURL
			case config.FlowVerification:
				return f.Verification.After.DefaultBrowserReturnURL
			case config.FlowLogout:
				return f.Logout.After.DefaultBrowserReturnURL
			}
			return ""
		},
		CredentialChanges:     c.Security.CredentialChanges,
		APIFlowChecksDisabled: apiFlowChecksDisabled,
	}
}
