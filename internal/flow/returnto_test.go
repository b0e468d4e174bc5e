package flow

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testReturnTo is the checker of a deployment whose UI runs on
// https://app.example.com and whose public API is http://127.0.0.1:4433.
func testReturnTo(t *testing.T) *ReturnTo {
	return NewReturnTo([]string{
		"https://app.example.com/dashboard",
		"https://*.tenants.example.org",
		"http://localhost:3000/",
		"https://*",     // ignored: matches everything
		"https://*.com", // ignored: a public suffix
		"https://*.co.uk",
		"::not a url",
		"relative/only", // ignored: no host
	}, mustURL(t, "https://app.example.com/welcome"), mustURL(t, "http://127.0.0.1:4433/"))
}

func TestReturnToResolve(t *testing.T) {
	rt := testReturnTo(t)
	cases := []struct {
		name   string
		raw    string
		want   string // empty: forbidden
		absent bool   // the empty return_to resolves to nothing
	}{
		{name: "empty", raw: "", absent: true},

		{name: "exact host and path", raw: "https://app.example.com/dashboard", want: "https://app.example.com/dashboard"},
		{name: "below the allowed path", raw: "https://app.example.com/dashboard/settings?tab=2#top", want: "https://app.example.com/dashboard/settings?tab=2#top"},
		{name: "trailing slash of the allowed path", raw: "https://app.example.com/dashboard/", want: "https://app.example.com/dashboard/"},
		{name: "host case", raw: "https://APP.Example.com/dashboard", want: "https://APP.Example.com/dashboard"},
		{name: "scheme case", raw: "HTTPS://app.example.com/dashboard", want: "https://app.example.com/dashboard"},
		{name: "outside the allowed path", raw: "https://app.example.com/admin"},
		{name: "root of an allowed host with a path", raw: "https://app.example.com/"},
		{name: "scheme mismatch", raw: "http://app.example.com/dashboard"},
		{name: "port mismatch", raw: "https://app.example.com:8443/dashboard"},
		{name: "allowed port", raw: "http://localhost:3000/anything", want: "http://localhost:3000/anything"},
		{name: "missing port", raw: "http://localhost/anything"},
		{name: "other port", raw: "http://localhost:3001/"},

		{name: "wildcard subdomain", raw: "https://acme.tenants.example.org/home", want: "https://acme.tenants.example.org/home"},
		{name: "wildcard deeper subdomain", raw: "https://a.b.tenants.example.org/", want: "https://a.b.tenants.example.org/"},
		{name: "wildcard does not match its base", raw: "https://tenants.example.org/"},
		{name: "wildcard needs a dot", raw: "https://eviltenants.example.org/"},
		{name: "wildcard scheme mismatch", raw: "http://acme.tenants.example.org/"},
		{name: "wildcard with a port", raw: "https://acme.tenants.example.org:444/"},

		{name: "sibling path sharing a prefix", raw: "https://app.example.com/dashboards"},
		{name: "sibling path with a dash", raw: "https://app.example.com/dashboard-evil/x"},
		{name: "sibling path, relative", raw: "/dashboard-evil"},
		{name: "suffix attack", raw: "https://app.example.com.evil.com/dashboard"},
		{name: "userinfo attack", raw: "https://app.example.com@evil.com/dashboard"},
		{name: "scheme-relative", raw: "//evil.com/dashboard"},
		{name: "scheme-relative backslash", raw: `\\evil.com/dashboard`},
		{name: "javascript URL", raw: "javascript:alert(document.cookie)"},
		{name: "data URL", raw: "data:text/html,<script>alert(1)</script>"},
		{name: "public suffix wildcard ignored", raw: "https://evil.com/"},
		{name: "public suffix wildcard ignored (co.uk)", raw: "https://evil.co.uk/"},
		{name: "bare wildcard ignored", raw: "https://anything.example.net/"},
		{name: "unparsable", raw: "https://app.example.com/%zz"},

		{name: "relative inherits the default host", raw: "/dashboard/x", want: "https://app.example.com/dashboard/x"},
		{name: "relative outside the allowed path", raw: "/admin"},

		{name: "public self-service", raw: "http://127.0.0.1:4433/self-service/settings/browser", want: "http://127.0.0.1:4433/self-service/settings/browser"},
		{name: "public outside self-service", raw: "http://127.0.0.1:4433/admin/identities"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := rt.Resolve(c.raw)
			switch {
			case c.absent:
				if u != nil || err != nil {
					t.Fatalf("Resolve(%q) = %v, %v; want nothing", c.raw, u, err)
				}
			case c.want == "":
				if err == nil {
					t.Fatalf("Resolve(%q) = %v, want forbidden", c.raw, u)
				}
				var he *httpx.Error
				if !errors.As(err, &he) || he.Code != http.StatusBadRequest || he.ID != "self_service_flow_return_to_forbidden" {
					t.Fatalf("error %v, want 400 self_service_flow_return_to_forbidden", err)
				}
				if !strings.HasPrefix(he.Reason, "Requested return_to URL ") || !strings.HasSuffix(he.Reason, " is not allowed.") {
					t.Errorf("reason %q", he.Reason)
				}
			default:
				if err != nil {
					t.Fatalf("Resolve(%q): %v", c.raw, err)
				}
				if u.String() != c.want {
					t.Errorf("Resolve(%q) = %q, want %q", c.raw, u, c.want)
				}
			}
		})
	}
}

func TestReturnToIgnoresUnusableEntries(t *testing.T) {
	rt := testReturnTo(t)
	var got []string
	for _, a := range rt.allowed {
		got = append(got, a.String())
	}
	want := []string{"https://app.example.com/dashboard", "https://*.tenants.example.org", "http://localhost:3000/", "http://127.0.0.1:4433/self-service"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("allowed = %q, want %q", got, want)
	}
}

func TestReturnToTarget(t *testing.T) {
	rt := testReturnTo(t)
	const def = "https://app.example.com/welcome"
	cases := []struct {
		name       string
		requestURL string
		want       string
		forbidden  bool
	}{
		{"no return_to", "http://127.0.0.1:4433/self-service/login/browser", def, false},
		{"allowed", "http://127.0.0.1:4433/self-service/login/browser?return_to=https%3A%2F%2Fapp.example.com%2Fdashboard%2Fx", "https://app.example.com/dashboard/x", false},
		{"forbidden", "http://127.0.0.1:4433/self-service/login/browser?return_to=https%3A%2F%2Fevil.com%2F", "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := rt.Target(&Flow{RequestURL: c.requestURL}, def)
			if c.forbidden {
				if err == nil {
					t.Fatalf("Target = %q, want an error", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Target = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if got, err := rt.Target(nil, def); err != nil || got != def {
		t.Errorf("Target(nil) = %q, %v", got, err)
	}
}
