package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with configuration files",
	}
	var files []string
	var dev bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Check configuration files and report every problem",
		Long: `Load the configuration as serve would (files, then environment variables)
and check it without opening the database or a port: every key and value,
the identity schemas and their "ory.sh/kratos" extension, the password
hasher, the mail templates and the SMTP settings. Problems are listed one per
line on standard error, followed by warnings; the command exits with status 1
when there is any problem, so it can guard a deployment pipeline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stderr := cmd.ErrOrStderr()
			cfg, err := config.Load(files, os.LookupEnv, dev)
			if err != nil {
				return reportProblems(cmd, err, nil)
			}
			warnings, err := app.Check(cmd.Context(), cfg)
			if err != nil {
				return reportProblems(cmd, err, warnings)
			}
			for _, w := range warnings {
				fmt.Fprintln(stderr, "warning:", w)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "the configuration is valid (%s)\n", describeFiles(files))
			return nil
		},
	}
	check.Flags().StringSliceVarP(&files, "config", "c", nil, "configuration file (YAML or JSON); repeat to merge several, later files win")
	check.Flags().BoolVar(&dev, "dev", false, "check with the defaults of development mode")
	cmd.AddCommand(check)
	return cmd
}

// reportProblems prints one line per problem (errors.Join keeps them apart)
// and the warnings, and returns the error that makes the command fail.
func reportProblems(cmd *cobra.Command, err error, warnings []string) error {
	stderr := cmd.ErrOrStderr()
	problems := splitJoined(err)
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if len(problems) == 1 {
		return errors.New("the configuration has 1 problem")
	}
	return fmt.Errorf("the configuration has %d problems", len(problems))
}

func splitJoined(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

func describeFiles(files []string) string {
	if len(files) == 0 {
		return "no file: defaults and environment"
	}
	return strings.Join(files, ", ")
}
