package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/app"
)

const checkBase = `
dsn: memory
secrets:
  default: [a-production-secret-0123456789]
selfservice:
  default_browser_return_url: https://app.example.org/
hashers:
  bcrypt:
    cost: 12
`

func TestConfigCheckListsEveryProblem(t *testing.T) {
	t.Parallel()
	schemaFile := writeFile(t, "person.schema.json", `{"properties": {"traits": {"type": "object", "properties": {
		"email": {"type": "string", "ory.sh/kratos": {"credentials": {"password": {"identifer": true}}}}}}}}`)
	file := writeFile(t, "hoplite.yml", checkBase+`
serve:
  public: {port: 4500}
  admin: {port: 4500}
courier:
  smtp:
    connection_uri: smpt://mailer:secret-pw@mail.example.org:587/
identity:
  schemas:
    - {id: default, url: "file://`+filepath.ToSlash(schemaFile)+`"}
`)
	out, report, err := runSplit(t, "", "config", "check", "-c", file)
	if err == nil || err.Error() != "the configuration has 2 problems" {
		t.Fatalf("err %v, report:\n%s", err, report)
	}
	for _, want := range []string{
		"config: serve.admin.port: 4500 is also serve.public.port",
		`config: courier.smtp.connection_uri: must be a URL starting with smtp:// or smtps://, got the scheme "smpt://" (from ` + file + ")",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "secret-pw") || out != "" {
		t.Errorf("password in the report or output on stdout: %q\n%s", out, report)
	}

	// Once the settings are right, the schema is compiled and its
	// misspelt extension keyword is a problem.
	file = writeFile(t, "hoplite.yml", checkBase+`
identity:
  schemas:
    - {id: default, url: "file://`+filepath.ToSlash(schemaFile)+`"}
`)
	_, report, err = runSplit(t, "", "config", "check", "-c", file)
	if err == nil || !strings.Contains(report, `identity schema "default"`) || !strings.Contains(report, `unknown keyword "credentials.password.identifer"`) {
		t.Errorf("err %v, report:\n%s", err, report)
	}

	// A schema without a login identifier is a warning, not a failure.
	plain := writeFile(t, "contact.schema.json", `{"properties": {"traits": {"type": "object", "properties": {"email": {"type": "string"}}}}}`)
	file = writeFile(t, "hoplite.yml", checkBase+`
version: v0.9.0-alpha.3
identity:
  schemas:
    - {id: default, url: "file://`+filepath.ToSlash(plain)+`"}
`)
	out, report, err = runSplit(t, "", "config", "check", "-c", file)
	if err != nil || !strings.Contains(out, "the configuration is valid") || !strings.Contains(report, `warning: identity schema "default" marks no trait as a login identifier`) {
		t.Errorf("err %v, out %q, report:\n%s", err, out, report)
	}
	// The top-level version key of Kratos files draws no warning.
	if strings.Contains(report, "version") {
		t.Errorf("version key reported:\n%s", report)
	}

	// A YAML mistake names the file, line and column.
	file = writeFile(t, "broken.yml", "serve:\n  public:\n    port: 4433\n   admin:\n    port: 4434\n")
	_, report, err = runSplit(t, "", "config", "check", "-c", file)
	if err == nil || !strings.Contains(report, "config: parsing "+file+": line 4, column 4: did not find expected key") {
		t.Errorf("err %v, report:\n%s", err, report)
	}
}

func TestVersionFlagAndCommand(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out := mustRun(t, "", args...)
		if out != "Hoplite version: "+app.Version+"\n" || app.Version == "" || app.Version == "master" {
			t.Errorf("%v printed %q", args, out)
		}
	}
}
