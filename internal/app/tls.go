package app

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hoplite-id/hoplite/internal/config"
)

// listenerTLS loads serve.public.tls and serve.admin.tls (nil when unset).
func listenerTLS(cfg *config.Config, logger *slog.Logger) (public, admin *tls.Config, err error) {
	if cfg.Serve.Public.TLS.Enabled() {
		if public, err = tlsConfig("serve.public.tls", cfg.Serve.Public.TLS, logger); err != nil {
			return nil, nil, err
		}
	}
	if cfg.Serve.Admin.TLS.Enabled() {
		if admin, err = tlsConfig("serve.admin.tls", cfg.Serve.Admin.TLS, logger); err != nil {
			return nil, nil, err
		}
	}
	return public, admin, nil
}

// tlsConfig builds the TLS settings of one listener (TLS 1.2 at least).
// Certificates given by path are read again when either file changes, so a
// renewed certificate is served without a restart: every handshake compares
// the files' modification times and sizes (two stat calls, negligible next
// to a handshake).
func tlsConfig(key string, t config.TLS, logger *slog.Logger) (*tls.Config, error) {
	c := &certificate{cert: t.Cert, key: t.Key, what: key, logger: logger}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.get,
		NextProtos:     []string{"h2", "http/1.1"},
	}, nil
}

type certificate struct {
	cert, key config.TLSSource
	what      string
	logger    *slog.Logger

	mu      sync.Mutex
	current *tls.Certificate
	stamp   string // modification times and sizes of the files loaded
}

// fileStamp describes the files behind the sources ("" for base64 ones).
func (c *certificate) fileStamp() (string, error) {
	var b strings.Builder
	for _, s := range []config.TLSSource{c.cert, c.key} {
		if s.Path == "" {
			continue
		}
		fi, err := os.Stat(s.Path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return b.String(), nil
}

func read(s config.TLSSource) ([]byte, error) {
	if s.Path != "" {
		return os.ReadFile(s.Path)
	}
	if s.Base64 == "" {
		return nil, errors.New("neither path nor base64 is set")
	}
	return base64.StdEncoding.DecodeString(strings.TrimSpace(s.Base64))
}

func (c *certificate) load() error {
	stamp, err := c.fileStamp()
	if err != nil {
		return err
	}
	certPEM, err := read(c.cert)
	if err != nil {
		return fmt.Errorf("reading the certificate: %w", err)
	}
	keyPEM, err := read(c.key)
	if err != nil {
		return fmt.Errorf("reading the key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	c.current, c.stamp = &pair, stamp
	return nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert.Path == "" && c.key.Path == "" {
		return c.current, nil
	}
	stamp, err := c.fileStamp()
	if err != nil || stamp == c.stamp {
		// A file missing for a moment (replaced by rename) keeps the
		// certificate in use.
		return c.current, nil
	}
	if err := c.load(); err != nil {
		// Typically the certificate was replaced and the key not yet: keep
		// serving the old pair, and try again when the files change again.
		c.stamp = stamp
		c.logger.Warn("the TLS certificate files changed but cannot be loaded; still serving the previous certificate", "key", c.what, "error", err)
		return c.current, nil
	}
	c.logger.Info("reloaded the TLS certificate", "key", c.what, "not_after", c.current.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return c.current, nil
}
