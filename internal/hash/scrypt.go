package hash

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/scrypt"
)

type scryptHash struct {
	n, r, p   int
	salt, key []byte
}

// parseScrypt parses $scrypt$ln=<N>,r=<r>,p=<p>$<salt>$<key>.
//
// Kratos compatibility: despite the name borrowed from passlib (where "ln" is
// log2 of N), Ory Kratos passes the ln value to scrypt unchanged as the cost
// N, and its documentation and tests use e.g. ln=16384. Hoplite does the
// same, so ln must be a power of two greater than one. Kratos writes salt and
// key in padded standard base64; unpadded input is accepted as well.
func parseScrypt(s string) (*scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return nil, formatError("scrypt: expected 5 $-separated fields")
	}
	params, err := parseParams("scrypt", parts[2], "ln", "r", "p")
	if err != nil {
		return nil, err
	}
	n, r, p := params[0], params[1], params[2]
	switch {
	case n < 2 || n&(n-1) != 0:
		return nil, formatError("scrypt: N (ln) must be a power of two greater than 1")
	case r < 1 || p < 1:
		return nil, formatError("scrypt: r and p must be at least 1")
	// Divisions keep the products from overflowing.
	case r > maxScryptMemory/128 || n > maxScryptMemory/128/r:
		return nil, formatError("scrypt: memory use 128*N*r exceeds %d bytes", maxScryptMemory)
	case p > maxScryptWork || n*r > maxScryptWork/p:
		return nil, formatError("scrypt: N*r*p exceeds %d", maxScryptWork)
	}
	salt, key, err := decodeSaltAndKey("scrypt", parts[3], parts[4])
	if err != nil {
		return nil, err
	}
	return &scryptHash{n: int(n), r: int(r), p: int(p), salt: salt, key: key}, nil
}

func (h *scryptHash) verify(password []byte) error {
	key, err := scrypt.Key(password, h.salt, h.n, h.r, h.p, len(h.key))
	if err != nil {
		return fmt.Errorf("%w: scrypt: %v", ErrUnknownFormat, err)
	}
	return compareKeys(h.key, key)
}
