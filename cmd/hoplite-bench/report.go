package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/bench"
)

// docHeader starts a markdown file that does not exist yet.
const docHeader = "# Benchmarks\n\nSections between `hoplite-bench` markers are written by `go run ./cmd/hoplite-bench --markdown FILE`.\n"

var phaseTitles = map[string]string{
	phaseBare:            "bare net/http whoami (limit)",
	phaseWhoamiToken:     "whoami, `X-Session-Token`",
	phaseWhoamiCookie:    "whoami, session cookie",
	phaseAdminList:       "admin list identities, `per_page=250`",
	phaseAdminGet:        "admin get identity",
	phaseAdminListSerial: "admin list identities, `per_page=250`, 1 connection",
	phaseAdminGetSerial:  "admin get identity, 1 connection",
	phaseLogin:           "API login (create flow + submit)",
	phaseRegistration:    "API registration (create flow + submit)",
}

type phaseSummary struct {
	name          string
	rate          float64
	p50, p90, p99 time.Duration
	peakRSS       uint64
	cpuPerOp      time.Duration
	serverCores   float64
	clientCores   float64
	errors        uint64
	completed     uint64
	rates         []float64
}

type ratio struct {
	name   string
	value  float64
	perRun []float64
}

type budget struct {
	name, measured, target string
	met                    bool
}

type summary struct {
	runs         int
	phases       []phaseSummary
	byName       map[string]*phaseSummary
	idleRSS      uint64
	bareIdleRSS  uint64
	whoamiBytes  int
	compareRate  float64
	generateRate float64
	compareRuns  []float64
	generateRuns []float64
	ratios       []ratio
	budgets      []budget
}

func medianDur(xs []time.Duration) time.Duration {
	f := make([]float64, len(xs))
	for k, x := range xs {
		f[k] = float64(x)
	}
	return time.Duration(bench.Median(f))
}

func medianU(xs []uint64) uint64 {
	f := make([]float64, len(xs))
	for k, x := range xs {
		f[k] = float64(x)
	}
	return uint64(bench.Median(f))
}

func summarize(o *options, runs []*runResult) *summary {
	s := &summary{runs: len(runs), byName: map[string]*phaseSummary{}}
	names := append([]string{phaseBare}, o.phases...)
	for _, name := range names {
		var rates []float64
		var p50, p90, p99 []time.Duration
		var peaks []uint64
		var cpu []time.Duration
		var sCores, cCores []float64
		ps := phaseSummary{name: name}
		for _, r := range runs {
			res, ok := r.phases[name]
			if !ok {
				continue
			}
			rates = append(rates, res.Rate)
			p50 = append(p50, res.Latency.Quantile(0.5))
			p90 = append(p90, res.Latency.Quantile(0.9))
			p99 = append(p99, res.Latency.Quantile(0.99))
			peaks = append(peaks, res.PeakRSS)
			cpu = append(cpu, res.CPUPerOp())
			sCores = append(sCores, res.Cores(res.ServerCPU))
			cCores = append(cCores, res.Cores(res.ClientCPU))
			ps.errors += res.Errors
			ps.completed += res.Completed
		}
		if len(rates) == 0 {
			continue
		}
		ps.rate, ps.rates = bench.Median(rates), rates
		ps.p50, ps.p90, ps.p99 = medianDur(p50), medianDur(p90), medianDur(p99)
		ps.peakRSS = medianU(peaks)
		ps.cpuPerOp = medianDur(cpu)
		ps.serverCores, ps.clientCores = bench.Median(sCores), bench.Median(cCores)
		s.phases = append(s.phases, ps)
	}
	for k := range s.phases {
		s.byName[s.phases[k].name] = &s.phases[k]
	}
	var idle, bareIdle []uint64
	for _, r := range runs {
		idle = append(idle, r.idleRSS)
		bareIdle = append(bareIdle, r.bareIdleRSS)
		s.whoamiBytes = r.whoamiBytes
		s.compareRuns = append(s.compareRuns, r.compareRate)
		s.generateRuns = append(s.generateRuns, r.generateRate)
	}
	s.idleRSS, s.bareIdleRSS = medianU(idle), medianU(bareIdle)
	s.compareRate, s.generateRate = bench.Median(s.compareRuns), bench.Median(s.generateRuns)

	// Ratios are taken within each run (the two sides measured minutes
	// apart on the same machine), then the median of the runs.
	perRun := func(name string, f func(r *runResult) (float64, bool)) {
		var xs []float64
		for _, r := range runs {
			if v, ok := f(r); ok {
				xs = append(xs, v)
			}
		}
		if len(xs) > 0 {
			s.ratios = append(s.ratios, ratio{name: name, value: bench.Median(xs), perRun: xs})
		}
	}
	rateOf := func(r *runResult, name string) (float64, bool) {
		p, ok := r.phases[name]
		return p.Rate, ok
	}
	p99Of := func(r *runResult, name string) (float64, bool) {
		p, ok := r.phases[name]
		return float64(p.Latency.Quantile(0.99)), ok && p.Completed > 0
	}
	for _, w := range []string{phaseWhoamiToken, phaseWhoamiCookie} {
		perRun(w+" rps / bare rps", func(r *runResult) (float64, bool) {
			a, ok1 := rateOf(r, w)
			b, ok2 := rateOf(r, phaseBare)
			return a / b, ok1 && ok2 && b > 0
		})
	}
	for _, w := range []string{phaseWhoamiToken, phaseWhoamiCookie} {
		perRun(w+" p99 / bare p99", func(r *runResult) (float64, bool) {
			a, ok1 := p99Of(r, w)
			b, ok2 := p99Of(r, phaseBare)
			return a / b, ok1 && ok2 && b > 0
		})
	}
	perRun("login rps / raw compare rate", func(r *runResult) (float64, bool) {
		a, ok := rateOf(r, phaseLogin)
		return a / r.compareRate, ok && r.compareRate > 0
	})
	perRun("registration rps / raw generate rate", func(r *runResult) (float64, bool) {
		a, ok := rateOf(r, phaseRegistration)
		return a / r.generateRate, ok && r.generateRate > 0
	})
	s.budgets = budgets(o, s)
	return s
}

