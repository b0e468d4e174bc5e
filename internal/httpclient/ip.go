package httpclient

import "net/netip"

// nonPublic4 are the IPv4 ranges that are not publicly routable
// destinations (RFC 6890 special-purpose registry, plus multicast and the
// reserved class E).
var nonPublic4 = prefixes(
	"0.0.0.0/8",       // "this network", includes the unspecified address
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local (cloud metadata services live here)
	"172.16.0.0/12",   // private (RFC 1918)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
	"192.168.0.0/16",  // private (RFC 1918)
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, includes the limited broadcast address
)

// nonPublic6 are the IPv6 ranges inside global unicast (2000::/3) that are
// not publicly routable destinations. Everything outside 2000::/3 is refused
// anyway, except the NAT64 prefix, whose embedded IPv4 address is checked.
var nonPublic6 = prefixes(
	"2001::/23",     // IETF protocol assignments, includes Teredo (2001::/32)
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
)

var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64          = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 prefix (RFC 6052)
	sixToFour      = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056), embeds an IPv4 address
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// IsPublic reports whether ip is a publicly routable unicast address, the
// only kind of address a client with DisallowPrivateIPRanges connects to.
// It is false for loopback, private (RFC 1918, RFC 4193 unique local),
// link-local, carrier-grade NAT, unspecified, multicast, documentation,
// benchmarking and reserved addresses. IPv4-mapped IPv6 addresses are judged
// as the IPv4 address they map, and so are addresses that embed an IPv4
// address for translation (NAT64 64:ff9b::/96, 6to4 2002::/16).
func IsPublic(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		for _, p := range nonPublic4 {
			if p.Contains(ip) {
				return false
			}
		}
		return true
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return IsPublic(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	case sixToFour.Contains(ip):
		return IsPublic(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case !globalUnicast6.Contains(ip):
		// ::, ::1, IPv4-compatible, discard-only, ULA fc00::/7, link-local
		// fe80::/10, site-local fec0::/10, multicast ff00::/8, local-use
		// NAT64 64:ff9b:1::/48 and everything unassigned.
		return false
	}
	for _, p := range nonPublic6 {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
