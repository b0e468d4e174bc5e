package cipher

import (
	"strings"
	"testing"
)

const (
	key1 = "0123456789abcdef0123456789abcdef"
	key2 = "fedcba9876543210fedcba9876543210"
)

func TestRoundTripAndRotation(t *testing.T) {
	for _, alg := range []string{"aes", "xchacha20-poly1305"} {
		old, err := New(alg, []string{key1})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := old.Encrypt([]byte("otpauth://totp/x?secret=ABC"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(enc, "otpauth") {
			t.Fatalf("%s: plain text visible in %q", alg, enc)
		}
		again, _ := old.Encrypt([]byte("otpauth://totp/x?secret=ABC"))
		if again == enc {
			t.Errorf("%s: two encryptions are equal (nonce reuse)", alg)
		}
		rotated, _ := New(alg, []string{key2, key1})
		got, err := rotated.Decrypt(enc)
		if err != nil || string(got) != "otpauth://totp/x?secret=ABC" {
			t.Errorf("%s: decrypt after rotation: %q %v", alg, got, err)
		}
		other, _ := New(alg, []string{key2})
		if _, err := other.Decrypt(enc); err != ErrDecrypt {
			t.Errorf("%s: wrong key: %v", alg, err)
		}
		tampered := enc[:len(enc)-2] + "00"
		if tampered != enc {
			if _, err := old.Decrypt(tampered); err != ErrDecrypt {
				t.Errorf("%s: tampered value: %v", alg, err)
			}
		}
		for _, bad := range []string{"", "zz", "00"} {
			if _, err := old.Decrypt(bad); err != ErrDecrypt {
				t.Errorf("%s: Decrypt(%q) = %v", alg, bad, err)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New("aes", nil); err == nil {
		t.Error("aes without keys")
	}
	if _, err := New("aes", []string{"short"}); err == nil {
		t.Error("short key")
	}
	if _, err := New("rot13", []string{key1}); err == nil {
		t.Error("unknown algorithm")
	}
	c, err := New("noop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if enc, _ := c.Encrypt([]byte("x")); enc != "x" {
		t.Errorf("noop %q", enc)
	}
}
