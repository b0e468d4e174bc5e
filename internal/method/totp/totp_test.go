package totp

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestMatchAcceptsEachStepOnce(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := &Method{cfg: Config{Clock: func() time.Time { return now }}}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: "i", AccountName: "a", Period: 30, SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(k.Secret(), at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := now.Unix() / 30
	if got, ok := m.match(k, code(now), 0); !ok || got != step {
		t.Fatalf("current code: step %d ok %v", got, ok)
	}
	if _, ok := m.match(k, code(now), step); ok {
		t.Error("a code of the last used step was accepted again")
	}
	if got, ok := m.match(k, code(now.Add(30*time.Second)), step); !ok || got != step+1 {
		t.Errorf("next step: %d %v", got, ok)
	}
	if _, ok := m.match(k, code(now.Add(-30*time.Second)), step); ok {
		t.Error("an older step was accepted after a newer one")
	}
	if _, ok := m.match(k, code(now.Add(-90*time.Second)), 0); ok {
		t.Error("a code three steps old was accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", " "} {
		if _, ok := m.match(k, bad, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
