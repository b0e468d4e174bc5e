package hash

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCompareKnownVectors(t *testing.T) {
	ctx := context.Background()
	for _, v := range knownVectors {
		t.Run(v.encoded, func(t *testing.T) {
			if !IsKnownFormat([]byte(v.encoded)) {
				t.Fatalf("IsKnownFormat = false, want true")
			}
			if err := Compare(ctx, []byte(v.password), []byte(v.encoded)); err != nil {
				t.Fatalf("Compare(correct password) = %v, want nil", err)
			}
			for _, wrong := range []string{"", v.password + "x", strings.ToUpper(v.password), v.password[:len(v.password)-1]} {
				if wrong == v.password {
					continue
				}
				want := ErrMismatch
				if strings.HasPrefix(v.encoded, "$2") && len(wrong) > 72 {
					want = ErrPasswordTooLong
				}
				if err := Compare(ctx, []byte(wrong), []byte(v.encoded)); !errors.Is(err, want) {
					t.Errorf("Compare(%q) = %v, want %v", wrong, err, want)
				}
			}
		})
	}
}

// TestCompareTamperedKey flips a bit of the stored key of each vector; the
// correct password must then be rejected.
func TestCompareTamperedKey(t *testing.T) {
	for _, v := range knownVectors {
		t.Run(v.encoded, func(t *testing.T) {
			tampered := tamper(t, v.encoded)
			err := Compare(context.Background(), []byte(v.password), []byte(tampered))
			if !errors.Is(err, ErrMismatch) {
				t.Fatalf("Compare(tampered %s) = %v, want ErrMismatch", tampered, err)
			}
		})
	}
}

// tamper changes the encoded key (last field) of a hash while keeping it well
// formed.
func tamper(t *testing.T, encoded string) string {
	t.Helper()
	if strings.HasPrefix(encoded, "$2") {
		// Change a character in the middle of the bcrypt digest.
		i := len(encoded) - 10
		c := byte('a')
		if encoded[i] == 'a' {
			c = 'b'
		}
		return encoded[:i] + string(c) + encoded[i+1:]
	}
	idx := strings.LastIndexByte(encoded, '$')
	field := encoded[idx+1:]
	padded := strings.HasSuffix(field, "=")
	key, err := decodeBase64(field)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 1
	enc := base64.RawStdEncoding
	if padded {
		enc = base64.StdEncoding
	}
	return encoded[:idx+1] + enc.EncodeToString(key)
}

