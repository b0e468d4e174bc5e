package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// adminClient talks to the admin API for the identities commands.
type adminClient struct {
	base   *url.URL
	apiKey string
	http   *http.Client
}

func newAdminClient(endpoint string) (*adminClient, error) {
	if endpoint == "" {
		endpoint = os.Getenv("KRATOS_ADMIN_URL")
	}
	if endpoint == "" {
		return nil, errors.New("no admin endpoint: pass --endpoint or set KRATOS_ADMIN_URL")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("the admin endpoint %q is not an absolute URL", endpoint)
	}
	return &adminClient{base: u, apiKey: os.Getenv("HOPLITE_ADMIN_API_KEY"), http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// do sends a request to /admin/<path> and decodes a JSON answer into out.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body any, out any) (http.Header, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/admin/" + strings.TrimPrefix(path, "/")
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		var env struct {
			Error struct {
				Message string `json:"message"`
				Reason  string `json:"reason"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error.Message != "" {
			msg := env.Error.Message
			if env.Error.Reason != "" {
				msg += ": " + env.Error.Reason
			}
			return resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, msg)
		}
		return resp.Header, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return resp.Header, nil
}

type identityRow struct {
	ID                  string          `json:"id"`
	SchemaID            string          `json:"schema_id"`
	State               string          `json:"state"`
	Traits              json.RawMessage `json:"traits"`
	VerifiableAddresses []struct {
		Value    string `json:"value"`
		Verified bool   `json:"verified"`
	} `json:"verifiable_addresses"`
	RecoveryAddresses []struct {
		Value string `json:"value"`
	} `json:"recovery_addresses"`
}

// printIdentities writes identities in the chosen format: table (default),
// json, json-pretty or quiet (ids only).
func printIdentities(w io.Writer, format string, raws []json.RawMessage, single bool) error {
	switch format {
	case "json", "json-pretty":
		var v any = raws
		if single && len(raws) == 1 {
			v = raws[0]
		}
		enc := json.NewEncoder(w)
		if format == "json-pretty" {
			enc.SetIndent("", "  ")
		}
		return enc.Encode(v)
	case "quiet":
		for _, raw := range raws {
			var row identityRow
			if err := json.Unmarshal(raw, &row); err != nil {
				return err
			}
			fmt.Fprintln(w, row.ID)
		}
		return nil
	case "", "default", "table":
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tVERIFIED ADDRESSES\tRECOVERY ADDRESSES\tSCHEMA ID\tSTATE")
		for _, raw := range raws {
			var row identityRow
			if err := json.Unmarshal(raw, &row); err != nil {
				return err
			}
			var verified, recovery []string
			for _, a := range row.VerifiableAddresses {
				if a.Verified {
					verified = append(verified, a.Value)
				}
			}
			for _, a := range row.RecoveryAddresses {
				recovery = append(recovery, a.Value)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", row.ID, orNone(verified), orNone(recovery), row.SchemaID, row.State)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("unknown --format %q: use table, json, json-pretty or quiet", format)
	}
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "<none>"
	}
	return strings.Join(v, ", ")
}

func newIdentitiesCmd() *cobra.Command {
	var endpoint, format string
	cmd := &cobra.Command{
		Use:   "identities",
		Short: "Manage identities through the admin API",
		Long:  "Manage identities through the admin API given with --endpoint or KRATOS_ADMIN_URL (HOPLITE_ADMIN_API_KEY is sent as a bearer key when set).",
	}
	cmd.PersistentFlags().StringVarP(&endpoint, "endpoint", "e", "", "admin API URL (default: $KRATOS_ADMIN_URL)")
	cmd.PersistentFlags().StringVar(&format, "format", "table", "output format: table, json, json-pretty or quiet")

	list := &cobra.Command{
		Use:     "list [<page> <per-page>]",
		Aliases: []string{"ls"},
		Short:   "List identities",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 0 && len(args) != 2 {
				return errors.New("give both <page> and <per-page>, or neither")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(endpoint)
			if err != nil {
				return err
			}
			q := url.Values{}
			if len(args) == 2 {
				q.Set("page", args[0])
				q.Set("per_page", args[1])
			}
			var raws []json.RawMessage
			if _, err := c.do(cmd.Context(), http.MethodGet, "identities", q, nil, &raws); err != nil {
				return err
			}
			return printIdentities(cmd.OutOrStdout(), format, raws, false)
		},
	}

	var include []string
	get := &cobra.Command{
		Use:   "get <id> [<id>...]",
		Short: "Get one or more identities",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(endpoint)
			if err != nil {
				return err
			}
			q := url.Values{}
			for _, v := range include {
				q.Add("include_credential", v)
			}
			var raws []json.RawMessage
			var errs []error
			for _, id := range args {
				var raw json.RawMessage
				if _, err := c.do(cmd.Context(), http.MethodGet, "identities/"+url.PathEscape(id), q, nil, &raw); err != nil {
					errs = append(errs, err)
					continue
				}
				raws = append(raws, raw)
			}
			if err := printIdentities(cmd.OutOrStdout(), format, raws, len(args) == 1); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	get.Flags().StringSliceVarP(&include, "include-credentials", "i", nil, "include credentials of this type (oidc)")

	del := &cobra.Command{
		Use:   "delete <id> [<id>...]",
		Short: "Delete identities",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAdminClient(endpoint)
			if err != nil {
				return err
			}
			var errs []error
			for _, id := range args {
				if _, err := c.do(cmd.Context(), http.MethodDelete, "identities/"+url.PathEscape(id), nil, nil, nil); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			return errors.Join(errs...)
		},
	}

	imp := newImportCmd(&endpoint, &format)
	cmd.AddCommand(list, get, del, imp)
	return cmd
}

// splitDocuments accepts one JSON object or an array of objects.
func splitDocuments(raw []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, errors.New("empty input")
	}
	if trimmed[0] == '[' {
		var docs []json.RawMessage
		if err := json.Unmarshal(trimmed, &docs); err != nil {
			return nil, fmt.Errorf("not a JSON array of identities: %w", err)
		}
		return docs, nil
	}
	var doc json.RawMessage
	if err := json.Unmarshal(trimmed, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON identity: %w", err)
	}
	return []json.RawMessage{doc}, nil
}
