package hash

import (
	"errors"
	"testing"
	"time"

	"github.com/hoplite-id/hoplite/internal/testutil/bound"
)

// FuzzParse feeds encoded hashes, as the admin import API accepts them, to
// the format parsers. Parsing allocates little whatever the parameters say;
// a hash that parses is one Compare can verify, and a malformed one is
// ErrUnknownFormat.
func FuzzParse(f *testing.F) {
	for _, v := range knownVectors {
		f.Add(v.encoded)
	}
	for _, s := range []string{
		"", "$2b$", "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$a2V5",
		"$pbkdf2-sha256$i=4294967295,l=32$c2FsdA$a2V5", "$scrypt$ln=1,r=1,p=1$$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5$extra", "plain text",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		var v verifier
		var err error
		bound.Check(t, bound.Budget{Bytes: uint64(8*len(encoded) + 64<<10), Time: time.Second}, func() {
			v, err = parse([]byte(encoded))
		})
		if err != nil {
			if !errors.Is(err, ErrUnknownFormat) {
				t.Fatalf("parse error %v does not wrap ErrUnknownFormat", err)
			}
			if IsKnownFormat([]byte(encoded)) {
				t.Fatal("IsKnownFormat accepts what parse refuses")
			}
			return
		}
		if v == nil || !IsKnownFormat([]byte(encoded)) {
			t.Fatal("parse and IsKnownFormat disagree")
		}
	})
}
