// Package cipher encrypts the secrets Hoplite must be able to read back
// (TOTP keys, social sign-in tokens) with the keys in secrets.cipher, using
// the algorithm ciphers.algorithm names, in the hex format Kratos writes:
// aes is AES-256-GCM and xchacha20-poly1305 is XChaCha20-Poly1305, each as
// hex(nonce || sealed); noop stores plain text. The first key encrypts;
// every key decrypts, so keys can be rotated.
package cipher

import (
	"crypto/aes"
	gocipher "crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Cipher encrypts and decrypts short secrets.
type Cipher interface {
	Encrypt(plain []byte) (string, error)
	Decrypt(encoded string) ([]byte, error)
}

// ErrDecrypt means no key could open a value (wrong keys, or tampering).
var ErrDecrypt = errors.New("cipher: the value cannot be decrypted with any configured key")

// New returns the cipher for algorithm ("noop", "aes" or
// "xchacha20-poly1305"; "" means noop) with keys of exactly 32 bytes.
func New(algorithm string, keys []string) (Cipher, error) {
	switch algorithm {
	case "", "noop":
		return noop{}, nil
	case "aes", "xchacha20-poly1305":
	default:
		return nil, fmt.Errorf("cipher: unknown algorithm %q", algorithm)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("cipher: %s needs at least one key in secrets.cipher", algorithm)
	}
	var aeads []gocipher.AEAD
	for k, key := range keys {
		if len(key) != 32 {
			return nil, fmt.Errorf("cipher: secrets.cipher[%d] must be exactly 32 characters long", k)
		}
		var a gocipher.AEAD
		var err error
		if algorithm == "aes" {
			var block gocipher.Block
			if block, err = aes.NewCipher([]byte(key)); err == nil {
				a, err = gocipher.NewGCM(block)
			}
		} else {
			a, err = chacha20poly1305.NewX([]byte(key))
		}
		if err != nil {
			return nil, err
		}
		aeads = append(aeads, a)
	}
	return &aead{keys: aeads}, nil
}

type noop struct{}

func (noop) Encrypt(plain []byte) (string, error)   { return string(plain), nil }
func (noop) Decrypt(encoded string) ([]byte, error) { return []byte(encoded), nil }

type aead struct{ keys []gocipher.AEAD }

func (c *aead) Encrypt(plain []byte) (string, error) {
	a := c.keys[0]
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return hex.EncodeToString(a.Seal(nonce, nonce, plain, nil)), nil
}

func (c *aead) Decrypt(encoded string) ([]byte, error) {
	raw, err := hex.DecodeString(encoded)
	if err != nil {
		return nil, ErrDecrypt
	}
	for _, a := range c.keys {
		if len(raw) < a.NonceSize()+a.Overhead() {
			continue
		}
		if plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil); err == nil {
			return plain, nil
		}
	}
	return nil, ErrDecrypt
}
