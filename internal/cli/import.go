package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// progressMinItems is the size from which import shows a progress bar (on a
// terminal only).
const progressMinItems = 50

func newImportCmd(endpoint, format *string) *cobra.Command {
	var stopOnError bool
	cmd := &cobra.Command{
		Use:   "import <file.json> [<file.json>...]",
		Short: "Create identities from JSON files (an object or an array of objects each); - reads standard input",
		Long: `Create identities from JSON files, each holding one identity object or an
array of them; - reads standard input.

Every item that fails is reported on standard error with its file, its index
in the array and its identifier (the email or username trait), and the import
goes on with the next item unless --stop-on-error is given. A summary follows
at the end; the command fails when any item failed. The created identities
are printed on standard output in the chosen --format. On a terminal a
progress bar shows the progress of large files.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(*endpoint)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{"-"}
			}
			type file struct {
				name string
				docs []json.RawMessage
			}
			var files []file
			total := 0
			for _, name := range args {
				var raw []byte
				if name == "-" {
					raw, err = io.ReadAll(cmd.InOrStdin())
				} else {
					raw, err = os.ReadFile(name)
				}
				if err != nil {
					return err
				}
				docs, err := splitDocuments(raw)
				if err != nil {
					return fmt.Errorf("%s: %w", displayName(name), err)
				}
				files = append(files, file{displayName(name), docs})
				total += len(docs)
			}

			stderr := cmd.ErrOrStderr()
			bar := newProgress(stderr, total)
			var created []json.RawMessage
			failed, done := 0, 0
		items:
			for _, f := range files {
				for k, doc := range f.docs {
					var out json.RawMessage
					_, err := c.do(cmd.Context(), http.MethodPost, "identities", nil, doc, &out)
					done++
					if err != nil {
						failed++
						bar.clear()
						fmt.Fprintf(stderr, "%s: %s\n", itemLabel(f.name, k, len(f.docs), doc), importProblem(err))
						if stopOnError {
							break items
						}
					} else {
						created = append(created, out)
					}
					bar.set(done)
				}
			}
			bar.clear()
			if err := printIdentities(cmd.OutOrStdout(), *format, created, len(created) == 1 && total == 1); err != nil {
				return err
			}
			if failed == 0 {
				if total > 1 {
					fmt.Fprintf(stderr, "imported %d identities\n", len(created))
				}
				return nil
			}
			summary := fmt.Sprintf("imported %d of %d identities; %d failed", len(created), total, failed)
			if skipped := total - done; skipped > 0 {
				summary += fmt.Sprintf(", %d not tried (--stop-on-error)", skipped)
			}
			fmt.Fprintln(stderr, summary)
			return errors.New(summary)
		},
	}
	cmd.Flags().BoolVar(&stopOnError, "stop-on-error", false, "stop at the first item that cannot be imported (by default the others are still imported)")
	return cmd
}

func displayName(name string) string {
	if name == "-" {
		return "<stdin>"
	}
	return name
}

// itemLabel names one item: "file.json[3] (ada@example.org)"; the index is
// left out for a file with a single object.
func itemLabel(name string, index, count int, doc json.RawMessage) string {
	label := name
	if count > 1 {
		label += fmt.Sprintf("[%d]", index)
	}
	if id := identifierOf(doc); id != "" {
		label += " (" + id + ")"
	}
	return label
}

// identifierOf picks what a person would recognise an identity by: the
// email, username or phone trait, or else the first string trait.
func identifierOf(doc json.RawMessage) string {
	var v struct {
		Traits map[string]json.RawMessage `json:"traits"`
	}
	if json.Unmarshal(doc, &v) != nil {
		return ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	for _, k := range []string{"email", "username", "phone"} {
		if s := str(v.Traits[k]); s != "" {
			return s
		}
	}
	for _, raw := range v.Traits {
		if s := str(raw); s != "" {
			return s
		}
	}
	return ""
}

// importProblem drops the request line from an admin API error: what
// matters per item is the status and the reason.
func importProblem(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "POST identities: "); ok {
		return rest
	}
	return msg
}

// progress draws a one-line bar on a terminal; elsewhere (pipes, files,
// tests) and for small imports it draws nothing.
type progress struct {
	w     io.Writer
	total int
	shown bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{total: total}
	if f, ok := w.(*os.File); ok && total >= progressMinItems && isTerminal(f) {
		p.w = w
	}
	return p
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) set(done int) {
	if p.w == nil {
		return
	}
	fmt.Fprint(p.w, "\r"+progressLine(done, p.total, 30))
	p.shown = true
}

func (p *progress) clear() {
	if p.w == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r"+strings.Repeat(" ", 30+24)+"\r")
	p.shown = false
}

// progressLine renders "[=========>          ] 120/400".
func progressLine(done, total, width int) string {
	if total <= 0 {
		return ""
	}
	filled := done * width / total
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("[%s] %d/%d", bar, done, total)
}
