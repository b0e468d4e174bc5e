package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestAdminAPIKeys(t *testing.T) {
	hashedKey := "correct horse battery staple"
	sum := sha256.Sum256([]byte(hashedKey))
	hashed := "sha256:" + hex.EncodeToString(sum[:])
	if HashAPIKey(hashedKey) != hashed {
		t.Fatalf("HashAPIKey = %s, want %s", HashAPIKey(hashedKey), hashed)
	}
	const plainKey = "plain-admin-key-4711"

	c := mustLoadYAML(t, true, noEnv, fmt.Sprintf("serve:\n  admin:\n    api_keys:\n      - %s\n      - %s\n", hashed, plainKey))
	if len(c.Serve.Admin.APIKeyHashes) != 2 {
		t.Fatalf("want 2 hashes, got %d", len(c.Serve.Admin.APIKeyHashes))
	}
	for _, key := range []string{hashedKey, plainKey} {
		if !c.AdminAPIKeyValid(key) {
			t.Errorf("%q should be valid", key)
		}
	}
	for _, key := range []string{"", "wrong", hashed, plainKey + " ", strings.ToUpper(plainKey)} {
		if c.AdminAPIKeyValid(key) {
			t.Errorf("%q should not be valid", key)
		}
	}

	// The plaintext key is warned about (without repeating it) and not kept.
	var warned bool
	for _, w := range c.Warnings() {
		if strings.HasPrefix(w, "serve.admin.api_keys[1]:") {
			warned = true
		}
		if strings.Contains(w, plainKey) {
			t.Errorf("warning repeats the key: %q", w)
		}
	}
	if !warned {
		t.Errorf("a plaintext key should be warned about: %q", c.Warnings())
	}
	if strings.Contains(fmt.Sprintf("%+v", *c), plainKey) {
		t.Error("the plaintext key must not be kept in the Config")
	}
	for _, w := range c.Warnings() {
		if strings.HasPrefix(w, "serve.admin.api_keys[0]") {
			t.Errorf("a hashed key should not be warned about: %q", w)
		}
	}
}

func TestAdminAPIKeysNoneConfigured(t *testing.T) {
	c := mustLoadYAML(t, true, noEnv)
	if len(c.Serve.Admin.APIKeyHashes) != 0 || c.AdminAPIKeyValid("anything") {
		t.Error("with no keys configured no key is valid")
	}
}

func TestAdminAPIKeysFromEnv(t *testing.T) {
	for _, value := range []string{
		"key-one-abcdef," + HashAPIKey("key-two-abcdef"),
		`["key-one-abcdef", "` + HashAPIKey("key-two-abcdef") + `"]`,
	} {
		c := mustLoadYAML(t, true, env(map[string]string{"SERVE_ADMIN_API_KEYS": value}))
		if !c.AdminAPIKeyValid("key-one-abcdef") || !c.AdminAPIKeyValid("key-two-abcdef") || len(c.Serve.Admin.APIKeyHashes) != 2 {
			t.Errorf("SERVE_ADMIN_API_KEYS=%s: keys not loaded", value)
		}
	}
}

func TestAdminAPIKeysInvalid(t *testing.T) {
	for _, entry := range []string{"sha256:xyz", "sha256:" + strings.Repeat("a", 63), "sha256:" + strings.Repeat("a", 66)} {
		_, err := loadYAML(t, true, noEnv, "serve:\n  admin:\n    api_keys: ['"+entry+"']\n")
		wantErr(t, err, `config: serve.admin.api_keys[0]: must be "sha256:" followed by 64 hexadecimal digits`, "(from document 1)")
	}
	_, err := loadYAML(t, true, noEnv, "serve:\n  admin:\n    api_keys: ['']\n")
	wantErr(t, err, "serve.admin.api_keys[0]: must not be empty")
}
