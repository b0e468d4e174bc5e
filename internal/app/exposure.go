package app

import (
	"net"
	"net/netip"
)

// adminExposed reports whether the admin port listens on an address other
// machines can reach (a non-loopback address, or all interfaces) while no
// serve.admin.api_keys protect it: then anyone who reaches the port can
// create identities, read them and mint recovery links.
func adminExposed(addr net.Addr, hasAPIKeys bool) bool {
	if hasAPIKeys || addr == nil {
		return false
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return false // a unix socket is guarded by file permissions
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	return !ok || !ip.Unmap().IsLoopback()
}

// adminExposedWarning is logged at start when adminExposed.
const adminExposedWarning = "!!! THE ADMIN API IS REACHABLE FROM THE NETWORK WITHOUT AUTHENTICATION !!! " +
	"serve.admin listens on a non-loopback address and serve.admin.api_keys is empty, so anyone who can reach " +
	"the port can create, read and delete identities and sessions and mint recovery links. Set serve.admin.api_keys, " +
	"or listen on 127.0.0.1 behind a proxy that authenticates (see docs/configuration.md)."