func (s *summary) ratio(name string) (float64, bool) {
	for _, r := range s.ratios {
		if r.name == name {
			return r.value, true
		}
	}
	return 0, false
}

// budgets are the team's targets (see docs/benchmarks.md).
func budgets(o *options, s *summary) []budget {
	var out []budget
	share, shareNote := 0.50, ""
	switch o.db {
	case "postgres":
		share = 0.35
	case "mysql":
		share, shareNote = 0.35, " (PostgreSQL's target; none set for MySQL)"
	}
	pct := func(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }
	for _, w := range []string{phaseWhoamiToken, phaseWhoamiCookie} {
		if v, ok := s.ratio(w + " rps / bare rps"); ok {
			out = append(out, budget{name: w + " throughput vs bare handler, " + fmt.Sprintf("%d connections", o.concurrency), measured: pct(v), target: "≥ " + pct(share) + shareNote, met: v >= share})
		}
	}
	for _, w := range []string{phaseWhoamiToken, phaseWhoamiCookie} {
		if v, ok := s.ratio(w + " p99 / bare p99"); ok {
			out = append(out, budget{name: w + " p99 vs bare p99", measured: fmt.Sprintf("%.1f×", v), target: "≤ 3×", met: v <= 3})
		}
	}
	if v, ok := s.ratio("login rps / raw compare rate"); ok {
		out = append(out, budget{name: "login throughput vs raw hash.Compare rate", measured: pct(v), target: "≥ 85%", met: v >= 0.85})
	}
	if v, ok := s.ratio("registration rps / raw generate rate"); ok {
		out = append(out, budget{name: "registration throughput vs raw Generate rate", measured: pct(v), target: "≥ 85%", met: v >= 0.85})
	}
	conns := fmt.Sprintf("%d connections", o.concurrency)
	for _, a := range []struct {
		phase, what, target string
		limit               time.Duration
	}{
		{phaseAdminList, "admin list (250) p50, " + conns, "≤ 25 ms", 25 * time.Millisecond},
		{phaseAdminListSerial, "admin list (250) p50, 1 connection", "≤ 25 ms", 25 * time.Millisecond},
		{phaseAdminGet, "admin get identity p50, " + conns, "≤ 2 ms", 2 * time.Millisecond},
		{phaseAdminGetSerial, "admin get identity p50, 1 connection", "≤ 2 ms", 2 * time.Millisecond},
	} {
		if p, ok := s.byName[a.phase]; ok {
			out = append(out, budget{name: a.what, measured: ms(p.p50), target: a.target, met: p.p50 <= a.limit})
		}
	}
	out = append(out, budget{name: "idle RSS", measured: mb(s.idleRSS), target: "≤ 40 MiB", met: s.idleRSS <= 40<<20})
	var peak uint64
	found := false
	for _, w := range []string{phaseWhoamiToken, phaseWhoamiCookie} {
		if p, ok := s.byName[w]; ok {
			peak, found = max(peak, p.peakRSS), true
		}
	}
	if found {
		out = append(out, budget{name: "peak RSS under whoami load", measured: mb(peak), target: "≤ 100 MiB", met: peak <= 100<<20})
	}
	return out
}

func metWord(b budget) string {
	if b.met {
		return "met"
	}
	return "missed"
}

