package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/kratosimport"
)

func newMigrateFromKratosCmd() *cobra.Command {
	var (
		files        []string
		opts         kratosimport.Options
		yes, noBar   bool
		showProblems int
	)
	cmd := &cobra.Command{
		Use:   "from-kratos --source <Kratos DSN> -c <config>",
		Short: "Move identities, credentials and sessions from an Ory Kratos v0.9 database",
		Long: `Move the data of an Ory Kratos v0.9 database into the Hoplite database named
by the configuration (its dsn, or the DSN environment variable), which
"hoplite migrate sql" must have prepared.

Identities move with their ids, timestamps, traits, states, addresses and
credentials: password hashes (bcrypt, argon2id, pbkdf2 — they keep working
and are re-hashed at the next login when the configured hasher differs),
TOTP secrets, lookup codes (stored hashed), WebAuthn keys and OIDC links.
Active sessions move under the keyed hashes of their tokens, so session
tokens keep working, and so do Kratos' session cookies when secrets.cookie
(or secrets.default) is the same as Kratos had. With --courier-messages,
queued mail moves too.

The source is only read. A second run skips what is already there, so an
interrupted run can simply be run again. Items that cannot move (traits that
fail the configured schema, a password hash in an unknown format) are
reported and skipped.

Source DSNs are written as Kratos takes them: sqlite://PATH?_fk=true,
postgres://…, mysql://user:pass@tcp(host:port)/db?parseTime=true.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Source == "" {
				return errors.New("give the Kratos database with --source")
			}
			cfg, err := config.Load(files, os.LookupEnv, false)
			if err != nil {
				return err
			}
			if cfg.DSN == "" || cfg.DSN == "memory" {
				return errors.New("the configuration names no Hoplite database: set dsn (or the DSN environment variable) to the database prepared by `hoplite migrate sql`")
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			a, err := app.New(cmd.Context(), cfg, logger, app.Options{})
			if err != nil {
				return fmt.Errorf("the Hoplite database is not ready: %w", err)
			}
			defer a.Close()

			out := cmd.OutOrStdout()
			if !opts.DryRun && !yes {
				fmt.Fprintf(out, "Move the Kratos data into the Hoplite %s database? The Kratos database is only read. [y/N] ", a.Store.Dialect())
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return errors.New("move aborted")
				}
			}
			stderr := cmd.ErrOrStderr()
			opts.Progress = stderr
			f, isFile := stderr.(*os.File)
			opts.Bar = !noBar && isFile && isTerminal(f)
			target := kratosimport.Target{
				Store:        a.Store,
				SchemaFor:    a.Identities.SchemaFor,
				AvailableAAL: a.Identities.AvailableAAL,
				TokenHash:    a.Sessions.TokenHash,
				Secrets:      cfg.Secrets.Default,
			}
			report, err := kratosimport.Run(cmd.Context(), target, opts)
			printReport(out, report, showProblems)
			if err != nil {
				return fmt.Errorf("the move stopped (run the command again to continue): %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Source, "source", "", "DSN of the Kratos v0.9 database to read")
	f.StringSliceVarP(&files, "config", "c", nil, "Hoplite configuration file(s)")
	f.BoolVarP(&yes, "yes", "y", false, "move without asking")
	f.BoolVar(&opts.DryRun, "dry-run", false, "report counts and problems without writing anything")
	f.BoolVar(&opts.Messages, "courier-messages", false, "also move queued courier messages")
	f.StringVar(&opts.Network, "network", "", "Kratos network id to read (only when the database holds several)")
	f.IntVar(&opts.BatchSize, "batch-size", kratosimport.DefaultBatchSize, "rows per page and per write transaction")
	f.BoolVar(&noBar, "no-progress-bar", false, "print progress as lines even on a terminal")
	f.IntVar(&showProblems, "show-problems", 100, "how many problems to list in the summary")
	return cmd
}

func printReport(w io.Writer, r *kratosimport.Report, showProblems int) {
	if r == nil {
		return
	}
	title := "Moved from Kratos"
	if r.DryRun {
		title = "Dry run (nothing was written); would move from Kratos"
	}
	fmt.Fprintf(w, "%s in %s:\n", title, r.Duration.Round(1e6))
	line := func(what string, c kratosimport.Counts) {
		fmt.Fprintf(w, "  %-11s %d in Kratos, %d moved, %d already in Hoplite, %d skipped\n", what+":", c.Source, c.Moved, c.Existing, c.Skipped)
	}
	line("identities", r.Identities)
	line("sessions", r.Sessions)
	if r.Messages != nil {
		line("messages", *r.Messages)
	}
	if r.ProblemCount == 0 {
		fmt.Fprintln(w, "No problems.")
		return
	}
	fmt.Fprintf(w, "%d problem(s); these items were skipped:\n", r.ProblemCount)
	for k, p := range r.Problems {
		if k >= showProblems {
			fmt.Fprintf(w, "  … and %d more\n", r.ProblemCount-k)
			return
		}
		fmt.Fprintf(w, "  %s %s: %s\n", p.Kind, p.ID, p.Reason)
	}
	if r.ProblemCount > len(r.Problems) {
		fmt.Fprintf(w, "  … and %d more\n", r.ProblemCount-len(r.Problems))
	}
}
