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
		Version:       app.Version,
	}
	root.SetVersionTemplate("Hoplite version: {{.Version}}\n")
	root.AddCommand(newServeCmd(), newMigrateCmd(), newVersionCmd(), newIdentitiesCmd(), newCourierCmd(), newConfigCmd())
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
listens on 127.0.0.1 only; recovery and verification are on and their mails
are written to the log. Without --dev, pending database migrations stop the
start; apply them with "hoplite migrate sql -e --yes".

serve also delivers queued mail whenever courier.smtp.connection_uri is set
(or, in --dev, to the log). Set courier.worker.enabled to false to leave that
to a separate "hoplite courier watch".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(files, os.LookupEnv, dev)
			if err != nil {
				return err
			}
			logger := app.NewLogger(cfg, cmd.ErrOrStderr())
			a, err := app.New(cmd.Context(), cfg, logger, app.Options{Migrate: dev})
			if err != nil {
				return err
			}
			// The worker runs here whenever mail can be sent (SMTP, or the
			// log in dev mode), unless courier.worker.enabled is false
			// because a separate `courier watch` process delivers it.
			if _, err := a.StartCourier(cmd.Context(), watchCourier); err != nil {
				_ = a.Close()
				return err
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
	cmd.Flags().BoolVar(&watchCourier, "watch-courier", false, "run the mail courier in this process even when courier.worker.enabled is false (by default it runs whenever SMTP is configured, and in --dev)")
	cmd.Flags().BoolVar(&sqaOptOut, "sqa-opt-out", false, "accepted for Kratos compatibility; Hoplite sends no usage statistics")
	return cmd
}
