package kratosimport_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// TestMoveFromKratosSurvivesKill kills the command (SIGKILL, no chance to
// clean up) in the middle of a move and runs it again: whole pages only
// were written, and the second run moves exactly the rest.
func TestMoveFromKratosSurvivesKill(t *testing.T) {
	const users, page = 600, 20
	dir := t.TempDir()
	bin := filepath.Join(dir, "hoplite")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hoplite")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	b := testutil.Backends()[0]
	k := newKratosDB(t, b)
	fillKratos(t, k, users)
	targetDSN := b.NewDSN(t)
	migrateTarget(t, targetDSN)
	cfgPath := hopliteConfig(t, targetDSN)

	cmd := exec.Command(bin, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--yes",
		"--batch-size", "20", "--no-progress-bar")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	killed := false
	for lines.Scan() {
		if l := lines.Text(); strings.HasPrefix(l, "identities: ") && !strings.HasPrefix(l, "identities: 0/") {
			_ = cmd.Process.Kill()
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatal("the move ended before it could be killed")
	}

	st, err := sqlstore.Open(context.Background(), targetDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(table string) int {
		var n int
		if err := st.DB().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	moved := count("identities")
	if moved == 0 || moved == users || moved%page != 0 {
		t.Fatalf("after the kill Hoplite holds %d identities; want whole pages of %d, some but not all", moved, page)
	}
	if n := count("identity_credentials"); n != moved {
		t.Fatalf("%d credentials for %d identities: a page was cut in half", n, moved)
	}

	out, err := runCLI(t, "migrate", "from-kratos", "--source", k.dsn, "-c", cfgPath, "--yes")
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	want := "identities: 600 in Kratos, " + strconv.Itoa(users-moved) + " moved, " + strconv.Itoa(moved) + " already in Hoplite, 0 skipped"
	if !strings.Contains(out, want) || !strings.Contains(out, "sessions:   600 in Kratos, 600 moved") {
		t.Fatalf("second run output lacks %q:\n%s", want, out)
	}
	for _, table := range []string{"identities", "identity_credentials", "identity_credential_identifiers", "identity_verifiable_addresses", "identity_recovery_addresses", "sessions"} {
		if n := count(table); n != users {
			t.Errorf("%s: %d rows, want %d", table, n, users)
		}
	}
}
