// Package hash creates password hashes and verifies passwords against stored
// or imported hashes.
//
// New hashes are produced by a [Hasher] (bcrypt or argon2id). [Compare]
// verifies a password against any supported encoding, which covers the
// formats accepted by the Ory Kratos identity import API:
//
//	bcrypt    $2a$, $2b$, $2y$, $2z$ and $2$ followed by the usual cost, salt and digest
//	argon2id  $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>
//	argon2i   $argon2i$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>
//	pbkdf2    $pbkdf2-<sha1|sha224|sha256|sha384|sha512>$i=<iterations>,l=<key length>$<salt>$<key>
//	scrypt    $scrypt$ln=<N>,r=<block size>,p=<parallelism>$<salt>$<key>
//
// Salts and keys use the standard base64 alphabet, with or without padding.
//
// Imported hashes are untrusted input: a hash with absurd parameters could
// otherwise make a single login allocate gigabytes of memory or spin for
// hours. Parsing therefore enforces upper bounds on every cost parameter
// (see the limits below); hashes beyond them are reported as
// [ErrUnknownFormat]. The bounds are generous compared to every published
// recommendation, so realistic hashes are unaffected.
package hash

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrMismatch is returned by [Compare] when the password does not match
	// the hash.
	ErrMismatch = errors.New("hash: password does not match the hash")

	// ErrUnknownFormat is returned (possibly wrapped, test with errors.Is) for
	// hashes that are not in a supported format, are malformed, or use
	// parameters outside the accepted limits.
	ErrUnknownFormat = errors.New("hash: unknown or malformed password hash")

	// ErrPasswordTooLong is returned when a password is longer than the 72
	// bytes bcrypt can take into account. [Bcrypt.Generate] refuses such
	// passwords, and [Compare] refuses them for bcrypt hashes instead of
	// silently ignoring everything after the 72nd byte.
	ErrPasswordTooLong = errors.New("hash: password is longer than the 72 bytes bcrypt supports")
)

// Hasher creates new password hashes with one configured algorithm.
type Hasher interface {
	// Generate hashes password with a fresh random salt.
	Generate(ctx context.Context, password []byte) ([]byte, error)
	// Understands reports whether hash was produced by this hasher with its
	// current parameters. It is used after a successful login to decide
	// whether the stored hash should be replaced by a fresh one.
	Understands(hash []byte) bool
}

// Limits applied to hashes that are parsed (imported or stored). They bound
// the CPU time and memory a single verification may use.
const (
	// maxEncodedLength bounds the whole encoded hash.
	maxEncodedLength = 4096
	// maxSaltLength bounds decoded salts, in bytes.
	maxSaltLength = 1024
	// minKeyLength and maxKeyLength bound decoded derived keys, in bytes. A
	// lower bound matters: an empty key would match every password.
	minKeyLength = 16
	maxKeyLength = 1024

	// maxBcryptCost is the largest bcrypt cost accepted; cost 16 is 16 times
	// slower than the default of 12 (several seconds per check).
	maxBcryptCost = 16

	// maxArgon2Memory is the largest argon2 memory parameter, in KiB (512 MiB).
	maxArgon2Memory = 512 * 1024
	// maxArgon2Iterations is the largest argon2 time parameter.
	maxArgon2Iterations = 64
	// maxArgon2Work bounds memory (KiB) times iterations, i.e. the amount of
	// memory processed in total (2 GiB).
	maxArgon2Work = 2 * 1024 * 1024

	// maxPBKDF2Work bounds iterations times the number of output blocks
	// (ceil(keylen / digest size)), i.e. the number of HMAC chains computed.
	maxPBKDF2Work = 10_000_000

	// maxScryptMemory bounds the scrypt working set, 128*N*r bytes (512 MiB).
	maxScryptMemory = 512 * 1024 * 1024
	// maxScryptWork bounds N*r*p, which is proportional to CPU time
	// (2^23: e.g. N=2^20, r=8, p=1 or N=2^17, r=8, p=8).
	maxScryptWork = 1 << 23
)

// verifier is a parsed hash that can check a password.
type verifier interface {
	verify(password []byte) error
}

// Compare verifies password against encoded, which may be in any supported
// format. It returns nil on a match, [ErrMismatch] for a wrong password,
// an error wrapping [ErrUnknownFormat] for unsupported or malformed hashes,
// [ErrPasswordTooLong] for bcrypt hashes and passwords over 72 bytes, or the
// context's error if ctx is already done. Derived keys are compared in
// constant time.
func Compare(ctx context.Context, password, encoded []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := parse(encoded)
	if err != nil {
		return err
	}
	return v.verify(password)
}

// IsKnownFormat reports whether encoded is a well-formed hash in a supported
// format whose parameters are within the accepted limits, i.e. whether
// [Compare] could verify a password against it. It is meant for validating
// hashes supplied through the admin import API.
func IsKnownFormat(encoded []byte) bool {
	_, err := parse(encoded)
	return err == nil
}

func parse(encoded []byte) (verifier, error) {
	if len(encoded) > maxEncodedLength {
		return nil, formatError("hash is too long")
	}
	s := string(encoded)
	switch {
	case strings.HasPrefix(s, "$2"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$argon2id$"), strings.HasPrefix(s, "$argon2i$"):
		return parseArgon2(s)
	case strings.HasPrefix(s, "$pbkdf2-"):
		return parsePBKDF2(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s)
	default:
		return nil, ErrUnknownFormat
	}
}

// formatError returns an error wrapping ErrUnknownFormat with a detail. The
// detail must never contain the hash itself.
func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnknownFormat, fmt.Sprintf(format, args...))
}

// decodeBase64 decodes standard-alphabet base64 with or without padding.
// Non-canonical encodings are rejected.
func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// decodeSaltAndKey decodes the salt and key fields of a PHC-like string and
// checks their lengths.
func decodeSaltAndKey(alg, saltField, keyField string) (salt, key []byte, err error) {
	salt, err = decodeBase64(saltField)
	if err != nil {
		return nil, nil, formatError("%s: salt is not valid base64", alg)
	}
	if len(salt) > maxSaltLength {
		return nil, nil, formatError("%s: salt is longer than %d bytes", alg, maxSaltLength)
	}
	key, err = decodeBase64(keyField)
	if err != nil {
		return nil, nil, formatError("%s: hash is not valid base64", alg)
	}
	if len(key) < minKeyLength || len(key) > maxKeyLength {
		return nil, nil, formatError("%s: hash length must be between %d and %d bytes", alg, minKeyLength, maxKeyLength)
	}
	return salt, key, nil
}

// parseParams parses a comma separated list of key=value pairs whose keys
// must be exactly names, in that order, and whose values are unsigned
// decimal integers.
func parseParams(alg, field string, names ...string) ([]uint64, error) {
	pairs := strings.Split(field, ",")
	if len(pairs) != len(names) {
		return nil, formatError("%s: expected parameters %s", alg, strings.Join(names, ","))
	}
	values := make([]uint64, len(names))
	for i, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k != names[i] {
			return nil, formatError("%s: expected parameters %s", alg, strings.Join(names, ","))
		}
		n, err := parseUint(v)
		if err != nil {
			return nil, formatError("%s: parameter %s is not a valid number", alg, k)
		}
		values[i] = n
	}
	return values, nil
}

// parseUint parses a plain decimal number (digits only, no sign).
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
