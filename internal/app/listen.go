package app

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/hoplite-id/hoplite/internal/config"
)

// Listen opens the listeners of both ports as configured: TCP on host:port,
// or, when the host is "unix:/path/to.sock" (as in Kratos), a unix socket
// owned and permitted per serve.*.socket. TLS is added by Serve.
func Listen(cfg *config.Config) (public, admin net.Listener, err error) {
	public, err = listen(cfg.Serve.Public.Host, cfg.Serve.Public.Port, cfg.Serve.Public.Socket)
	if err != nil {
		return nil, nil, fmt.Errorf("public listener: %w", err)
	}
	admin, err = listen(cfg.Serve.Admin.Host, cfg.Serve.Admin.Port, cfg.Serve.Admin.Socket)
	if err != nil {
		_ = public.Close()
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	return public, admin, nil
}

// SocketPath returns the socket path of a "unix:" host.
func SocketPath(host string) (string, bool) {
	p, ok := strings.CutPrefix(host, "unix:")
	return p, ok && p != ""
}

func listen(host string, port int, sock config.Socket) (net.Listener, error) {
	path, ok := SocketPath(host)
	if !ok {
		return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return listenUnix(path, sock)
}

// listenUnix listens on a unix socket. A socket file left behind by a
// previous process is removed first; any other file at the path is an
// error, never deleted.
func listenUnix(path string, sock config.Socket) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := permitSocket(path, sock); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return ln, nil
}

// permitSocket applies serve.*.socket: mode (default 0755), and owner and
// group (names or numeric ids) when set.
func permitSocket(path string, sock config.Socket) error {
	mode := sock.Mode
	if mode == 0 {
		mode = 0o755
	}
	if err := os.Chmod(path, fs.FileMode(mode)&fs.ModePerm); err != nil {
		return fmt.Errorf("socket mode: %w", err)
	}
	if sock.Owner == "" && sock.Group == "" {
		return nil
	}
	uid, gid := -1, -1
	if sock.Owner != "" {
		u, err := user.Lookup(sock.Owner)
		if err != nil {
			if u, err = user.LookupId(sock.Owner); err != nil {
				return fmt.Errorf("socket owner %q: %w", sock.Owner, err)
			}
		}
		if uid, err = strconv.Atoi(u.Uid); err != nil {
			return fmt.Errorf("socket owner %q: %w", sock.Owner, err)
		}
	}
	if sock.Group != "" {
		g, err := user.LookupGroup(sock.Group)
		if err != nil {
			if g, err = user.LookupGroupId(sock.Group); err != nil {
				return fmt.Errorf("socket group %q: %w", sock.Group, err)
			}
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return fmt.Errorf("socket group %q: %w", sock.Group, err)
		}
	}
	if err := os.Lchown(path, uid, gid); err != nil {
		return fmt.Errorf("socket owner and group: %w", err)
	}
	return nil
}
