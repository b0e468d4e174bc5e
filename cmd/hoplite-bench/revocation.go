package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// measureRevocation runs a second server over the same database and, n
// times, signs in on the first, has the second answer whoami (so the
// session is in its cache), logs out through the first and times how long
// the second keeps accepting the token. It reports the delays, sorted.
func measureRevocation(ctx context.Context, o *options, bin, work, dsn string, first *hopliteServer, env *phaseEnv, n int) ([]time.Duration, error) {
	second, err := startHoplite(ctx, o, bin, work, dsn)
	if err != nil {
		return nil, fmt.Errorf("second server: %w", err)
	}
	defer func() { _ = second.stop(30 * time.Second) }()
	client := &http.Client{Timeout: o.timeout}
	call := func(method, addr, path string, body any, token string) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, rd)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		return res.StatusCode, raw, err
	}
	var delays []time.Duration
	for k := 0; k < n; k++ {
		email := env.data.emails[k%len(env.data.emails)]
		status, raw, err := call(http.MethodGet, first.publicAddr, "/self-service/login/api", nil, "")
		var f struct {
			ID           string `json:"id"`
			SessionToken string `json:"session_token"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(raw, &f) != nil {
			return nil, fmt.Errorf("login flow: %d %v %.200s", status, err, raw)
		}
		status, raw, err = call(http.MethodPost, first.publicAddr, "/self-service/login?flow="+f.ID,
			map[string]string{"method": "password", "identifier": email, "password": benchPassword}, "")
		if err != nil || status != http.StatusOK || json.Unmarshal(raw, &f) != nil || f.SessionToken == "" {
			return nil, fmt.Errorf("login: %d %v %.200s", status, err, raw)
		}
		for range 2 {
			if status, _, err := call(http.MethodGet, second.publicAddr, "/sessions/whoami", nil, f.SessionToken); err != nil || status != http.StatusOK {
				return nil, fmt.Errorf("whoami on the second server: %d %v", status, err)
			}
		}
		status, raw, err = call(http.MethodDelete, first.publicAddr, "/self-service/logout/api", map[string]string{"session_token": f.SessionToken}, "")
		if err != nil || status != http.StatusNoContent {
			return nil, fmt.Errorf("logout: %d %v %.200s", status, err, raw)
		}
		revoked := time.Now()
		for {
			status, _, err := call(http.MethodGet, second.publicAddr, "/sessions/whoami", nil, f.SessionToken)
			if err != nil {
				return nil, err
			}
			if status == http.StatusUnauthorized {
				delays = append(delays, time.Since(revoked))
				break
			}
			if time.Since(revoked) > 10*time.Second {
				return nil, fmt.Errorf("the second server still accepts a revoked session after %v", time.Since(revoked))
			}
		}
	}
	slices.Sort(delays)
	return delays, nil
}

// quantile of sorted durations.
func quantileOf(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
