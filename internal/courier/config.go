package courier

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/hoplite-id/hoplite/internal/cipher"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/httpclient"
)

// templateClient fetches http(s) templates: the shared outbound client
// (clients.http.disallow_private_ip_ranges applies) with a 10 s timeout.
func templateClient(cfg *config.Config) *http.Client {
	o := httpclient.FromConfig(cfg)
	o.Timeout = 10 * time.Second
	return httpclient.New(o)
}

// FromConfig builds the courier described by cfg.Courier over st: the
// templates (start-up errors name a bad template), the message TTL, and the
// sender that Run needs — SMTP when courier.smtp.connection_uri is set, the
// log in development mode without it, and nil otherwise (Run then returns
// ErrNoSender; queueing still works).
func FromConfig(ctx context.Context, cfg *config.Config, st Store, logger *slog.Logger) (*Courier, Sender, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tc := cfg.Courier.Templates
	source := func(e config.EmailTemplate) TemplateSource {
		return TemplateSource{Subject: e.Subject, HTML: e.Body.HTML, Plaintext: e.Body.Plaintext}
	}
	tmpl, err := LoadTemplates(ctx, TemplateOptions{
		OverridePath: cfg.Courier.TemplateOverridePath,
		Sources: map[TemplateType]TemplateSource{
			RecoveryValid:       source(tc.Recovery.Valid.Email),
			RecoveryInvalid:     source(tc.Recovery.Invalid.Email),
			VerificationValid:   source(tc.Verification.Valid.Email),
			VerificationInvalid: source(tc.Verification.Invalid.Email),
		},
		HTTPClient: templateClient(cfg),
		Logger:     logger,
	})
	if err != nil {
		return nil, nil, err
	}
	c := New(st, tmpl, cfg.Courier.MessageTTL, logger)
	// Queued links are sealed under the cipher that keeps the other secrets
	// Hoplite reads back. Without any secret (a configuration check) they
	// cannot be, and nothing is queued then anyway.
	if secrets := cfg.SessionSecrets(); len(secrets) > 0 {
		ci, err := cipher.AtRest(cfg.Ciphers.Algorithm, cfg.Secrets.Cipher, secrets)
		if err != nil {
			return nil, nil, err
		}
		c.SealLinks(ci)
	}

	smtpCfg := cfg.Courier.SMTP
	switch {
	case smtpCfg.ConnectionURI != "":
		s, err := NewSMTPSender(SMTPConfig{
			ConnectionURI: smtpCfg.ConnectionURI,
			FromAddress:   smtpCfg.FromAddress,
			FromName:      smtpCfg.FromName,
			Headers:       smtpCfg.Headers,
		})
		if err != nil {
			return nil, nil, err
		}
		return c, s, nil
	case cfg.Dev:
		logger.Warn(LogSenderNotice)
		return c, LogSender{Logger: logger}, nil
	default:
		return c, nil, nil
	}
}