func TestCompareMalformed(t *testing.T) {
	validSalt := "AAECAwQFBgcICQoLDA0ODw"
	validKey := "dyFFU11W76aQyJZQ4xkeVUkbv8avN8EtW5J682moB+k"
	argon := func(params string) string { return "$argon2id$v=19$" + params + "$" + validSalt + "$" + validKey }
	scryptH := func(params string) string { return "$scrypt$" + params + "$" + validSalt + "$" + validKey }
	pbkdf := func(alg, params string) string {
		return "$pbkdf2-" + alg + "$" + params + "$" + validSalt + "$" + validKey
	}
	bcryptOK := "$2b$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e"

	cases := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"dollar", "$"},
		{"plaintext", "correct horse"},
		{"unknown algorithm", "$md5$abc"},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey},
		{"too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 5000) + "$" + validKey},

		{"bcrypt prefix only", "$2a$"},
		{"bcrypt too short", bcryptOK[:40]},
		{"bcrypt too long", bcryptOK + "x"},
		{"bcrypt $2x$", "$2x$" + bcryptOK[4:]},
		{"bcrypt $1$", "$1$" + bcryptOK[4:]},
		{"bcrypt $3a$", "$3a$" + bcryptOK[4:]},
		{"bcrypt cost not numeric", "$2b$0a" + bcryptOK[6:]},
		{"bcrypt cost missing separator", "$2b$04x" + bcryptOK[7:]},
		{"bcrypt invalid character", bcryptOK[:20] + "!" + bcryptOK[21:]},
		{"bcrypt cost 3", "$2b$03" + bcryptOK[6:]},
		{"bcrypt cost 17", "$2b$17" + bcryptOK[6:]},
		{"bcrypt cost 31", "$2b$31" + bcryptOK[6:]},
		{"bcrypt cost 99", "$2b$99" + bcryptOK[6:]},

		{"argon2 missing field", "$argon2id$v=19$m=64,t=1,p=1$" + validKey},
		{"argon2 extra field", argon("m=64,t=1,p=1") + "$"},
		{"argon2 missing version", "$argon2id$m=64,t=1,p=1$" + validSalt + "$" + validKey},
		{"argon2 version 16", "$argon2id$v=16$m=64,t=1,p=1$" + validSalt + "$" + validKey},
		{"argon2 leading garbage", "x$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey},
		{"argon2 params out of order", argon("t=1,m=64,p=1")},
		{"argon2 params missing", argon("m=64,t=1")},
		{"argon2 params extra", argon("m=64,t=1,p=1,x=2")},
		{"argon2 params empty value", argon("m=,t=1,p=1")},
		{"argon2 params negative", argon("m=-64,t=1,p=1")},
		{"argon2 params plus sign", argon("m=+64,t=1,p=1")},
		{"argon2 params space", argon("m=64, t=1,p=1")},
		{"argon2 params hex", argon("m=0x40,t=1,p=1")},
		{"argon2 params overflow", argon("m=99999999999999999999999,t=1,p=1")},
		{"argon2 m=4294967295", argon("m=4294967295,t=1,p=1")},
		{"argon2 m=8GiB", argon("m=8388608,t=1,p=1")},
		{"argon2 m just over limit", argon(fmt.Sprintf("m=%d,t=1,p=1", maxArgon2Memory+1))},
		{"argon2 t=4294967295", argon("m=64,t=4294967295,p=1")},
		{"argon2 t=65", argon("m=64,t=65,p=1")},
		{"argon2 work over limit", argon("m=524288,t=8,p=1")},
		{"argon2 t=0", argon("m=64,t=0,p=1")},
		{"argon2 p=0", argon("m=64,t=1,p=0")},
		{"argon2 p=256", argon("m=4096,t=1,p=256")},
		{"argon2 memory below 8*p", argon("m=16,t=1,p=4")},
		{"argon2 salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + validKey},
		{"argon2 key not base64", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$*" + validKey[1:]},
		{"argon2 key bad padding", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey + "=="},
		{"argon2 key non-canonical", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey[:len(validKey)-1] + "l"},
		{"argon2 key empty", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$"},
		{"argon2 key 8 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$AAAAAAAAAAA"},
		{"argon2 salt too long", "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(make([]byte, maxSaltLength+1)) + "$" + validKey},
		{"argon2 key too long", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, maxKeyLength+1))},

		{"pbkdf2 unknown digest", pbkdf("md5", "i=1000,l=32")},
		{"pbkdf2 sha3 name", pbkdf("sha3", "i=1000,l=32")},
		{"pbkdf2 sha999", pbkdf("sha999", "i=1000,l=32")},
		{"pbkdf2 no digest", "$pbkdf2$i=1000,l=32$" + validSalt + "$" + validKey},
		{"pbkdf2 missing l", pbkdf("sha256", "i=1000")},
		{"pbkdf2 uppercase I", pbkdf("sha256", "I=1000,l=32")},
		{"pbkdf2 missing field", "$pbkdf2-sha256$i=1000,l=32$" + validKey},
		{"pbkdf2 i=0", pbkdf("sha256", "i=0,l=32")},
		{"pbkdf2 i=1000000000", pbkdf("sha256", "i=1000000000,l=32")},
		{"pbkdf2 i=4294967295", pbkdf("sha1", "i=4294967295,l=32")},
		{"pbkdf2 work over limit", "$pbkdf2-sha1$i=5000000,l=100$" + validSalt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 100))},
		{"pbkdf2 empty key", "$pbkdf2-sha256$i=1,l=0$" + validSalt + "$"},
		{"pbkdf2 salt not base64", "$pbkdf2-sha256$i=1,l=32$%%%$" + validKey},

		{"scrypt ln=60", scryptH("ln=60,r=8,p=1")},
		{"scrypt ln=0", scryptH("ln=0,r=8,p=1")},
		{"scrypt ln=1", scryptH("ln=1,r=8,p=1")},
		{"scrypt ln=2^60", scryptH("ln=1152921504606846976,r=8,p=1")},
		{"scrypt ln=2^63", scryptH("ln=9223372036854775808,r=8,p=1")},
		{"scrypt 1 GiB", scryptH("ln=1048576,r=8,p=1")},
		{"scrypt r=4294967295", scryptH("ln=16384,r=4294967295,p=1")},
		{"scrypt r=0", scryptH("ln=16384,r=0,p=1")},
		{"scrypt p=0", scryptH("ln=16384,r=8,p=0")},
		{"scrypt p=4294967295", scryptH("ln=16384,r=8,p=4294967295")},
		{"scrypt work over limit", scryptH("ln=131072,r=8,p=16")},
		{"scrypt n instead of ln", scryptH("n=16384,r=8,p=1")},
		{"scrypt missing p", scryptH("ln=16384,r=8")},
		{"scrypt missing field", "$scrypt$ln=16384,r=8,p=1$" + validKey},
		{"scrypt key bad base64", "$scrypt$ln=16384,r=8,p=1$" + validSalt + "$a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			if IsKnownFormat([]byte(c.encoded)) {
				t.Errorf("IsKnownFormat = true, want false")
			}
			err := Compare(context.Background(), []byte("hunter2"), []byte(c.encoded))
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("Compare = %v, want ErrUnknownFormat", err)
			}
			// Rejection happens while parsing, before any key derivation.
			if d := time.Since(start); d > time.Second {
				t.Errorf("rejecting took %v", d)
			}
		})
	}
}

