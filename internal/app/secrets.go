package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/hoplite-id/hoplite/internal/config"
)

// ensureSecrets makes sure session tokens have a key. Any configured secret
// will do (see config.SessionSecrets for the order). With none, dev mode
// generates one, kept next to a SQLite database file so sessions survive
// restarts; outside dev mode Hoplite refuses to start, because a key made up
// per process ends every session at each restart and makes the sessions of
// one instance unknown to the others.
func ensureSecrets(cfg *config.Config, logger *slog.Logger) error {
	if len(cfg.SessionSecrets()) > 0 {
		return nil
	}
	if !cfg.Dev {
		return errors.New("no secret is configured: set secrets.default (or secrets.cookie or secrets.cipher) to at least one random string of 16 or more characters. " +
			"Session tokens are stored as keyed hashes under it; a secret made up at start would end every session at each restart and would not be shared between instances")
	}
	if path := sqliteFilePath(cfg.DSN); path != "" {
		secrets, file, err := persistedSecrets(path)
		if err != nil {
			return fmt.Errorf("no secret is configured and the generated secrets could not be kept: %w", err)
		}
		cfg.Secrets.Default = secrets
		logger.Info("no secret is configured; using the secrets generated once and kept next to the database (dev mode)", "file", file)
		return nil
	}
	cfg.Secrets.Default = []string{newSecret()}
	logger.Warn("no secret is configured; a random secret was generated for this process (dev mode), so sessions will not survive a restart or work across instances")
	return nil
}

// secretsFile is the document kept next to a SQLite database when no
// secrets are configured, so that sessions survive restarts.
type secretsFile struct {
	Default []string `json:"default"`
}

// newSecret returns 32 random bytes as URL-safe base64 (43 characters).
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sqliteFilePath extracts the database file of a sqlite:// DSN ("" for any
// other DSN or an in-memory database).
func sqliteFilePath(dsn string) string {
	lower := strings.ToLower(dsn)
	if !strings.HasPrefix(lower, "sqlite://") && !strings.HasPrefix(lower, "sqlite3://") {
		return ""
	}
	p := dsn[strings.Index(dsn, "://")+3:]
	p, query, _ := strings.Cut(p, "?")
	if p == "" || p == ":memory:" || strings.Contains(query, "mode=memory") {
		return ""
	}
	return p
}

// persistedSecrets loads the secrets kept beside the database file, creating
// them (readable only by the owner) on first use.
func persistedSecrets(dbPath string) ([]string, string, error) {
	path := dbPath + ".secrets.json"
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var f secretsFile
		if err := json.Unmarshal(raw, &f); err != nil || len(f.Default) == 0 {
			return nil, path, fmt.Errorf("the secrets file %s is damaged; delete it to generate new secrets (existing sessions will end)", path)
		}
		return f.Default, path, nil
	case errors.Is(err, fs.ErrNotExist):
		f := secretsFile{Default: []string{newSecret()}}
		raw, _ := json.MarshalIndent(f, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, path, err
		}
		// Write a private temporary file, then hard-link it into place: the
		// link either creates the complete file or fails because another
		// process won the race, in which case its secrets are used.
		tmp, err := os.CreateTemp(filepath.Dir(path), ".hoplite-secrets-*")
		if err != nil {
			return nil, path, err
		}
		defer os.Remove(tmp.Name())
		if err := tmp.Chmod(0o600); err != nil {
			tmp.Close()
			return nil, path, err
		}
		if _, err := tmp.Write(raw); err != nil {
			tmp.Close()
			return nil, path, err
		}
		if err := tmp.Close(); err != nil {
			return nil, path, err
		}
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return persistedSecrets(dbPath)
			}
			return nil, path, err
		}
		return f.Default, path, nil
	default:
		return nil, path, err
	}
}
