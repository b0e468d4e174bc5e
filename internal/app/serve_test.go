package app_test

// Serving details: TLS with certificates reloaded when their files change,
// and unix-socket listeners.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// selfSigned returns a PEM certificate for 127.0.0.1 named cn, and its key.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// replaceFile writes data next to path and renames it over path, as
// certificate renewal tools do.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// servedName connects with a fresh connection and returns the common name
// of the certificate served, after checking that the request is answered.
func servedName(t *testing.T, url string, cfg *tls.Config) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if res.TLS == nil || len(res.TLS.PeerCertificates) == 0 {
		t.Fatalf("GET %s: not TLS", url)
	}
	return res.TLS.PeerCertificates[0].Subject.CommonName
}

func TestTLSOnBothPortsAndReloadWhenFilesChange(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cert, key := selfSigned(t, "first")
	replaceFile(t, certPath, cert)
	replaceFile(t, keyPath, key)
	adminCert, adminKey := selfSigned(t, "admin")

	s := testutil.StartServer(t, testutil.Options{Config: `
serve:
  public:
    tls:
      cert: {path: ` + certPath + `}
      key: {path: ` + keyPath + `}
  admin:
    tls:
      cert: {base64: ` + base64.StdEncoding.EncodeToString(adminCert) + `}
      key: {base64: ` + base64.StdEncoding.EncodeToString(adminKey) + `}
`})
	public := "https://" + s.PublicURL[len("http://"):] + "health/alive"
	admin := "https://" + s.AdminURL[len("http://"):] + "admin/health/alive"

	trust := func(pems ...[]byte) *tls.Config {
		pool := x509.NewCertPool()
		for _, p := range pems {
			pool.AppendCertsFromPEM(p)
		}
		return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if got := servedName(t, public, trust(cert)); got != "first" {
		t.Fatalf("public port serves %q", got)
	}
	if got := servedName(t, admin, trust(adminCert)); got != "admin" {
		t.Fatalf("admin port serves %q", got)
	}

	// TLS 1.1 and older are refused.
	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}}
	if res, err := old.Get(public); err == nil {
		res.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}

	// Renew: the next connection gets the new certificate, no restart.
	cert2, key2 := selfSigned(t, "second")
	replaceFile(t, certPath, cert2)
	replaceFile(t, keyPath, key2)
	if got := servedName(t, public, trust(cert2)); got != "second" {
		t.Fatalf("after replacing the files the public port serves %q", got)
	}

	// A half-finished renewal (certificate replaced, key not yet) keeps the
	// pair in use, and completing it switches.
	cert3, key3 := selfSigned(t, "third")
	replaceFile(t, certPath, cert3)
	if got := servedName(t, public, trust(cert2)); got != "second" {
		t.Fatalf("with a mismatched pair on disk the public port serves %q", got)
	}
	replaceFile(t, keyPath, key3)
	if got := servedName(t, public, trust(cert3)); got != "third" {
		t.Fatalf("after the key was replaced too the public port serves %q", got)
	}
}

func TestTLSConfigurationErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"key missing", "serve:\n  public:\n    tls:\n      cert: {path: /x.crt}\n", "serve.public.tls.key: is required"},
		{"both forms", "serve:\n  admin:\n    tls:\n      cert: {path: /x.crt, base64: eA==}\n      key: {path: /x.key}\n", "serve.admin.tls.cert: set either path or base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.LoadBytes([][]byte{[]byte("dsn: memory\n" + tc.yaml)}, func(string) (string, bool) { return "", false }, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
		})
	}
}

func TestUnixSocketListeners(t *testing.T) {
	dir := t.TempDir()
	pub, adm := filepath.Join(dir, "public.sock"), filepath.Join(dir, "admin.sock")
	cfg, err := config.LoadBytes([][]byte{[]byte(`
dsn: ` + testutil.NewSQLiteDSN(t) + `
serve:
  public:
    host: unix:` + pub + `
    base_url: http://127.0.0.1:4433/
    socket:
      mode: 0600
  admin:
    host: unix:` + adm + `
    base_url: http://127.0.0.1:4434/
secrets:
  default: [a-test-secret-of-enough-length]
hashers:
  bcrypt: {cost: 4}
`)}, func(string) (string, bool) { return "", false }, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil, app.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	publicLn, adminLn, err := app.Listen(cfg)
	if err != nil {
		_ = a.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, publicLn, adminLn) }()

	for _, c := range []struct {
		sock, path string
		mode       fs.FileMode
	}{{pub, "/health/alive", 0o600}, {adm, "/admin/health/alive", 0o755}} {
		fi, err := os.Stat(c.sock)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != c.mode {
			t.Errorf("%s: mode %v, want a socket with %v", c.sock, fi.Mode(), c.mode)
		}
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", c.sock)
			},
		}}
		res, err := client.Get("http://unix" + c.path)
		if err != nil {
			t.Fatalf("%s over %s: %v", c.path, c.sock, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
			t.Errorf("%s over %s: %d %s", c.path, c.sock, res.StatusCode, body)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The sockets are removed at shutdown, and a socket left behind by a
	// crashed process does not stop the next start.
	for _, p := range []string{pub, adm} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still exists after shutdown: %v", p, err)
		}
	}
	stale, err := net.Listen("unix", pub)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	p2, a2, err := app.Listen(cfg)
	if err != nil {
		t.Fatalf("a stale socket file must not stop the start: %v", err)
	}
	p2.Close()
	a2.Close()
}
