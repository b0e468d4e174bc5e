package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/cli"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// run executes the hoplite command line with args and stdin, returning what
// it printed on standard output and its error.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	out, _, err := runSplit(t, stdin, args...)
	return out, err
}

// runSplit is run that also returns what was printed on standard error.
func runSplit(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := cli.NewRoot()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, args...)
	if err != nil {
		t.Fatalf("hoplite %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type identity struct {
	ID     string            `json:"id"`
	State  string            `json:"state"`
	Traits map[string]string `json:"traits"`
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func emails(list []identity) []string {
	var out []string
	for _, i := range list {
		out = append(out, i.Traits["email"])
	}
	slices.Sort(out)
	return out
}

func TestIdentitiesCommands(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, testutil.Options{})
	ep := []string{"--endpoint", s.AdminURL}

	// import: a file with an array, a file with one object, and stdin.
	many := writeFile(t, "many.json", `[
		{"traits":{"email":"one@example.org"}},
		{"schema_id":"default","traits":{"email":"two@example.org"},"state":"inactive",
		 "credentials":{"password":{"config":{"password":"a cli imported password"}}}}
	]`)
	single := writeFile(t, "single.json", `{"traits":{"email":"three@example.org"}}`)
	out := mustRun(t, `{"traits":{"email":"four@example.org"}}`, append([]string{"identities", "import", many, single, "-", "--format", "json"}, ep...)...)
	var imported []identity
	if err := json.Unmarshal([]byte(out), &imported); err != nil {
		t.Fatalf("import --format json printed %q: %v", out, err)
	}
	if got := emails(imported); !slices.Equal(got, []string{"four@example.org", "one@example.org", "three@example.org", "two@example.org"}) {
		t.Errorf("imported %v", got)
	}
	byEmail := map[string]string{}
	for _, i := range imported {
		byEmail[i.Traits["email"]] = i.ID
		if i.Traits["email"] == "two@example.org" && i.State != "inactive" {
			t.Errorf("state of two: %q", i.State)
		}
	}

	// A single import prints one object; a bad document fails the command
	// but the good ones are created.
	out = mustRun(t, "", append([]string{"identities", "import", writeFile(t, "five.json", `{"traits":{"email":"five@example.org"}}`), "--format", "json"}, ep...)...)
	var five identity
	if err := json.Unmarshal([]byte(out), &five); err != nil || five.Traits["email"] != "five@example.org" {
		t.Errorf("single import printed %q (%v)", out, err)
	}
	mixed := writeFile(t, "mixed.json", `[{"traits":{"email":"six@example.org"}},{"traits":{"email":"not an email"}},{"traits":{"email":"one@example.org"}}]`)
	out, errOut, err := runSplit(t, "", append([]string{"identities", "import", mixed, "--format", "quiet"}, ep...)...)
	if err == nil || !strings.Contains(errOut, mixed+"[1] (not an email): 400") || !strings.Contains(errOut, mixed+"[2] (one@example.org): 409") ||
		!strings.Contains(errOut, "imported 1 of 3 identities; 2 failed") {
		t.Errorf("import of bad documents: err %v, report:\n%s", err, errOut)
	}
	if lines := strings.Fields(out); len(lines) != 1 {
		t.Errorf("quiet import printed %q, want the one new id", out)
	}
	if _, err := run(t, "", append([]string{"identities", "import", writeFile(t, "broken.json", `{"traits":`)}, ep...)...); err == nil {
		t.Error("import of malformed JSON succeeded")
	}

	// list in every format.
	out = mustRun(t, "", append([]string{"identities", "list", "--format", "quiet"}, ep...)...)
	ids := strings.Fields(out)
	if len(ids) != 6 {
		t.Fatalf("list --format quiet printed %d ids: %q", len(ids), out)
	}
	out = mustRun(t, "", append([]string{"identities", "ls", "--format", "table"}, ep...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "SCHEMA ID") {
		t.Errorf("table output:\n%s", out)
	}
	for _, id := range ids {
		if !strings.Contains(out, id) {
			t.Errorf("table lacks %s", id)
		}
	}
	if !strings.Contains(out, "inactive") || !strings.Contains(out, "two@example.org") {
		t.Errorf("table lacks state or recovery address:\n%s", out)
	}
	if def := mustRun(t, "", append([]string{"identities", "list"}, ep...)...); def != out {
		t.Errorf("default format differs from table:\n%s", def)
	}
	var listed []identity
	out = mustRun(t, "", append([]string{"identities", "list", "--format", "json"}, ep...)...)
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 6 || strings.Contains(strings.TrimSpace(out), "\n") {
		t.Errorf("json list: %d entries, err %v, compact %v", len(listed), err, !strings.Contains(strings.TrimSpace(out), "\n"))
	}
	out = mustRun(t, "", append([]string{"identities", "list", "--format", "json-pretty"}, ep...)...)
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 6 || !strings.Contains(out, "\n  {") {
		t.Errorf("json-pretty list: %d entries, err %v:\n%.200s", len(listed), err, out)
	}
	out = mustRun(t, "", append([]string{"identities", "list", "2", "2", "--format", "quiet"}, ep...)...)
	if got := strings.Fields(out); !slices.Equal(got, ids[2:4]) {
		t.Errorf("list 2 2 printed %v, want %v", got, ids[2:4])
	}
	if _, err := run(t, "", append([]string{"identities", "list", "2"}, ep...)...); err == nil {
		t.Error("list with only a page succeeded")
	}
	if _, err := run(t, "", append([]string{"identities", "list", "--format", "yaml"}, ep...)...); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("unknown format: %v", err)
	}

	// get: one id → an object, several → an array.
	out = mustRun(t, "", append([]string{"identities", "get", byEmail["one@example.org"], "--format", "json"}, ep...)...)
	var got identity
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != byEmail["one@example.org"] {
		t.Errorf("get printed %q (%v)", out, err)
	}
	out = mustRun(t, "", append([]string{"identities", "get", byEmail["one@example.org"], byEmail["two@example.org"], "--format", "json", "-i", "oidc"}, ep...)...)
	var two []identity
	if err := json.Unmarshal([]byte(out), &two); err != nil || len(two) != 2 {
		t.Errorf("get of two printed %q (%v)", out, err)
	}
	out = mustRun(t, "", append([]string{"identities", "get", byEmail["two@example.org"], "--format", "json-pretty"}, ep...)...)
	if !strings.Contains(out, `"password"`) || strings.Contains(out, "hashed_password") {
		t.Errorf("get shows credentials metadata only:\n%s", out)
	}
	if _, err := run(t, "", append([]string{"identities", "get", "6b7f1a4e-2f7b-4e4b-9a59-3f1e2f0c9d11"}, ep...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("get of an unknown id: %v", err)
	}
	if _, err := run(t, "", append([]string{"identities", "get", byEmail["one@example.org"], "-i", "password"}, ep...)...); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("get -i password: %v", err)
	}

	// delete.
	out = mustRun(t, "", append([]string{"identities", "delete", byEmail["three@example.org"], byEmail["four@example.org"]}, ep...)...)
	if got := strings.Fields(out); !slices.Equal(got, []string{byEmail["three@example.org"], byEmail["four@example.org"]}) {
		t.Errorf("delete printed %q", out)
	}
	if _, err := run(t, "", append([]string{"identities", "get", byEmail["three@example.org"]}, ep...)...); err == nil {
		t.Error("deleted identity still found")
	}
	if _, err := run(t, "", append([]string{"identities", "delete", byEmail["three@example.org"]}, ep...)...); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("second delete: %v", err)
	}
	if n := len(strings.Fields(mustRun(t, "", append([]string{"identities", "list", "--format", "quiet"}, ep...)...))); n != 4 {
		t.Errorf("%d identities left, want 4", n)
	}

	// Bad endpoints.
	if _, err := run(t, "", "identities", "list", "--endpoint", "not a url"); err == nil {
		t.Error("relative endpoint accepted")
	}
	if _, err := run(t, "", "identities", "list", "--endpoint", s.PublicURL+"nope/"); err == nil {
		t.Error("wrong endpoint gave no error")
	}
}

