package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSecurityDefaultsAndOverrides(t *testing.T) {
	c := mustLoadYAML(t, false, noEnv, minimal)
	bf := c.Security.BruteForce
	if !bf.Enabled || bf.MaxFailuresPerAccount != 100 || bf.MaxFailuresPerIP != 1000 || bf.Window != time.Hour ||
		bf.FreeFailures != 5 || bf.BaseDelay != time.Second || bf.MaxDelay != time.Minute || bf.Lockout != time.Hour || bf.MailCooldown != time.Minute {
		t.Fatalf("brute_force defaults: %+v", bf)
	}
	if c.Security.MaxWaitingHashes != 64 || c.Security.Audit.Retention != 90*24*time.Hour {
		t.Fatalf("security defaults: %+v", c.Security)
	}
	if len(c.TrustedProxies()) != 0 {
		t.Fatal("trusted proxies by default")
	}

	c = mustLoadYAML(t, false, env(map[string]string{
		"SECURITY_BRUTE_FORCE_ENABLED":                  "false",
		"SECURITY_BRUTE_FORCE_MAX_FAILURES_PER_ACCOUNT": "7",
		"SERVE_PUBLIC_TRUSTED_PROXIES":                  `["10.0.0.0/8","192.0.2.1","::1"]`,
	}), minimal)
	if c.Security.BruteForce.Enabled || c.Security.BruteForce.MaxFailuresPerAccount != 7 {
		t.Fatalf("env overrides: %+v", c.Security.BruteForce)
	}
	if u := c.Unsupported(); len(u) != 0 {
		t.Fatalf("security keys reported as unsupported: %v", u)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("::1/128")}
	got := c.TrustedProxies()
	if len(got) != len(want) {
		t.Fatalf("trusted proxies %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("trusted proxies %v, want %v", got, want)
		}
	}
}

func TestSecurityInvalid(t *testing.T) {
	for doc, want := range map[string]string{
		"serve:\n  public:\n    trusted_proxies: [\"10.0.0.0/33\"]":  "serve.public.trusted_proxies[0]",
		"serve:\n  public:\n    trusted_proxies: [\"proxy.local\"]":  "serve.public.trusted_proxies[0]",
		"security:\n  brute_force:\n    max_failures_per_account: 0": "security.brute_force.max_failures_per_account",
		"security:\n  brute_force:\n    lockout: soon":               "security.brute_force.lockout",
		"security:\n  max_waiting_hashes: -1":                        "security.max_waiting_hashes",
		"security:\n  audit:\n    keep: 1h":                          `unknown key "security.audit.keep"`,
	} {
		_, err := loadYAML(t, false, noEnv, minimal, doc)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", doc, err, want)
		}
	}
}

func TestSecurityCredentialChanges(t *testing.T) {
	c := mustLoadYAML(t, false, noEnv, minimal)
	if c.Security.CredentialChanges != (CredentialChanges{}) {
		t.Fatalf("credential_changes defaults: %+v, want all off", c.Security.CredentialChanges)
	}
	c = mustLoadYAML(t, false, noEnv, minimal, "security:\n  credential_changes:\n    revoke_other_sessions: true\n    notify: true\n")
	if got := c.Security.CredentialChanges; !got.RevokeOtherSessions || !got.Notify || got.InvalidateRecoveryLinks {
		t.Fatalf("credential_changes from the file: %+v", got)
	}
	c = mustLoadYAML(t, false, env(map[string]string{
		"SECURITY_CREDENTIAL_CHANGES_INVALIDATE_RECOVERY_LINKS": "true",
	}), minimal)
	if got := c.Security.CredentialChanges; got.RevokeOtherSessions || got.Notify || !got.InvalidateRecoveryLinks {
		t.Fatalf("credential_changes from the environment: %+v", got)
	}
	if u := c.Unsupported(); len(u) != 0 {
		t.Fatalf("credential_changes reported as unsupported: %v", u)
	}
	for doc, want := range map[string]string{
		"security:\n  credential_changes:\n    notify: maybe":         "security.credential_changes.notify",
		"security:\n  credential_changes:\n    revoke_sessions: true": `unknown key "security.credential_changes.revoke_sessions"`,
	} {
		_, err := loadYAML(t, false, noEnv, minimal, doc)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", doc, err, want)
		}
	}
}