func (s *summary) print(w io.Writer) {
	what := "median of %d runs"
	if s.runs == 1 {
		what = "%d run"
	}
	fmt.Fprintf(w, "summary ("+what+")\n", s.runs)
	for _, p := range s.phases {
		fmt.Fprintf(w, "  %-17s %9.1f/s  p50 %9s  p90 %9s  p99 %9s  errors %d  peak RSS %s  server CPU %s/op, %.2f cores; client %.2f cores\n",
			p.name, p.rate, ms(p.p50), ms(p.p90), ms(p.p99), p.errors, mb(p.peakRSS), us(p.cpuPerOp), p.serverCores, p.clientCores)
	}
	if s.compareRate > 0 {
		fmt.Fprintf(w, "  raw hash.Compare   %9.2f/s\n", s.compareRate)
	}
	if s.generateRate > 0 {
		fmt.Fprintf(w, "  raw Generate       %9.2f/s\n", s.generateRate)
	}
	fmt.Fprintf(w, "  hoplite idle RSS %s; whoami answer %d bytes\n", mb(s.idleRSS), s.whoamiBytes)
	fmt.Fprintln(w, "ratios")
	for _, r := range s.ratios {
		fmt.Fprintf(w, "  %-38s %.3f  (runs: %s)\n", r.name, r.value, floats(r.perRun, "%.3f"))
	}
	fmt.Fprintln(w, "budgets")
	for _, b := range s.budgets {
		fmt.Fprintf(w, "  %-58s %-12s %-14s %s\n", b.name, b.measured, b.target, metWord(b))
	}
}

func floats(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for k, x := range xs {
		parts[k] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ", ")
}

// sectionID names this configuration's section in the markdown file.
func (o *options) sectionID() string {
	id := o.db + "-" + o.hasher
	if o.hasher == "bcrypt" {
		id += fmt.Sprint(o.bcryptCost)
	}
	if o.smoke {
		id += "-smoke"
	}
	return id
}

var dbTitles = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MySQL"}

func (s *summary) markdown(o *options, m bench.Machine, seedSummary string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s, %s\n\n", dbTitles[o.db], o.hasherLabel())
	fmt.Fprintf(&b, "Measured %s on %d CPUs (%s), %s RAM, Linux %s, %s, commit `%s`:\n\n",
		now.UTC().Format("2006-01-02 15:04 UTC"), m.CPUs, m.CPUModel, gib(m.MemTotal), m.Kernel, m.Go, m.Commit)
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", o.commandLine())
	what := fmt.Sprintf("median of %d runs", s.runs)
	if s.runs == 1 {
		what = "one run"
	}
	fmt.Fprintf(&b, "%s; %d connections; %s measured per phase after %s of warm-up; server, database, bare server and load generator share the machine. Seeding: %s.\n\n",
		capitalize(what), o.concurrency, o.duration, o.warmup, seedSummary)
	b.WriteString("| phase | ops/s | p50 | p90 | p99 | errors | server peak RSS | server CPU per op | server / client cores |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range s.phases {
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %d | %s | %s | %.2f / %.2f |\n", phaseTitles[p.name], p.rate, ms(p.p50), ms(p.p90), ms(p.p99),
			p.errors, mb(p.peakRSS), us(p.cpuPerOp), p.serverCores, p.clientCores)
	}
	if s.compareRate > 0 {
		fmt.Fprintf(&b, "| raw `hash.Compare`, %d goroutines (limit) | %.2f | | | | | | | |\n", m.CPUs, s.compareRate)
	}
	if s.generateRate > 0 {
		fmt.Fprintf(&b, "| raw `Hasher.Generate`, %d goroutines (limit) | %.2f | | | | | | | |\n", m.CPUs, s.generateRate)
	}
	fmt.Fprintf(&b, "\nHoplite idle RSS %s (bare server %s); the whoami answer is %d bytes (the bare server replays it).\n\n",
		mb(s.idleRSS), mb(s.bareIdleRSS), s.whoamiBytes)
	b.WriteString("| budget | measured | target | |\n|---|---:|---|---|\n")
	for _, bu := range s.budgets {
		word := "met"
		if !bu.met {
			word = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", bu.name, bu.measured, bu.target, word)
	}
	if s.runs > 1 {
		b.WriteString("\nPer run:")
		for _, p := range s.phases {
			fmt.Fprintf(&b, " %s %s ops/s;", p.name, floats(p.rates, "%.1f"))
		}
		if s.compareRate > 0 {
			fmt.Fprintf(&b, " raw compare %s/s;", floats(s.compareRuns, "%.2f"))
		}
		if s.generateRate > 0 {
			fmt.Fprintf(&b, " raw generate %s/s;", floats(s.generateRuns, "%.2f"))
		}
		for _, r := range s.ratios {
			fmt.Fprintf(&b, " %s %s;", r.name, floats(r.perRun, "%.2f"))
		}
		text := strings.TrimSuffix(b.String(), ";")
		b.Reset()
		b.WriteString(text)
		b.WriteString(".\n")
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