// TestIdentitiesEnvironment runs without --endpoint: KRATOS_ADMIN_URL names
// the server and HOPLITE_ADMIN_API_KEY is sent as the bearer key. It sets
// environment variables, so it does not run in parallel.
func TestIdentitiesEnvironment(t *testing.T) {
	const key = "cli-test-admin-key-abcdefghijklmnop"
	s := testutil.StartServer(t, testutil.Options{Config: "serve:\n  admin:\n    api_keys:\n      - " + config.HashAPIKey(key) + "\n"})

	t.Setenv("KRATOS_ADMIN_URL", "")
	t.Setenv("HOPLITE_ADMIN_API_KEY", "")
	if _, err := run(t, "", "identities", "list"); err == nil || !strings.Contains(err.Error(), "KRATOS_ADMIN_URL") {
		t.Errorf("no endpoint: %v", err)
	}

	t.Setenv("KRATOS_ADMIN_URL", s.AdminURL)
	if _, err := run(t, "", "identities", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without the key: %v", err)
	}
	t.Setenv("HOPLITE_ADMIN_API_KEY", key)
	out := mustRun(t, `[{"traits":{"email":"env@example.org"}}]`, "identities", "import", "--format", "quiet")
	id := strings.TrimSpace(out)
	if got := strings.TrimSpace(mustRun(t, "", "identities", "list", "--format", "quiet")); got != id {
		t.Errorf("list via KRATOS_ADMIN_URL: %q, want %q", got, id)
	}
	// --endpoint wins over the environment.
	t.Setenv("KRATOS_ADMIN_URL", "http://127.0.0.1:1/")
	if got := strings.TrimSpace(mustRun(t, "", "identities", "get", id, "--format", "quiet", "-e", s.AdminURL)); got != id {
		t.Errorf("get with -e: %q", got)
	}
}

