package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// serve.admin.api_keys (a Hoplite addition) lists the keys that may call the
// admin API. Each entry is either the SHA-256 of a key written as
// "sha256:<64 hex digits>" (preferred: the configuration then holds no
// secret; HashAPIKey computes it) or the key itself, which is accepted, hashed
// at load and reported by Warnings. Only hashes are kept.

const apiKeyHashPrefix = "sha256:"

// HashAPIKey returns the form of key to put in serve.admin.api_keys:
// "sha256:" followed by the hex SHA-256 of key.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return apiKeyHashPrefix + hex.EncodeToString(sum[:])
}

// parseAPIKey returns the hash an entry of serve.admin.api_keys stands for
// and whether the entry was a plaintext key.
func parseAPIKey(entry string) (hash [32]byte, plaintext bool, err error) {
	if rest, ok := strings.CutPrefix(entry, apiKeyHashPrefix); ok {
		b, err := hex.DecodeString(rest)
		if err != nil || len(b) != sha256.Size {
			return hash, false, errors.New(`must be "sha256:" followed by 64 hexadecimal digits, or a plaintext key`)
		}
		copy(hash[:], b)
		return hash, false, nil
	}
	if entry == "" {
		return hash, false, errors.New("must not be empty")
	}
	return sha256.Sum256([]byte(entry)), true, nil
}

// AdminAPIKeyValid reports whether key is one of the configured admin API
// keys. It hashes key and compares the hash with every configured hash in
// constant time, so neither the position of a match nor a common prefix is
// revealed by timing. An empty key is never valid.
func (c *Config) AdminAPIKeyValid(key string) bool {
	if key == "" {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for i := range c.Serve.Admin.APIKeyHashes {
		match |= subtle.ConstantTimeCompare(sum[:], c.Serve.Admin.APIKeyHashes[i][:])
	}
	return match == 1
}
