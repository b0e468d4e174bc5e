package httpx

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxies: the peer", "192.0.2.1:5000", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"untrusted peer: header ignored", "192.0.2.1:5000", []string{"203.0.113.9"}, trusted, "192.0.2.1"},
		{"trusted peer: the hop it appended", "10.0.0.1:5000", []string{"198.51.100.1, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"chain of trusted proxies", "10.0.0.1:5000", []string{"203.0.113.9, 10.2.3.4", "10.9.9.9"}, trusted, "203.0.113.9"},
		{"all hops trusted: the left-most", "10.0.0.1:5000", []string{"10.1.1.1"}, trusted, "10.1.1.1"},
		{"malformed hop stops the walk", "10.0.0.1:5000", []string{"203.0.113.9, garbage, 10.2.3.4"}, trusted, "10.2.3.4"},
		{"hop with a port", "10.0.0.1:5000", []string{"203.0.113.9:4711"}, trusted, "203.0.113.9"},
		{"IPv6 proxy and client", "[::1]:5000", []string{"2001:db8::7"}, trusted, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.1]:5000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"trusted peer without header", "10.0.0.1:5000", nil, trusted, "10.0.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, c.trusted); got.String() != c.want {
				t.Fatalf("ClientIP = %s, want %s", got, c.want)
			}
		})
	}
}
