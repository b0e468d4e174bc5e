package config

import (
	"net/netip"
	"strings"
)

// ParseTrustedProxy parses one entry of serve.public.trusted_proxies: an IP
// address (a range of one) or a CIDR range.
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// TrustedProxies returns serve.public.trusted_proxies parsed (Validate has
// checked every entry): the reverse proxies whose X-Forwarded-For names the
// client. Give it to httpx.ClientIP.
func (c *Config) TrustedProxies() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.Serve.Public.TrustedProxies))
	for _, s := range c.Serve.Public.TrustedProxies {
		if p, err := ParseTrustedProxy(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}
