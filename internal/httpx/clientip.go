package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address of the client that sent r. It is the connection's
// peer, unless the peer is one of the trusted proxies: then X-Forwarded-For
// is read from the right (the hop the trusted proxy appended) leftwards,
// skipping trusted proxies, and the first untrusted hop is the client. A
// client can prepend anything to the header, so hops left of the first
// untrusted one are never believed. A malformed hop ends the walk at the
// last trusted address. Without trusted proxies the header is ignored.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if len(trusted) == 0 || !inPrefixes(peer, trusted) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return peer
		}
		if !inPrefixes(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// parseHop reads one X-Forwarded-For entry: an address, optionally with a
// port ("192.0.2.1:1234", "[2001:db8::1]:1234").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type clientIPKey struct{}

// WithClientIP stores the client's address in ctx (see ClientIP), so that
// code deep below a handler (throttling, audit events) can read it.
func WithClientIP(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, a)
}

// ClientIPFrom returns the address stored by WithClientIP (the zero Addr
// when none was).
func ClientIPFrom(ctx context.Context) netip.Addr {
	a, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return a
}
