// Package passwordpolicy decides whether a new password may be used. It
// implements the password policy of Ory Kratos v0.9: a maximum length in
// bytes (when bcrypt is the hasher), a minimum length, a similarity check
// against the identifier, and a lookup in the Have I Been Pwned breach
// corpus through its k-anonymity range API.
package passwordpolicy

import (
	"context"
	"crypto/sha1" //nolint:gosec // SHA-1 is what the HIBP range API is keyed by
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultHIBPHost is the host of the public Have I Been Pwned range API.
const DefaultHIBPHost = "api.pwnedpasswords.com"

// Config configures a [Validator]. The zero value enables nothing; use
// [DefaultConfig] for the Kratos defaults.
type Config struct {
	// MinLength is the minimum number of characters (runes)
	// (min_password_length, default 8).
	MinLength int
	// IdentifierSimilarityCheck rejects passwords too similar to the
	// identifier (identifier_similarity_check_enabled, default true).
	IdentifierSimilarityCheck bool
	// HIBPEnabled enables the breach lookup (haveibeenpwned_enabled,
	// default true).
	HIBPEnabled bool
	// HIBPHost is the host of the range API (haveibeenpwned_host, default
	// "api.pwnedpasswords.com"). A value starting with "http://" or
	// "https://" is used as the base URL as is, which tests rely on;
	// otherwise "https://<host>" is used.
	HIBPHost string
	// MaxBreaches is the number of breaches a password may appear in and
	// still be accepted (max_breaches, default 0).
	MaxBreaches int
	// IgnoreNetworkErrors accepts the password when the breach lookup fails
	// (ignore_network_errors, default true).
	IgnoreNetworkErrors bool
	// MaxBytes is the maximum password length in bytes; 72 when bcrypt is the
	// hasher, 0 for no limit.
	MaxBytes int

	// CacheSize is the number of hash prefixes whose range responses are kept
	// in memory (least recently used ones are evicted). Zero selects the
	// default (512, a few MiB at most); a negative value disables caching.
	CacheSize int
	// CacheTTL is how long a cached range response is used. Zero selects the
	// default (one hour).
	CacheTTL time.Duration
}

const (
	defaultCacheSize = 512
	defaultCacheTTL  = time.Hour
	// fetchTimeout bounds one range request, whatever the client's timeout.
	fetchTimeout = 10 * time.Second
)

// DefaultConfig returns the Kratos defaults. MaxBytes is 0; set it to 72
// when bcrypt is the configured hasher.
func DefaultConfig() Config {
	return Config{
		MinLength:                 8,
		IdentifierSimilarityCheck: true,
		HIBPEnabled:               true,
		HIBPHost:                  DefaultHIBPHost,
		MaxBreaches:               0,
		IgnoreNetworkErrors:       true,
	}
}

// PolicyError means the password is refused by the policy. Reason is the
// human readable reason shown to users (Kratos message 4000005: "The
// password can not be used because {reason}.").
type PolicyError struct {
	Reason string
}

func (e *PolicyError) Error() string { return e.Reason }

// ErrBreachCheckFailed is wrapped by the error Validate returns when the
// breach lookup fails and IgnoreNetworkErrors is false.
var ErrBreachCheckFailed = errors.New("passwordpolicy: unable to check whether the password appears in data breaches")

// Validator checks passwords against a [Config]. It is safe for concurrent
// use.
type Validator struct {
	cfg     Config
	client  *http.Client
	baseURL string
	cache   *rangeCache
}

// New returns a Validator. client is used for the breach lookup; callers
// should pass one with a timeout. A nil client selects one with a 10 second
// timeout.
func New(cfg Config, client *http.Client) *Validator {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	size, ttl := cfg.CacheSize, cfg.CacheTTL
	if size == 0 {
		size = defaultCacheSize
	}
	if size < 0 {
		size = 0
	}
	if ttl <= 0 {
		ttl = defaultCacheTTL
	}
	return &Validator{
		cfg:     cfg,
		client:  client,
		baseURL: hibpBaseURL(cfg.HIBPHost),
		cache:   newRangeCache(size, ttl, time.Now),
	}
}

func hibpBaseURL(host string) string {
	if host == "" {
		host = DefaultHIBPHost
	}
	if !strings.HasPrefix(host, "http://") && !strings.HasPrefix(host, "https://") {
		host = "https://" + host
	}
	return strings.TrimRight(host, "/")
}

// Validate checks password for the identity identified by identifier. It
// returns nil if the password may be used, a *PolicyError if the policy
// refuses it, or another error if the check could not be completed (a
// failed breach lookup while IgnoreNetworkErrors is false, or ctx ending).
//
// The rules are applied in this order: maximum bytes, minimum length,
// similarity to the identifier, breach lookup.
func (v *Validator) Validate(ctx context.Context, identifier, password string) error {
	if v.cfg.MaxBytes > 0 && len(password) > v.cfg.MaxBytes {
		return &PolicyError{Reason: fmt.Sprintf("passwords are limited to a maximum length of %d characters", v.cfg.MaxBytes)}
	}
	if n := utf8.RuneCountInString(password); n < v.cfg.MinLength {
		return &PolicyError{Reason: fmt.Sprintf("password length must be at least %d characters but only got %d", v.cfg.MinLength, n)}
	}
	if v.cfg.IdentifierSimilarityCheck && tooSimilar(identifier, password) {
		return &PolicyError{Reason: "the password is too similar to the user identifier"}
	}
	if v.cfg.HIBPEnabled {
		count, err := v.breachCount(ctx, password)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			if v.cfg.IgnoreNetworkErrors {
				return nil
			}
			return fmt.Errorf("%w: %w", ErrBreachCheckFailed, err)
		}
		if count > int64(v.cfg.MaxBreaches) {
			return &PolicyError{Reason: "the password has been found in data breaches and must no longer be used"}
		}
	}
	return nil
}

// breachCount returns how often password appears in the breach corpus.
func (v *Validator) breachCount(ctx context.Context, password string) (int64, error) {
	digest := sha1.Sum([]byte(password)) //nolint:gosec // k-anonymity lookup, not a password hash
	hexDigest := strings.ToUpper(hex.EncodeToString(digest[:]))
	prefix := hexDigest[:5]
	suffix, err := parseSuffix(hexDigest[5:])
	if err != nil {
		return 0, err // cannot happen: hexDigest is valid hex
	}
	r, err := v.cache.get(ctx, prefix, v.fetchRange)
	if err != nil {
		return 0, err
	}
	return r.count(suffix), nil
}
