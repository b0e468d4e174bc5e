package cipher

import (
	"errors"
	"strings"
	"testing"
)

func TestAtRestEncryptsWithoutACipherKey(t *testing.T) {
	c, err := AtRest("noop", nil, []string{"a-default-secret-of-some-length"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt([]byte("otpauth://totp/x?secret=ABC"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(enc, "otpauth") {
		t.Fatalf("stored in the clear: %s", enc)
	}
	plain, err := c.Decrypt(enc)
	if err != nil || string(plain) != "otpauth://totp/x?secret=ABC" {
		t.Fatalf("round trip: %q %v", plain, err)
	}

	// Turning a cipher on later keeps the older values readable, and new
	// values use the configured cipher.
	key := strings.Repeat("k", 32)
	withCipher, err := AtRest("aes", []string{key}, []string{"a-default-secret-of-some-length"})
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := withCipher.Decrypt(enc); err != nil || string(plain) != "otpauth://totp/x?secret=ABC" {
		t.Errorf("older value after enabling aes: %q %v", plain, err)
	}
	enc2, _ := withCipher.Encrypt([]byte("v2"))
	configured, _ := New("aes", []string{key})
	if plain, err := configured.Decrypt(enc2); err != nil || string(plain) != "v2" {
		t.Errorf("new values should use the configured cipher: %q %v", plain, err)
	}

	// Another secret cannot read it.
	other, _ := AtRest("noop", nil, []string{"another-default-secret-entirely"})
	if _, err := other.Decrypt(enc); !errors.Is(err, ErrDecrypt) {
		t.Errorf("decrypted with the wrong secret: %v", err)
	}
}

func TestAtRestNeedsAKey(t *testing.T) {
	if _, err := AtRest("noop", nil, nil); err == nil {
		t.Fatal("no keys at all accepted")
	}
}
