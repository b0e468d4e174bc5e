package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

func newMigrateCmd() *cobra.Command {
	migrate := &cobra.Command{Use: "migrate", Short: "Database migrations"}
	var files []string
	var fromEnv, yes bool
	sqlCmd := &cobra.Command{
		Use:   "sql [DSN]",
		Short: "Apply the embedded SQL migrations",
		Long: `Apply every pending migration to the database named by DSN.

The DSN is the first argument, or, with -e, the DSN environment variable or
the dsn key of the configuration files given with -c. Migrations are
forward-only and idempotent, and several processes may run them at once.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dsn := ""
			switch {
			case len(args) == 1:
				dsn = args[0]
			case fromEnv || len(files) > 0:
				if v, ok := os.LookupEnv("DSN"); ok && v != "" && len(files) == 0 {
					dsn = v
				} else {
					cfg, err := config.Load(files, os.LookupEnv, false)
					if err != nil {
						return err
					}
					dsn = cfg.DSN
				}
			default:
				return errors.New("give the database DSN as the argument, or use -e to read it from the DSN environment variable or the configuration")
			}
			if dsn == "" {
				return errors.New("no DSN found")
			}
			st, err := sqlstore.Open(cmd.Context(), dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			status, err := st.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			pending := 0
			for _, m := range status {
				state := "applied"
				if !m.Applied {
					state = "pending"
					pending++
				}
				fmt.Fprintf(out, "%04d_%s\t%s\n", m.Version, m.Name, state)
			}
			if pending == 0 {
				fmt.Fprintln(out, "The database is up to date.")
				return nil
			}
			if !yes {
				fmt.Fprintf(out, "Apply %d migration(s)? [y/N] ", pending)
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return errors.New("migration aborted")
				}
			}
			applied, err := st.Migrate(cmd.Context())
			for _, m := range applied {
				fmt.Fprintf(out, "Applied %04d_%s\n", m.Version, m.Name)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Successfully applied all migrations.")
			return nil
		},
	}
	sqlCmd.Flags().BoolVarP(&fromEnv, "read-from-env", "e", false, "read the DSN from the DSN environment variable or the configuration")
	sqlCmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	sqlCmd.Flags().StringSliceVarP(&files, "config", "c", nil, "configuration file holding the dsn")
	migrate.AddCommand(sqlCmd, newMigrateFromKratosCmd())
	return migrate
}
