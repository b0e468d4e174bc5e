package flow

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/hoplite-id/hoplite/internal/httpx"
)

// ReturnTo checks return_to URLs against selfservice.allowed_return_urls so
// that flows never redirect a browser to a site the operator did not list
// (an open redirect would make phishing links look trustworthy).
type ReturnTo struct {
	allowed    []*url.URL
	defaultURL *url.URL
}

// NewReturnTo builds the checker. The public self-service path is always
// allowed. Entries that cannot be parsed, and wildcard entries that would
// match a whole public suffix ("*", "*.com", "*.co.uk"), are ignored.
func NewReturnTo(allowed []string, defaultURL, publicURL *url.URL) *ReturnTo {
	rt := &ReturnTo{defaultURL: defaultURL}
	for _, a := range allowed {
		u, err := url.Parse(strings.TrimSpace(a))
		if err != nil || u.Host == "" {
			continue
		}
		host := strings.ToLower(u.Hostname())
		if host == "*" {
			continue
		}
		if strings.HasPrefix(host, "*.") {
			if suffix, _ := publicsuffix.PublicSuffix(host[2:]); suffix == host[2:] {
				continue
			}
		}
		rt.allowed = append(rt.allowed, u)
	}
	self := *publicURL
	self.Path = strings.TrimSuffix(self.Path, "/") + "/self-service"
	rt.allowed = append(rt.allowed, &self)
	return rt
}

// Resolve validates a return_to value. Relative values inherit the scheme
// and host of the default return URL. An empty value yields nil.
func (rt *ReturnTo) Resolve(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, rt.forbidden(raw)
	}
	if !u.IsAbs() || u.Host == "" {
		if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, `\`) {
			return nil, rt.forbidden(raw)
		}
		base := *rt.defaultURL
		base.Path, base.RawQuery, base.Fragment = "", "", ""
		u = base.ResolveReference(u)
	}
	for _, a := range rt.allowed {
		if matches(a, u) {
			return u, nil
		}
	}
	return nil, rt.forbidden(raw)
}

func matches(allowed, u *url.URL) bool {
	if !strings.EqualFold(allowed.Scheme, u.Scheme) {
		return false
	}
	host := strings.ToLower(u.Hostname())
	ahost := strings.ToLower(allowed.Hostname())
	if strings.HasPrefix(ahost, "*.") {
		if !strings.HasSuffix(host, ahost[1:]) {
			return false
		}
	} else if host != ahost {
		return false
	}
	if allowed.Port() != u.Port() {
		return false
	}
	ap := allowed.Path
	if ap == "" {
		ap = "/"
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	if strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return false
	}
	return pathWithin(p, ap)
}

// pathWithin reports whether p is the allowed path or below it, comparing
// whole segments: "/dashboard" allows "/dashboard" and "/dashboard/x" but
// not "/dashboard-evil" (Kratos compares plain string prefixes, which lets
// a sibling path on the same host through). An allowed path ending in "/"
// allows everything below it.
func pathWithin(p, allowed string) bool {
	if !strings.HasPrefix(p, allowed) {
		return false
	}
	return len(p) == len(allowed) || strings.HasSuffix(allowed, "/") || p[len(allowed)] == '/'
}

func (rt *ReturnTo) forbidden(raw string) *httpx.Error {
	var hosts []string
	for _, a := range rt.allowed {
		hosts = append(hosts, a.String())
	}
	if len(raw) > 200 {
		raw = raw[:200] + "…"
	}
	return httpx.BadRequest(fmt.Sprintf("Requested return_to URL %q is not allowed.", raw)).
		WithID("self_service_flow_return_to_forbidden").
		WithDebug(fmt.Sprintf("Allowed return URLs: %s", strings.Join(hosts, ", ")))
}

// Target picks where a finished flow sends the browser: the validated
// return_to of the flow's request, else the given default.
func (rt *ReturnTo) Target(f *Flow, def string) (string, error) {
	if f != nil {
		u, err := rt.Resolve(f.ReturnTo())
		if err != nil {
			return "", err
		}
		if u != nil {
			return u.String(), nil
		}
	}
	return def, nil
}
