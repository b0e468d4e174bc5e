package config

import (
	"testing"
	"time"
)

func TestSessionCacheDefaultsAndOverrides(t *testing.T) {
	c, err := LoadBytes([][]byte{[]byte(minimal)}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Session.Cache
	want := SessionCache{Enabled: true, MaxEntries: 100000, MaxBytes: 64 << 20, PollInterval: 200 * time.Millisecond}
	if got != want {
		t.Fatalf("defaults: got %+v, want %+v", got, want)
	}

	env := map[string]string{"SESSION_CACHE_ENABLED": "false", "SESSION_CACHE_POLL_INTERVAL": "50ms", "SESSION_CACHE_MAX_BYTES": "8MB"}
	c, err = LoadBytes([][]byte{[]byte(minimal + "session:\n  cache:\n    max_entries: 5000\n")}, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	got = c.Session.Cache
	want = SessionCache{Enabled: false, MaxEntries: 5000, MaxBytes: 8 << 20, PollInterval: 50 * time.Millisecond}
	if got != want {
		t.Fatalf("file and env: got %+v, want %+v", got, want)
	}
}

func TestSessionCacheValidation(t *testing.T) {
	for _, bad := range []string{"poll_interval: 1ms", "poll_interval: 1m", "max_entries: 0", "max_age: -1s"} {
		_, err := LoadBytes([][]byte{[]byte(minimal + "session:\n  cache:\n    " + bad + "\n")}, nil, false)
		if err == nil {
			t.Errorf("session.cache.%s was accepted", bad)
		}
	}
}
