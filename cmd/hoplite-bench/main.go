// Command hoplite-bench measures Hoplite's two hot paths against their
// physical limits on the same machine, in the same run: the session check
// (/sessions/whoami) against a bare net/http server answering the same
// bytes, and the password flows against the raw rate of the configured
// password hash. It also measures the admin identity list and get, and the
// server's memory.
//
//	go run ./cmd/hoplite-bench --smoke                       # CI: a few seconds, every phase, fails on any error
//	go run ./cmd/hoplite-bench --runs 3 --markdown docs/benchmarks.md
//	go run ./cmd/hoplite-bench --db postgres --dsn 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' --hasher argon2
//
// It builds ./cmd/hoplite into a temporary directory, migrates a fresh
// database with `hoplite migrate sql`, seeds identities and sessions
// straight into it (sqlstore's bulk seeding API), then runs `hoplite serve`
// as a separate process on random loopback ports and drives it from this
// process. The bare server is this same binary re-executed as
// `hoplite-bench bare-server`. Everything talks to 127.0.0.1 only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// roleEnv makes a re-executed binary (this command, or its test binary) act
// as the bare server.
const (
	roleEnv  = "HOPLITE_BENCH_ROLE"
	roleBare = "bare-server"
)

func main() {
	if os.Getenv(roleEnv) == roleBare || (len(os.Args) > 1 && os.Args[1] == roleBare) {
		os.Exit(bareServerMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Phase names, in the order they run.
const (
	phaseWhoamiToken  = "whoami-token"
	phaseWhoamiCookie = "whoami-cookie"
	phaseAdminList    = "admin-list"
	phaseAdminGet     = "admin-get"
	// The admin phases again on one connection: unloaded latency.
	phaseAdminListSerial = "admin-list-serial"
	phaseAdminGetSerial  = "admin-get-serial"
	phaseLogin           = "login"
	phaseRegistration    = "registration"
	// phaseBare is the bare net/http server answering whoami's bytes.
	phaseBare = "bare-whoami"
)

var allPhases = []string{phaseWhoamiToken, phaseWhoamiCookie, phaseAdminList, phaseAdminGet, phaseAdminListSerial, phaseAdminGetSerial, phaseLogin, phaseRegistration}

// serialPhase reports whether a phase runs on one connection whatever
// --concurrency says.
func serialPhase(name string) bool {
	return name == phaseAdminListSerial || name == phaseAdminGetSerial
}

type options struct {
	revocations  int
	db           string
	dsn          string
	keepDB       bool
	identities   int
	sessions     int
	hasher       string
	bcryptCost   int
	phases       []string
	concurrency  int
	duration     time.Duration
	warmup       time.Duration
	maxRequests  int64
	hashDuration time.Duration
	timeout      time.Duration
	runs         int
	smoke        bool
	markdown     string
	hopliteBin   string
	workDir      string
	args         []string
}

func (o *options) has(phase string) bool {
	for _, p := range o.phases {
		if p == phase {
			return true
		}
	}
	return false
}

func (o *options) hasWhoami() bool { return o.has(phaseWhoamiToken) || o.has(phaseWhoamiCookie) }

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{args: args}
	fs := flag.NewFlagSet("hoplite-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.db, "db", "sqlite", "database: sqlite (a temporary file), postgres or mysql (with --dsn)")
	fs.StringVar(&o.dsn, "dsn", "", "postgres or mysql server DSN; a scratch database is created on that server and dropped at the end")
	fs.BoolVar(&o.keepDB, "keep-db", false, "keep the scratch database (and the SQLite file) instead of dropping it")
	fs.IntVar(&o.identities, "identities", 100000, "identities to seed")
	fs.IntVar(&o.sessions, "sessions", 100000, "sessions to seed (spread over the identities)")
	fs.StringVar(&o.hasher, "hasher", "bcrypt", "password hasher under test: bcrypt or argon2 (Hoplite's argon2 defaults)")
	fs.IntVar(&o.bcryptCost, "bcrypt-cost", 12, "bcrypt cost (the server raises costs below 12 to 12)")
	phases := fs.String("phases", "all", "comma-separated phases to run: "+strings.Join(allPhases, ", ")+" (or whoami, admin, flows, all)")
	fs.IntVar(&o.concurrency, "concurrency", 32, "connections (closed-loop clients) per phase")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per phase")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each phase's measured time")
	fs.Int64Var(&o.maxRequests, "max-requests", 0, "end a phase's measurement after this many operations (0: no cap)")
	fs.DurationVar(&o.hashDuration, "hash-duration", 3*time.Second, "time for each raw password-hash rate measurement")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "limit for one request")
	fs.IntVar(&o.runs, "runs", 1, "repeat the measurement (not the seeding) this many times and report medians")
	fs.IntVar(&o.revocations, "revocations", 0, "after the phases, time this many revocations made through the server as seen by a second server over the same database (sign-ins cost one password hash each)")
	fs.BoolVar(&o.smoke, "smoke", false, "CI mode: small data, every phase briefly, a few seconds in all; exits non-zero on any error")
	fs.StringVar(&o.markdown, "markdown", "", "write (or replace) this run's section in a markdown file")
	fs.StringVar(&o.hopliteBin, "hoplite-bin", "", "use this hoplite binary instead of building ./cmd/hoplite")
	fs.StringVar(&o.workDir, "workdir", "", "directory for the temporary files (default: the system temp dir)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hoplite-bench [flags]\n       hoplite-bench bare-server --addr 127.0.0.1:0 --answer FILE\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.smoke {
		// Small and short, every phase, unless a flag says otherwise.
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("identities", func() { o.identities = 300 })
		def("sessions", func() { o.sessions = 300 })
		def("concurrency", func() { o.concurrency = 4 })
		def("duration", func() { o.duration = time.Second })
		def("warmup", func() { o.warmup = 200 * time.Millisecond })
		def("hash-duration", func() { o.hashDuration = 500 * time.Millisecond })
		def("timeout", func() { o.timeout = 20 * time.Second })
		def("revocations", func() { o.revocations = 2 })
	}

	for _, p := range strings.Split(*phases, ",") {
		switch p = strings.TrimSpace(p); p {
		case "", "all":
			if p == "all" {
				o.phases = append(o.phases, allPhases...)
			}
		case "whoami":
			o.phases = append(o.phases, phaseWhoamiToken, phaseWhoamiCookie)
		case "admin":
			o.phases = append(o.phases, phaseAdminList, phaseAdminGet, phaseAdminListSerial, phaseAdminGetSerial)
		case "flows":
			o.phases = append(o.phases, phaseLogin, phaseRegistration)
		default:
			known := false
			for _, a := range allPhases {
				known = known || a == p
			}
			if !known {
				return nil, fmt.Errorf("--phases: unknown phase %q (known: %s)", p, strings.Join(allPhases, ", "))
			}
			o.phases = append(o.phases, p)
		}
	}
	// Keep the fixed order (memory-hungry phases last) and drop repeats.
	var ordered []string
	for _, a := range allPhases {
		if o.has(a) {
			ordered = append(ordered, a)
		}
	}
	o.phases = ordered

	switch {
	case len(o.phases) == 0:
		return nil, errors.New("--phases: no phase selected")
	case o.db != "sqlite" && o.db != "postgres" && o.db != "mysql":
		return nil, fmt.Errorf("--db must be sqlite, postgres or mysql, got %q", o.db)
	case o.db != "sqlite" && o.dsn == "":
		return nil, fmt.Errorf("--db %s needs --dsn (a server DSN such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", o.db)
	case o.db == "sqlite" && o.dsn != "":
		return nil, errors.New("--dsn is for postgres and mysql; sqlite uses a temporary file")
	case o.hasher != "bcrypt" && o.hasher != "argon2":
		return nil, fmt.Errorf("--hasher must be bcrypt or argon2, got %q", o.hasher)
	case o.bcryptCost < 4 || o.bcryptCost > 16:
		return nil, fmt.Errorf("--bcrypt-cost must be between 4 and 16, got %d", o.bcryptCost)
	case o.identities < 1 || o.sessions < 1:
		return nil, errors.New("--identities and --sessions must be at least 1")
	case o.concurrency < 1:
		return nil, errors.New("--concurrency must be at least 1")
	case o.duration <= 0 || o.warmup < 0 || o.hashDuration <= 0 || o.timeout <= 0:
		return nil, errors.New("--duration, --hash-duration and --timeout must be positive, --warmup not negative")
	case o.runs < 1:
		return nil, errors.New("--runs must be at least 1")
	case o.maxRequests < 0:
		return nil, errors.New("--max-requests must not be negative")
	}
	if o.hasher == "bcrypt" && o.bcryptCost < 12 {
		fmt.Fprintf(stderr, "note: the server raises bcrypt costs below 12 to 12 outside dev mode; measuring cost 12\n")
		o.bcryptCost = 12
	}
	if o.workDir != "" {
		abs, err := filepath.Abs(o.workDir)
		if err != nil {
			return nil, err
		}
		o.workDir = abs
	}
	return o, nil
}

// hasherLabel names the hasher under test, e.g. "bcrypt cost 12".
func (o *options) hasherLabel() string {
	if o.hasher == "argon2" {
		return "argon2id (Hoplite defaults)"
	}
	return fmt.Sprintf("bcrypt cost %d", o.bcryptCost)
}

// commandLine is how this run was started, for the report.
func (o *options) commandLine() string {
	prog := "hoplite-bench"
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, "go-build") {
		prog = "go run ./cmd/hoplite-bench"
	}
	parts := []string{prog}
	for _, a := range o.args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