// TestCompareAtLimits checks that hashes right at the cost limits are still
// accepted as well-formed (they are not derived here, that would be slow).
func TestCompareAtLimits(t *testing.T) {
	salt := "AAECAwQFBgcICQoLDA0ODw"
	key := "dyFFU11W76aQyJZQ4xkeVUkbv8avN8EtW5J682moB+k"
	for _, encoded := range []string{
		"$2b$16$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e",
		fmt.Sprintf("$argon2id$v=19$m=%d,t=4,p=255$%s$%s", maxArgon2Memory, salt, key),
		fmt.Sprintf("$argon2i$v=19$m=32768,t=%d,p=1$%s$%s", maxArgon2Iterations, salt, key),
		fmt.Sprintf("$pbkdf2-sha256$i=%d,l=32$%s$%s", maxPBKDF2Work, salt, key),
		"$pbkdf2-sha256$i=1,l=32$$" + key, // empty salt
		"$scrypt$ln=524288,r=8,p=1$" + salt + "$" + key,
		"$scrypt$ln=131072,r=8,p=8$" + salt + "$" + key,
	} {
		if !IsKnownFormat([]byte(encoded)) {
			t.Errorf("IsKnownFormat(%s) = false, want true", encoded)
		}
	}
}

func TestComparePasswordTooLongForBcrypt(t *testing.T) {
	// The vector's password is 72 bytes of 'x'; bcrypt would ignore a 73rd
	// byte, Compare refuses instead.
	encoded := []byte("$2b$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i")
	err := Compare(context.Background(), bytes.Repeat([]byte("x"), 73), encoded)
	if !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Compare(73 bytes) = %v, want ErrPasswordTooLong", err)
	}
	if err := Compare(context.Background(), bytes.Repeat([]byte("x"), 72), encoded); err != nil {
		t.Fatalf("Compare(72 bytes) = %v, want nil", err)
	}
}

func TestCompareCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := knownVectors[0]
	if err := Compare(ctx, []byte(v.password), []byte(v.encoded)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Compare = %v, want context.Canceled", err)
	}
	if _, err := NewBcrypt(BcryptConfig{Cost: 4}).Generate(ctx, []byte("pw")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Bcrypt.Generate = %v, want context.Canceled", err)
	}
	if _, err := NewArgon2(testArgon2Config).Generate(ctx, []byte("pw")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Argon2.Generate = %v, want context.Canceled", err)
	}
}

