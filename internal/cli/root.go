// Package cli holds Hoplite's command line: serve, migrate sql, identities,
// courier watch and version. Commands are thin: they load configuration and
// hand over to internal/app or to the admin API.
package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
)

// NewRoot builds the command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "hoplite",
		Short:         "Hoplite is an identity server that speaks the Ory Kratos v0alpha2 API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMigrateCmd(), newVersionCmd(), newIdentitiesCmd(), newCourierCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "Hoplite version: %s\n", app.Version)
		},
	}
}

func newServeCmd() *cobra.Command {
	var files []string
	var dev, watchCourier, sqaOptOut bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the public and admin HTTP servers",
		Long: `Run the public (default port 4433) and admin (default port 4434) APIs.

With --dev and no configuration at all, Hoplite keeps its data in
./hoplite.sqlite, uses a built-in identity schema (email and password) and
listens on 127.0.0.1 only. Without --dev, pending database migrations stop the
start; apply them with "hoplite migrate sql -e --yes".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(files, os.LookupEnv, dev)
			if err != nil {
				return err
			}
			logger := app.NewLogger(cfg, os.Stderr)
			a, err := app.New(cmd.Context(), cfg, logger, app.Options{Migrate: dev})
			if err != nil {
				return err
			}
			// In dev mode the worker always runs, so that mails (written to
			// the log when no SMTP server is configured) arrive without a
			// second process.
			if watchCourier || cfg.WatchCourier || cfg.Dev {
				if err := a.WatchCourier(cmd.Context()); err != nil {
					_ = a.Close()
					return err
				}
			}
			if addr := os.Getenv("HOPLITE_PPROF_LISTEN"); addr != "" {
				if err := servePprof(addr, logger); err != nil {
					_ = a.Close()
					return err
				}
			}
			publicLn, adminLn, err := app.Listen(cfg)
			if err != nil {
				_ = a.Close()
				return err
			}
			return a.Serve(cmd.Context(), publicLn, adminLn)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "config", "c", nil, "configuration file (YAML or JSON); repeat to merge several, later files win")
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: no Secure cookies, plain-HTTP base URLs, automatic migrations, embedded defaults")
	cmd.Flags().BoolVar(&watchCourier, "watch-courier", false, "also run the mail courier in this process (always on with --dev)")
	cmd.Flags().BoolVar(&sqaOptOut, "sqa-opt-out", false, "accepted for Kratos compatibility; Hoplite sends no usage statistics")
	return cmd
}
