package app

import (
	"net"
	"testing"
)

func TestAdminExposed(t *testing.T) {
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, c := range []struct {
		addr net.Addr
		keys bool
		want bool
	}{
		{tcp("127.0.0.1:4434"), false, false},
		{tcp("[::1]:4434"), false, false},
		{tcp("[::ffff:127.0.0.1]:4434"), false, false},
		{tcp("0.0.0.0:4434"), false, true},
		{tcp("[::]:4434"), false, true},
		{tcp("192.0.2.10:4434"), false, true},
		{tcp("0.0.0.0:4434"), true, false},
		{&net.UnixAddr{Name: "/run/hoplite/admin.sock", Net: "unix"}, false, false},
	} {
		if got := adminExposed(c.addr, c.keys); got != c.want {
			t.Errorf("adminExposed(%v, keys=%v) = %v, want %v", c.addr, c.keys, got, c.want)
		}
	}
}
