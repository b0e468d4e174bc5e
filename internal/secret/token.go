// Package secret makes and keys the random tokens Hoplite hands out
// (session, logout and link tokens): CSPRNG generation and the keyed hashes
// they are stored under.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

const alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomToken returns n characters drawn uniformly from [A-Za-z0-9] with a
// CSPRNG (rejection sampling, no modulo bias). 32 characters carry 190.5
// bits of entropy, the length Kratos uses for session tokens.
func RandomToken(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		for _, b := range buf {
			// 248 = 4*62: bytes at or above it would bias the result.
			if b < 248 {
				out = append(out, alphanumeric[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// TokenLength is the length of session and logout tokens.
const TokenLength = 32

// TokenHasher computes the keyed hashes under which tokens are stored, so a
// copy of the database alone cannot be replayed as sessions. Keys come from
// secrets.default; the first hashes new tokens and every key is tried on
// lookup, so secrets can rotate without logging everybody out.
type TokenHasher struct {
	keys  [][]byte
	pools []*sync.Pool
}

// NewTokenHasher derives one HMAC key per secret, separated by purpose so
// the same secret never keys two different things.
func NewTokenHasher(purpose string, secrets []string) *TokenHasher {
	h := &TokenHasher{}
	for _, s := range secrets {
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte("hoplite/" + purpose + "/v1"))
		key := m.Sum(nil)
		h.keys = append(h.keys, key)
		h.pools = append(h.pools, &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }})
	}
	return h
}

// Hash returns the hex keyed hash of token under the current key.
func (h *TokenHasher) Hash(token string) string { return h.hashWith(0, token) }

// Candidates returns the token's hash under every key, current first.
func (h *TokenHasher) Candidates(token string) []string {
	out := make([]string, len(h.keys))
	for k := range h.keys {
		out[k] = h.hashWith(k, token)
	}
	return out
}

// Len is the number of keys (secrets).
func (h *TokenHasher) Len() int { return len(h.keys) }

// HashWith hashes token under the k-th key.
func (h *TokenHasher) HashWith(k int, token string) string { return h.hashWith(k, token) }

func (h *TokenHasher) hashWith(k int, token string) string {
	m := h.pools[k].Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(token))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0]))
	h.pools[k].Put(m)
	return out
}

// Alphanumeric maps 64 hex digits onto 32 alphanumerics (two digits, 256 values,
// per character; the slight bias of 256 mod 62 does not matter for a MAC).
func Alphanumeric(hexDigits string) string {
	out := make([]byte, 0, TokenLength)
	for k := 0; k+1 < len(hexDigits) && len(out) < TokenLength; k += 2 {
		v := hexVal(hexDigits[k])<<4 | hexVal(hexDigits[k+1])
		out = append(out, alphanumeric[int(v)%62])
	}
	return string(out)
}

func hexVal(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