var testArgon2Config = Argon2Config{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

var (
	bcryptRE = regexp.MustCompile(`^\$2a\$(\d\d)\$[./A-Za-z0-9]{53}$`)
	argon2RE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		hasher Hasher
		re     *regexp.Regexp
	}{
		{"bcrypt", NewBcrypt(BcryptConfig{Cost: 4}), bcryptRE},
		{"argon2id", NewArgon2(testArgon2Config), argon2RE},
		{"argon2id p=2 key=16", NewArgon2(Argon2Config{Memory: 128, Iterations: 2, Parallelism: 2, SaltLength: 8, KeyLength: 16}), argon2RE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, pw := range []string{"", "hunter2", "pässwörd ✓", strings.Repeat("y", 72)} {
				h1, err := c.hasher.Generate(ctx, []byte(pw))
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				h2, err := c.hasher.Generate(ctx, []byte(pw))
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				if bytes.Equal(h1, h2) {
					t.Errorf("two hashes of the same password are equal (salt not random): %s", h1)
				}
				if !c.re.Match(h1) {
					t.Errorf("hash %s does not match %s", h1, c.re)
				}
				if !IsKnownFormat(h1) {
					t.Errorf("IsKnownFormat(%s) = false", h1)
				}
				if !c.hasher.Understands(h1) {
					t.Errorf("Understands(own hash %s) = false", h1)
				}
				if err := Compare(ctx, []byte(pw), h1); err != nil {
					t.Errorf("Compare(correct) = %v", err)
				}
				if err := Compare(ctx, []byte(pw+"!"), h1); !errors.Is(err, ErrMismatch) && !errors.Is(err, ErrPasswordTooLong) {
					t.Errorf("Compare(wrong) = %v, want ErrMismatch", err)
				}
			}
		})
	}
}

func TestArgon2GenerateEncodesParameters(t *testing.T) {
	cfg := Argon2Config{Memory: 96, Iterations: 3, Parallelism: 3, SaltLength: 12, KeyLength: 20}
	h, err := NewArgon2(cfg).Generate(context.Background(), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	m := argon2RE.FindStringSubmatch(string(h))
	if m == nil {
		t.Fatalf("unexpected format %s", h)
	}
	if m[1] != "96" || m[2] != "3" || m[3] != "3" {
		t.Errorf("parameters m=%s t=%s p=%s, want 96, 3, 3", m[1], m[2], m[3])
	}
	salt, _ := base64.RawStdEncoding.DecodeString(m[4])
	key, _ := base64.RawStdEncoding.DecodeString(m[5])
	if len(salt) != 12 || len(key) != 20 {
		t.Errorf("salt %d bytes, key %d bytes; want 12 and 20", len(salt), len(key))
	}
}

func TestBcryptGenerateRefusesLongPasswords(t *testing.T) {
	_, err := NewBcrypt(BcryptConfig{Cost: 4}).Generate(context.Background(), bytes.Repeat([]byte("a"), 73))
	if !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Generate(73 bytes) = %v, want ErrPasswordTooLong", err)
	}
}

