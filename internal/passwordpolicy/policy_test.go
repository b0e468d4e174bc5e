package passwordpolicy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const (
	reasonSimilar  = "the password is too similar to the user identifier"
	reasonBreached = "the password has been found in data breaches and must no longer be used"
	reasonTooLong  = "passwords are limited to a maximum length of 72 characters"
)

// offlineConfig is DefaultConfig without the breach lookup.
func offlineConfig() Config {
	cfg := DefaultConfig()
	cfg.HIBPEnabled = false
	return cfg
}

func TestDefaultConfig(t *testing.T) {
	want := Config{
		MinLength:                 8,
		IdentifierSimilarityCheck: true,
		HIBPEnabled:               true,
		HIBPHost:                  "api.pwnedpasswords.com",
		MaxBreaches:               0,
		IgnoreNetworkErrors:       true,
	}
	if got := DefaultConfig(); got != want {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
}

func TestValidateRules(t *testing.T) {
	bcryptCfg := offlineConfig()
	bcryptCfg.MaxBytes = 72
	noSimilarity := offlineConfig()
	noSimilarity.IdentifierSimilarityCheck = false
	minTwelve := offlineConfig()
	minTwelve.MinLength = 12
	noMinimum := offlineConfig()
	noMinimum.MinLength = 0

	cases := []struct {
		name       string
		cfg        Config
		identifier string
		password   string
		reason     string // empty: accepted
	}{
		// Maximum bytes.
		{"72 bytes with bcrypt", bcryptCfg, "alice@example.com", strings.Repeat("k", 72), ""},
		{"73 bytes with bcrypt", bcryptCfg, "alice@example.com", strings.Repeat("k", 73), reasonTooLong},
		{"37 two-byte runes with bcrypt", bcryptCfg, "alice@example.com", strings.Repeat("ä", 37), reasonTooLong},
		{"36 two-byte runes with bcrypt", bcryptCfg, "alice@example.com", strings.Repeat("ä", 36), ""},
		{"long password without limit", offlineConfig(), "alice@example.com", strings.Repeat("k", 1000), ""},
		{"max bytes checked first", bcryptCfg, strings.Repeat("k", 100), strings.Repeat("k", 100), reasonTooLong},

		// Minimum length, counted in characters.
		{"7 characters", offlineConfig(), "alice@example.com", "abcdefg", "password length must be at least 8 characters but only got 7"},
		{"empty", offlineConfig(), "alice@example.com", "", "password length must be at least 8 characters but only got 0"},
		{"8 characters", offlineConfig(), "alice@example.com", "zxcvbnm1", ""},
		{"7 runes 14 bytes", offlineConfig(), "alice@example.com", "äöüäöüä", "password length must be at least 8 characters but only got 7"},
		{"8 runes", offlineConfig(), "alice@example.com", "äöüäöüäö", ""},
		{"custom minimum", minTwelve, "alice@example.com", "zxcvbnm1234", "password length must be at least 12 characters but only got 11"},
		{"no minimum", noMinimum, "", "", ""},
		{"length checked before similarity", offlineConfig(), "alice", "alice", "password length must be at least 8 characters but only got 5"},

		// Similarity to the identifier.
		{"equal to identifier", offlineConfig(), "alice@example.com", "alice@example.com", reasonSimilar},
		{"equal ignoring case", offlineConfig(), "Alice@Example.com", "aLICE@eXAMPLE.COM", reasonSimilar},
		{"distance 4", offlineConfig(), "alice@example.com", "alice@example.net!", reasonSimilar},
		{"distance 5, small overlap", offlineConfig(), "abcdefgh", "abcvwxyz", ""},
		{"identifier inside password", offlineConfig(), "alice@example.com", "alice@example.com-rocks", reasonSimilar},
		{"common substring 5 of 9", offlineConfig(), "alice", "alice2023", reasonSimilar},
		{"common substring exactly half", offlineConfig(), "alice", "alice2023!", ""},
		{"unrelated", offlineConfig(), "alice@example.com", "correct horse battery staple", ""},
		{"unicode identifier", offlineConfig(), "Jürgen.Müller", "jürgen.müller", reasonSimilar},
		{"empty identifier", offlineConfig(), "", "zxcvbnm1", ""},
		{"similarity check disabled", noSimilarity, "alice@example.com", "alice@example.com", ""},
		{"long identifier and password", offlineConfig(), strings.Repeat("ab", 3000), strings.Repeat("ab", 3000) + "x", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := New(c.cfg, nil).Validate(context.Background(), c.identifier, c.password)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Validate = %v, want *PolicyError", err)
			}
			if pe.Reason != c.reason || pe.Error() != c.reason {
				t.Errorf("reason = %q, want %q", pe.Reason, c.reason)
			}
		})
	}
}

func TestMaxBytesReasonUsesLimit(t *testing.T) {
	cfg := offlineConfig()
	cfg.MaxBytes = 10
	err := New(cfg, nil).Validate(context.Background(), "", "0123456789a")
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Reason != "passwords are limited to a maximum length of 10 characters" {
		t.Fatalf("Validate = %v", err)
	}
}

func TestHIBPBaseURL(t *testing.T) {
	cases := map[string]string{
		"":                           "https://api.pwnedpasswords.com",
		"api.pwnedpasswords.com":     "https://api.pwnedpasswords.com",
		"hibp.internal:8443":         "https://hibp.internal:8443",
		"http://127.0.0.1:1234":      "http://127.0.0.1:1234",
		"http://127.0.0.1:1234/":     "http://127.0.0.1:1234",
		"https://mirror.example/api": "https://mirror.example/api",
	}
	for in, want := range cases {
		if got := hibpBaseURL(in); got != want {
			t.Errorf("hibpBaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}
