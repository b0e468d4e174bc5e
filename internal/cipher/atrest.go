package cipher

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
)

// AtRest returns the cipher for secrets Hoplite keeps itself and must read
// back (TOTP keys, queued link mails): the configured one (ciphers.algorithm with
// secrets.cipher) when it encrypts, else AES-256-GCM under keys derived
// from fallbackSecrets (the session secrets), so such secrets are never stored
// in the clear even where a Kratos configuration leaves ciphers.algorithm at
// noop. Values written under either are read back under both, so turning
// the configured cipher on later keeps older values readable.
func AtRest(algorithm string, cipherKeys, fallbackSecrets []string) (Cipher, error) {
	var chain []Cipher
	if algorithm == "aes" || algorithm == "xchacha20-poly1305" {
		c, err := New(algorithm, cipherKeys)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	if len(fallbackSecrets) > 0 {
		var derived []string
		for _, s := range fallbackSecrets {
			m := hmac.New(sha256.New, []byte(s))
			m.Write([]byte("hoplite/cipher-at-rest/v1"))
			derived = append(derived, string(m.Sum(nil)))
		}
		c, err := New("aes", derived)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("cipher: no keys to encrypt secrets at rest (set secrets.cipher or secrets.default)")
	}
	return fallback(chain), nil
}

// fallback encrypts with its first cipher and decrypts with the first that
// can.
type fallback []Cipher

func (f fallback) Encrypt(plain []byte) (string, error) { return f[0].Encrypt(plain) }

func (f fallback) Decrypt(encoded string) ([]byte, error) {
	for _, c := range f {
		if plain, err := c.Decrypt(encoded); err == nil {
			return plain, nil
		}
	}
	return nil, ErrDecrypt
}
