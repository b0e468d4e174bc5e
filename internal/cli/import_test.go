package cli_test

import (
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/testutil"
)

func TestImportReportsEachItemAndContinues(t *testing.T) {
	t.Parallel()
	s := testutil.StartServer(t, testutil.Options{})
	file := writeFile(t, "people.json", `[
		{"traits":{"email":"first@example.org"}},
		{"traits":{"email":"second-is-bad"}},
		{"traits":{"email":"third@example.org"}},
		{"schema_id":"nope","traits":{"email":"fourth@example.org"}}
	]`)
	out, report, err := runSplit(t, "", "identities", "import", file, "--format", "quiet", "--endpoint", s.AdminURL)
	if err == nil {
		t.Fatal("import with bad items succeeded")
	}
	if ids := strings.Fields(out); len(ids) != 2 {
		t.Errorf("created %q, want the first and third", out)
	}
	for _, want := range []string{
		file + "[1] (second-is-bad): 400",
		file + "[3] (fourth@example.org): 400",
		"imported 2 of 4 identities; 2 failed",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "[0]") || strings.Contains(report, "[2]") {
		t.Errorf("good items reported as failures:\n%s", report)
	}
	if strings.Contains(report, "[") && strings.Index(report, "imported 2 of 4") < strings.LastIndex(report, "[3]") {
		t.Errorf("the summary is not at the end:\n%s", report)
	}

	// --stop-on-error stops at the first bad item.
	file = writeFile(t, "more.json", `[{"traits":{"email":"fifth@example.org"}},{"traits":{"email":"bad"}},{"traits":{"email":"sixth@example.org"}}]`)
	out, report, err = runSplit(t, "", "identities", "import", file, "--format", "quiet", "--stop-on-error", "--endpoint", s.AdminURL)
	if err == nil || len(strings.Fields(out)) != 1 || !strings.Contains(report, file+"[1] (bad): 400") ||
		!strings.Contains(report, "imported 1 of 3 identities; 1 failed, 1 not tried (--stop-on-error)") {
		t.Errorf("stop-on-error: err %v out %q report:\n%s", err, out, report)
	}
}