func TestUnderstands(t *testing.T) {
	const (
		bcrypt4  = "$2b$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e"
		bcrypt5  = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
		salt     = "AAECAwQFBgcICQoLDA0ODw"
		key32    = "dyFFU11W76aQyJZQ4xkeVUkbv8avN8EtW5J682moB+k"
		key16    = "ZNtj3V2adgfiO1bCirOdOw"
		argonRef = "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key32
	)
	b4 := NewBcrypt(BcryptConfig{Cost: 4})
	a := NewArgon2(testArgon2Config)
	cases := []struct {
		name   string
		hasher Hasher
		hash   string
		want   bool
	}{
		{"bcrypt same cost", b4, bcrypt4, true},
		{"bcrypt same cost other prefix", b4, "$2y$" + bcrypt4[4:], true},
		{"bcrypt other cost", b4, bcrypt5, false},
		{"bcrypt vs argon2", b4, argonRef, false},
		{"bcrypt vs garbage", b4, "$2b$04$nope", false},
		{"argon2 same params", a, argonRef, true},
		{"argon2 other memory", a, "$argon2id$v=19$m=128,t=1,p=1$" + salt + "$" + key32, false},
		{"argon2 other iterations", a, "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + key32, false},
		{"argon2 other parallelism", a, "$argon2id$v=19$m=64,t=1,p=2$" + salt + "$" + key32, false},
		{"argon2 other key length", a, "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key16, false},
		{"argon2 other salt length", a, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + key32, true},
		{"argon2i", a, "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key32, false},
		{"argon2 vs bcrypt", a, bcrypt4, false},
		{"argon2 vs pbkdf2", a, "$pbkdf2-sha256$i=1000,l=32$" + salt + "$" + key32, false},
		{"argon2 vs garbage", a, "$argon2id$v=19$m=64", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.hasher.Understands([]byte(c.hash)); got != c.want {
				t.Errorf("Understands = %v, want %v", got, c.want)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	ctx := context.Background()
	for _, cost := range []int{-1, 3, 17, 31, 32} {
		if _, err := NewBcrypt(BcryptConfig{Cost: cost}).Generate(ctx, []byte("pw")); err == nil {
			t.Errorf("bcrypt cost %d: Generate succeeded, want error", cost)
		}
	}
	for _, cost := range []int{4, 16} {
		if err := (BcryptConfig{Cost: cost}).Validate(); err != nil {
			t.Errorf("bcrypt cost %d: Validate = %v", cost, err)
		}
	}

	bad := []Argon2Config{
		{Memory: 64, Iterations: 1, Parallelism: 0, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 0, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 65, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 0, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 31, Iterations: 1, Parallelism: 4, SaltLength: 16, KeyLength: 32},
		{Memory: maxArgon2Memory + 1, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: maxArgon2Memory, Iterations: 5, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 4, KeyLength: 32},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 8},
		{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 2048},
	}
	for _, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", cfg)
		}
	}
	if _, err := NewArgon2(Argon2Config{Memory: maxArgon2Memory + 1}).Generate(ctx, []byte("pw")); err == nil {
		t.Errorf("Generate with too much memory succeeded")
	}
	if err := DefaultArgon2Config().Validate(); err != nil {
		t.Errorf("DefaultArgon2Config().Validate() = %v", err)
	}
}

func TestNewArgon2FillsDefaults(t *testing.T) {
	got := NewArgon2(Argon2Config{Memory: 64}).Config()
	def := DefaultArgon2Config()
	want := Argon2Config{Memory: 64, Iterations: def.Iterations, Parallelism: def.Parallelism, SaltLength: def.SaltLength, KeyLength: def.KeyLength}
	if got != want {
		t.Errorf("NewArgon2 config = %+v, want %+v", got, want)
	}
}

func TestDefaultArgon2Config(t *testing.T) {
	cfg := DefaultArgon2Config()
	wantP := min(2*runtime.NumCPU(), 255)
	if cfg.Memory != 131072 || cfg.Iterations != 1 || int(cfg.Parallelism) != wantP || cfg.SaltLength != 16 || cfg.KeyLength != 32 {
		t.Errorf("DefaultArgon2Config() = %+v", cfg)
	}
}

// TestProductionDefaults generates one hash with each production
// configuration (bcrypt cost 12, Kratos argon2 defaults); it takes a few
// hundred milliseconds.
func TestProductionDefaults(t *testing.T) {
	ctx := context.Background()
	pw := []byte("production password")

	b := NewBcrypt(BcryptConfig{})
	h, err := b.Generate(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if m := bcryptRE.FindSubmatch(h); m == nil || string(m[1]) != "12" {
		t.Errorf("bcrypt default hash %s, want $2a$12$…", h)
	}
	if !b.Understands(h) {
		t.Errorf("bcrypt Understands(own hash) = false")
	}
	if err := Compare(ctx, pw, h); err != nil {
		t.Errorf("Compare(bcrypt default) = %v", err)
	}

	a := NewArgon2(DefaultArgon2Config())
	h, err = a.Generate(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	m := argon2RE.FindSubmatch(h)
	wantP := fmt.Sprint(min(2*runtime.NumCPU(), 255))
	if m == nil || string(m[1]) != "131072" || string(m[2]) != "1" || string(m[3]) != wantP {
		t.Fatalf("argon2 default hash %s, want $argon2id$v=19$m=131072,t=1,p=%s$…", h, wantP)
	}
	if salt, _ := base64.RawStdEncoding.DecodeString(string(m[4])); len(salt) != 16 {
		t.Errorf("argon2 salt is %d bytes, want 16", len(salt))
	}
	if key, _ := base64.RawStdEncoding.DecodeString(string(m[5])); len(key) != 32 {
		t.Errorf("argon2 key is %d bytes, want 32", len(key))
	}
	if !a.Understands(h) {
		t.Errorf("argon2 Understands(own hash) = false")
	}
	if err := Compare(ctx, pw, h); err != nil {
		t.Errorf("Compare(argon2 default) = %v", err)
	}
}

func BenchmarkCompare(b *testing.B) {
	ctx := context.Background()
	pw := []byte("benchmark password")
	for _, c := range []struct {
		name   string
		hasher Hasher
	}{
		{"bcrypt-cost4", NewBcrypt(BcryptConfig{Cost: 4})},
		{"argon2id-m64-t1-p1", NewArgon2(testArgon2Config)},
	} {
		h, err := c.hasher.Generate(ctx, pw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := Compare(ctx, pw, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