// migrateTestConfig is a complete production-mode configuration for dsn.
func migrateTestConfig(t *testing.T, dsn string) *config.Config {
	t.Helper()
	cfg, err := config.LoadBytes([][]byte{[]byte(`
dsn: "` + dsn + `"
identity:
  default_schema_id: default
  schemas:
    - id: default
      url: hoplite://default
selfservice:
  default_browser_return_url: https://app.example.org/
secrets:
  default:
    - migrate-test-secret-0123456789
serve:
  public:
    base_url: https://auth.example.org/
  admin:
    base_url: https://admin.example.org/
`)}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestMigrateSQL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "hoplite.sqlite") + "?_fk=true"
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Before migrating, serving refuses to start and says what to do.
	_, err := app.New(ctx, migrateTestConfig(t, dsn), logger, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "migrate sql") || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("app.New before migrating: %v", err)
	}

	// Declining the prompt applies nothing.
	out, err := run(t, "n\n", "migrate", "sql", dsn)
	if err == nil || !strings.Contains(out, "pending") {
		t.Errorf("declined migration: %v\n%s", err, out)
	}
	if _, err := app.New(ctx, migrateTestConfig(t, dsn), logger, app.Options{}); err == nil {
		t.Error("the declined migration was applied")
	}

	out = mustRun(t, "", "migrate", "sql", dsn, "--yes")
	if !strings.Contains(out, "Applied 0001_") || !strings.Contains(out, "Successfully applied") {
		t.Errorf("migrate output:\n%s", out)
	}
	out = mustRun(t, "", "migrate", "sql", dsn, "-y")
	if !strings.Contains(out, "up to date") || strings.Contains(out, "Applied ") || strings.Contains(out, "pending") {
		t.Errorf("second migrate output:\n%s", out)
	}

	a, err := app.New(ctx, migrateTestConfig(t, dsn), logger, app.Options{})
	if err != nil {
		t.Fatalf("app.New after migrating: %v", err)
	}
	if n, err := a.Store.PendingMigrations(ctx); err != nil || n != 0 {
		t.Errorf("pending after migrating: %d %v", n, err)
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}

	// -e reads the DSN from the environment-style config; a fresh file,
	// confirmed at the prompt.
	other := "sqlite://" + filepath.Join(t.TempDir(), "other.sqlite") + "?_fk=true"
	cfgFile := writeFile(t, "hoplite.yml", "dsn: \""+other+"\"\nidentity:\n  schemas:\n    - id: default\n      url: hoplite://default\nselfservice:\n  default_browser_return_url: https://app.example.org/\n")
	out = mustRun(t, "yes\n", "migrate", "sql", "-c", cfgFile)
	if !strings.Contains(out, "Successfully applied") {
		t.Errorf("migrate -c:\n%s", out)
	}
	if _, err := app.New(ctx, migrateTestConfig(t, other), logger, app.Options{}); err != nil {
		t.Errorf("app.New on the -c database: %v", err)
	}

	// Without a DSN, or with a bad one, it fails.
	if _, err := run(t, "", "migrate", "sql"); err == nil {
		t.Error("migrate without a DSN succeeded")
	}
	if _, err := run(t, "", "migrate", "sql", "oracle://x", "--yes"); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("bad DSN: %v", err)
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	if out := mustRun(t, "", "version"); !strings.Contains(out, app.Version) {
		t.Errorf("version printed %q", out)
	}
}

// TestMigrateSQLFromEnv reads the DSN from the DSN environment variable
// (-e). It sets environment variables, so it does not run in parallel.
func TestMigrateSQLFromEnv(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "env.sqlite") + "?_fk=true"
	t.Setenv("DSN", dsn)
	out := mustRun(t, "", "migrate", "sql", "-e", "--yes")
	if !strings.Contains(out, "Successfully applied") {
		t.Errorf("migrate -e:\n%s", out)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(context.Background(), migrateTestConfig(t, dsn), logger, app.Options{})
	if err != nil {
		t.Fatalf("app.New on the -e database: %v", err)
	}
	_ = a.Close()
	t.Setenv("DSN", "")
	if _, err := run(t, "", "migrate", "sql", "-e", "--yes"); err == nil {
		t.Error("migrate -e without DSN or config succeeded")
	}
}
