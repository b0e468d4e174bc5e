package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/httpclient"
	"github.com/hoplite-id/hoplite/internal/schema"
)

// loadSchemas fetches and compiles the configured identity schemas.
func loadSchemas(ctx context.Context, cfg *config.Config, client *http.Client) (*schema.Registry, error) {
	sources := make([]schema.Source, 0, len(cfg.Identity.Schemas))
	for _, s := range cfg.Identity.Schemas {
		src := schema.Source{ID: s.ID, URL: s.URL}
		if s.URL == config.DevIdentitySchemaURL {
			src.URL = schema.BuiltinSource().URL
		}
		sources = append(sources, src)
	}
	return schema.Load(ctx, sources, cfg.Identity.DefaultSchemaID, client)
}

// Check does what New does with a loaded configuration short of opening the
// database: it compiles the identity schemas (with their "ory.sh/kratos"
// extension), builds the password hasher, loads the mail templates and
// checks the SMTP settings. It returns every problem found, joined, and the
// warnings New would log.
func Check(ctx context.Context, cfg *config.Config) (warnings []string, err error) {
	warnings = append(warnings, cfg.Warnings()...)
	for _, key := range cfg.Unsupported() {
		warnings = append(warnings, "configuration key is accepted but not supported by this version of Hoplite yet; it has no effect: "+key)
	}
	var errs []error
	schemas, err := loadSchemas(ctx, cfg, httpclient.New(httpclient.FromConfig(cfg)))
	if err != nil {
		errs = append(errs, err)
	} else {
		warnings = append(warnings, schemas.Warnings()...)
	}
	if _, err := newHasher(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := courier.FromConfig(ctx, cfg, nil, slog.New(slog.DiscardHandler)); err != nil {
		errs = append(errs, err)
	}
	return warnings, errors.Join(errs...)
}
