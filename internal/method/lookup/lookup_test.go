package lookup

import (
	"regexp"
	"testing"
	"time"
)

func TestNewCodes(t *testing.T) {
	format := regexp.MustCompile(`^[a-z0-9]{8}$`)
	seen := map[string]bool{}
	for range 200 {
		c := newCode()
		if !format.MatchString(c) {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Errorf("only %d distinct codes of 200", len(seen))
	}
}

func TestFindHashedAndImportedCodes(t *testing.T) {
	m := New(nil, []string{"new-secret-new-secret", "old-secret-old-secret"}, nil)
	old := New(nil, []string{"old-secret-old-secret"}, nil)
	used := time.Unix(1_700_000_000, 0)
	cfg := config{RecoveryCodes: []code{
		{Code: "plain001"},
		{Hash: m.hasher.Hash("hashed01")},
		{Hash: old.hasher.Hash("rotated1")},
		{Code: "usedcode", UsedAt: &used},
	}}
	for want, given := range []string{"plain001", "hashed01", "rotated1", "usedcode"} {
		if got := m.find(cfg, given); got != want {
			t.Errorf("find(%q) = %d, want %d", given, got, want)
		}
	}
	if got := m.find(cfg, "PLAIN001"); got != -1 {
		t.Errorf("codes are case-sensitive; found %d", got)
	}
	h := m.hashed(cfg)
	for k, e := range h.RecoveryCodes {
		if e.Code != "" || e.Hash == "" {
			t.Errorf("entry %d not hashed: %+v", k, e)
		}
	}
	if h.RecoveryCodes[3].UsedAt == nil || m.find(h, "plain001") != 0 {
		t.Errorf("hashing lost the use or the code: %+v", h.RecoveryCodes)
	}
}

func TestZeroUsedAtIsUnused(t *testing.T) {
	c := parseConfig([]byte(`{"recovery_codes":[{"code":"a","used_at":"0001-01-01T00:00:00Z"},{"code":"b","used_at":null}]}`))
	if len(c.RecoveryCodes) != 2 || c.RecoveryCodes[0].used() || c.RecoveryCodes[1].used() || !c.unused() {
		t.Fatalf("%+v", c)
	}
	spent := parseConfig([]byte(`{"recovery_codes":[{"code":"a","used_at":"2022-01-01T00:00:00Z"}]}`))
	if spent.unused() {
		t.Fatal("a spent list counts as unused")
	}
}
