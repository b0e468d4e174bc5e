package hash

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the bcrypt cost used in production.
const DefaultBcryptCost = 12

// bcryptMaxPasswordLength is the number of password bytes bcrypt uses.
const bcryptMaxPasswordLength = 72

// BcryptConfig configures [Bcrypt].
type BcryptConfig struct {
	// Cost is the bcrypt cost (log2 of the number of rounds). Zero means
	// [DefaultBcryptCost].
	Cost int
}

// Validate reports whether the configuration can be used to generate hashes
// that [Compare] accepts.
func (c BcryptConfig) Validate() error {
	if c.Cost < bcrypt.MinCost || c.Cost > maxBcryptCost {
		return fmt.Errorf("hash: bcrypt cost must be between %d and %d, got %d", bcrypt.MinCost, maxBcryptCost, c.Cost)
	}
	return nil
}

// Bcrypt is a [Hasher] producing $2a$ bcrypt hashes.
type Bcrypt struct {
	cfg BcryptConfig
}

var _ Hasher = (*Bcrypt)(nil)

// NewBcrypt returns a bcrypt hasher. A zero cost is replaced by
// [DefaultBcryptCost]; an invalid cost makes Generate fail.
func NewBcrypt(cfg BcryptConfig) *Bcrypt {
	if cfg.Cost == 0 {
		cfg.Cost = DefaultBcryptCost
	}
	return &Bcrypt{cfg: cfg}
}

// Generate hashes password. Passwords over 72 bytes are refused with
// [ErrPasswordTooLong].
func (b *Bcrypt) Generate(ctx context.Context, password []byte) ([]byte, error) {
	if err := b.cfg.Validate(); err != nil {
		return nil, err
	}
	if len(password) > bcryptMaxPasswordLength {
		return nil, ErrPasswordTooLong
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return bcrypt.GenerateFromPassword(password, b.cfg.Cost)
}

// Understands reports whether hash is a bcrypt hash (any accepted prefix)
// with the configured cost.
func (b *Bcrypt) Understands(hash []byte) bool {
	h, err := parseBcrypt(string(hash))
	return err == nil && h.cost == b.cfg.Cost
}

type bcryptHash struct {
	// normalized is the hash rewritten with the $2a$ prefix.
	normalized []byte
	cost       int
}

// bcryptPrefixes lists the accepted bcrypt version prefixes (the same set
// Kratos accepts). The variants differ only in how historic implementations
// handled corner cases (8-bit characters, very long passwords); all are
// verified with the current algorithm of golang.org/x/crypto/bcrypt, as in
// Kratos. The original "$2$" specification left the handling of the NUL
// terminator and of non-ASCII input open, so a "$2$" hash from an
// implementation that differs from "$2a$" there will not verify (nor would
// it in Kratos). "$2x$" (the buggy pre-2011 crypt_blowfish) is rejected.
var bcryptPrefixes = []string{"$2a$", "$2b$", "$2y$", "$2z$", "$2$"}

// bcryptAlphabet is bcrypt's base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func parseBcrypt(s string) (*bcryptHash, error) {
	rest, ok := "", false
	for _, p := range bcryptPrefixes {
		if strings.HasPrefix(s, p) {
			rest, ok = s[len(p):], true
			break
		}
	}
	if !ok {
		return nil, formatError("bcrypt: unsupported version prefix")
	}
	// rest is "<2-digit cost>$<22 salt chars><31 hash chars>".
	if len(rest) != 2+1+22+31 || rest[2] != '$' {
		return nil, formatError("bcrypt: wrong length")
	}
	if rest[0] < '0' || rest[0] > '9' || rest[1] < '0' || rest[1] > '9' {
		return nil, formatError("bcrypt: cost is not a number")
	}
	cost := int(rest[0]-'0')*10 + int(rest[1]-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return nil, formatError("bcrypt: cost must be between %d and %d", bcrypt.MinCost, maxBcryptCost)
	}
	for i := 3; i < len(rest); i++ {
		if strings.IndexByte(bcryptAlphabet, rest[i]) < 0 {
			return nil, formatError("bcrypt: invalid character in salt or hash")
		}
	}
	return &bcryptHash{normalized: []byte("$2a$" + rest), cost: cost}, nil
}

func (h *bcryptHash) verify(password []byte) error {
	if len(password) > bcryptMaxPasswordLength {
		return ErrPasswordTooLong
	}
	err := bcrypt.CompareHashAndPassword(h.normalized, password)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	default:
		return fmt.Errorf("%w: bcrypt: %v", ErrUnknownFormat, err)
	}
}
