package hash

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Config configures [Argon2].
type Argon2Config struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Iterations is the time cost (number of passes over the memory).
	Iterations uint32
	// Parallelism is the number of lanes.
	Parallelism uint8
	// SaltLength is the length of the random salt in bytes.
	SaltLength uint32
	// KeyLength is the length of the derived key in bytes.
	KeyLength uint32
}

// DefaultArgon2Config returns the production defaults, which are those of
// Ory Kratos: 128 MiB of memory, one iteration, two lanes per CPU (at most
// 255), a 16 byte salt and a 32 byte key.
func DefaultArgon2Config() Argon2Config {
	return Argon2Config{
		Memory:      128 * 1024,
		Iterations:  1,
		Parallelism: uint8(min(2*runtime.NumCPU(), 255)),
		SaltLength:  16,
		KeyLength:   32,
	}
}

// Validate reports whether the configuration can be used to generate hashes
// that [Compare] accepts.
func (c Argon2Config) Validate() error {
	switch {
	case c.Parallelism < 1:
		return fmt.Errorf("hash: argon2 parallelism must be at least 1")
	case c.Iterations < 1 || c.Iterations > maxArgon2Iterations:
		return fmt.Errorf("hash: argon2 iterations must be between 1 and %d, got %d", maxArgon2Iterations, c.Iterations)
	case c.Memory < 8*uint32(c.Parallelism) || c.Memory > maxArgon2Memory:
		return fmt.Errorf("hash: argon2 memory must be between 8*parallelism (%d) and %d KiB, got %d",
			8*uint32(c.Parallelism), maxArgon2Memory, c.Memory)
	case uint64(c.Memory)*uint64(c.Iterations) > maxArgon2Work:
		return fmt.Errorf("hash: argon2 memory times iterations must not exceed %d KiB", maxArgon2Work)
	case c.SaltLength < 8 || c.SaltLength > maxSaltLength:
		return fmt.Errorf("hash: argon2 salt length must be between 8 and %d bytes, got %d", maxSaltLength, c.SaltLength)
	case c.KeyLength < minKeyLength || c.KeyLength > maxKeyLength:
		return fmt.Errorf("hash: argon2 key length must be between %d and %d bytes, got %d", minKeyLength, maxKeyLength, c.KeyLength)
	}
	return nil
}

// Argon2 is a [Hasher] producing argon2id hashes in the PHC string format.
type Argon2 struct {
	cfg Argon2Config
}

var _ Hasher = (*Argon2)(nil)

// NewArgon2 returns an argon2id hasher. Zero fields of cfg are replaced by
// the corresponding [DefaultArgon2Config] values; an invalid configuration
// makes Generate fail.
func NewArgon2(cfg Argon2Config) *Argon2 {
	def := DefaultArgon2Config()
	if cfg.Memory == 0 {
		cfg.Memory = def.Memory
	}
	if cfg.Iterations == 0 {
		cfg.Iterations = def.Iterations
	}
	if cfg.Parallelism == 0 {
		cfg.Parallelism = def.Parallelism
	}
	if cfg.SaltLength == 0 {
		cfg.SaltLength = def.SaltLength
	}
	if cfg.KeyLength == 0 {
		cfg.KeyLength = def.KeyLength
	}
	return &Argon2{cfg: cfg}
}

// Config returns the effective configuration.
func (a *Argon2) Config() Argon2Config { return a.cfg }

// Generate hashes password with argon2id.
func (a *Argon2) Generate(ctx context.Context, password []byte) ([]byte, error) {
	if err := a.cfg.Validate(); err != nil {
		return nil, err
	}
	salt := make([]byte, a.cfg.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := argon2.IDKey(password, salt, a.cfg.Iterations, a.cfg.Memory, a.cfg.Parallelism, a.cfg.KeyLength)
	return fmt.Appendf(nil, "$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, a.cfg.Memory, a.cfg.Iterations, a.cfg.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// Understands reports whether hash is an argon2id hash with the configured
// memory, iterations, parallelism and key length.
func (a *Argon2) Understands(hash []byte) bool {
	h, err := parseArgon2(string(hash))
	return err == nil &&
		h.id &&
		h.memory == a.cfg.Memory &&
		h.iterations == a.cfg.Iterations &&
		h.parallelism == a.cfg.Parallelism &&
		uint32(len(h.key)) == a.cfg.KeyLength
}

type argon2Hash struct {
	id          bool // argon2id if true, argon2i otherwise
	memory      uint32
	iterations  uint32
	parallelism uint8
	salt, key   []byte
}

// parseArgon2 parses $argon2id$v=19$m=<KiB>,t=<n>,p=<n>$<salt>$<key> and the
// same with $argon2i$. Only version 19 (0x13) exists in x/crypto and is
// accepted, as in Kratos.
func parseArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return nil, formatError("argon2: expected 6 $-separated fields")
	}
	h := &argon2Hash{}
	switch parts[1] {
	case "argon2id":
		h.id = true
	case "argon2i":
	default:
		return nil, formatError("argon2: unsupported variant")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return nil, formatError("argon2: unsupported version")
	}
	params, err := parseParams("argon2", parts[3], "m", "t", "p")
	if err != nil {
		return nil, err
	}
	m, t, p := params[0], params[1], params[2]
	switch {
	case p < 1 || p > 255:
		return nil, formatError("argon2: parallelism must be between 1 and 255")
	case t < 1 || t > maxArgon2Iterations:
		return nil, formatError("argon2: iterations must be between 1 and %d", maxArgon2Iterations)
	case m < 8*p || m > maxArgon2Memory:
		return nil, formatError("argon2: memory must be between 8*parallelism and %d KiB", maxArgon2Memory)
	case m*t > maxArgon2Work:
		return nil, formatError("argon2: memory times iterations exceeds %d KiB", maxArgon2Work)
	}
	h.memory, h.iterations, h.parallelism = uint32(m), uint32(t), uint8(p)
	h.salt, h.key, err = decodeSaltAndKey("argon2", parts[4], parts[5])
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (h *argon2Hash) verify(password []byte) error {
	derive := argon2.Key
	if h.id {
		derive = argon2.IDKey
	}
	key := derive(password, h.salt, h.iterations, h.memory, h.parallelism, uint32(len(h.key)))
	return compareKeys(h.key, key)
}

// compareKeys compares two derived keys in constant time.
func compareKeys(want, got []byte) error {
	if subtle.ConstantTimeCompare(want, got) == 1 {
		return nil
	}
	return ErrMismatch
}
