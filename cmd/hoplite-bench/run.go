package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hoplite-id/hoplite/internal/bench"
	"github.com/hoplite-id/hoplite/internal/hash"
)

// runResult is one repetition of the measurement.
type runResult struct {
	idleRSS      uint64
	bareIdleRSS  uint64
	whoamiBytes  int
	phases       map[string]bench.Result
	compareRate  float64 // raw hash.Compare calls per second, all cores
	generateRate float64 // raw Hasher.Generate calls per second, all cores
	// revocationDelays, sorted: how long a second instance kept accepting
	// a session revoked through the first (--revocations).
	revocationDelays []time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "hoplite-bench:", err)
		return 2
	}
	failures, err := benchmark(ctx, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hoplite-bench:", err)
		return 1
	}
	if failures > 0 {
		fmt.Fprintf(stderr, "hoplite-bench: %d failed operation(s) or empty phase(s); see above\n", failures)
		return 1
	}
	return 0
}

// benchmark runs everything and returns how many operations failed (plus
// phases that completed nothing).
func benchmark(ctx context.Context, o *options, stdout, stderr io.Writer) (failures int, err error) {
	began := time.Now()
	work, err := os.MkdirTemp(o.workDir, "hoplite-bench-")
	if err != nil {
		return 0, err
	}
	defer func() {
		if o.keepDB {
			fmt.Fprintf(stdout, "kept %s\n", work)
			return
		}
		_ = os.RemoveAll(work)
	}()

	root, rootErr := moduleRoot(ctx)
	bin := o.hopliteBin
	if bin == "" {
		if rootErr != nil {
			return 0, rootErr
		}
		t := time.Now()
		if bin, err = buildHoplite(ctx, root, work); err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "built ./cmd/hoplite in %s\n", round(time.Since(t)))
	}
	machine := bench.DescribeMachine(root)
	fmt.Fprintf(stdout, "machine: %d CPUs (%s), %s RAM, Linux %s, %s, commit %s\n",
		machine.CPUs, machine.CPUModel, gib(machine.MemTotal), machine.Kernel, machine.Go, machine.Commit)
	fmt.Fprintf(stdout, "settings: --db %s, %s, %d connections, %s per phase after %s warm-up, %d run(s), phases %s\n",
		o.db, o.hasherLabel(), o.concurrency, o.duration, o.warmup, o.runs, strings.Join(o.phases, ","))

	dsn := "sqlite://" + filepath.Join(work, "bench.sqlite") + "?_fk=true"
	if o.db != "sqlite" {
		var drop func() error
		dsn, drop, err = scratchDB(ctx, o.db, o.dsn)
		if err != nil {
			return 0, err
		}
		if o.keepDB {
			fmt.Fprintf(stdout, "scratch database (kept): %s\n", dsn)
		} else {
			defer func() {
				if err := drop(); err != nil {
					fmt.Fprintln(stderr, "dropping the scratch database:", err)
				}
			}()
		}
	}

	cfgBytes := serverConfig(o, dsn, 4433, 4434)
	cfg, err := loadConfig(cfgBytes)
	if err != nil {
		return 0, fmt.Errorf("generated configuration: %w", err)
	}
	hasher, err := hasherOf(cfg)
	if err != nil {
		return 0, err
	}
	cfgPath := filepath.Join(work, "hoplite.yml")
	if err := os.WriteFile(cfgPath, cfgBytes, 0o600); err != nil {
		return 0, err
	}
	t := time.Now()
	if err := migrate(ctx, bin, cfgPath); err != nil {
		return 0, err
	}
	fmt.Fprintf(stdout, "migrated with `hoplite migrate sql -c … --yes` in %s\n", round(time.Since(t)))
	data, err := seed(ctx, cfg, hasher, o.identities, o.sessions, stdout)
	if err != nil {
		return 0, fmt.Errorf("seeding: %w", err)
	}

	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	var runs []*runResult
	for r := 1; r <= o.runs; r++ {
		if err := ctx.Err(); err != nil {
			return failures, err
		}
		fmt.Fprintf(stdout, "\nrun %d/%d\n", r, o.runs)
		env := &phaseEnv{o: o, data: data, cookieName: cfg.Session.Cookie.Name, runTag: fmt.Sprintf("%s-r%d", hex.EncodeToString(tag), r)}
		res, err := measureRun(ctx, o, bin, work, dsn, hasher, env, stdout, stderr)
		if err != nil {
			return failures, err
		}
		for _, name := range append([]string{phaseBare}, o.phases...) {
			p, ok := res.phases[name]
			if !ok {
				continue
			}
			failures += int(p.Errors)
			if p.Succeeded == 0 {
				fmt.Fprintf(stdout, "phase %s completed no operation\n", name)
				failures++
			}
		}
		runs = append(runs, res)
	}

	s := summarize(o, runs)
	fmt.Fprintln(stdout)
	s.print(stdout)
	if o.markdown != "" {
		md := s.markdown(o, machine, data.summary, time.Now())
		if err := bench.WriteSection(o.markdown, o.sectionID(), docHeader, md); err != nil {
			return failures, err
		}
		fmt.Fprintf(stdout, "wrote section %q of %s\n", o.sectionID(), o.markdown)
	}
	fmt.Fprintf(stdout, "done in %s\n", round(time.Since(began)))
	return failures, nil
}

// measureRun starts a fresh server, reads its idle memory, runs every
// selected phase against it (the bare server measured around the whoami
// phases, the raw hash rates around the password phases) and stops it.
func measureRun(ctx context.Context, o *options, bin, work, dsn string, hasher hash.Hasher, env *phaseEnv, stdout, stderr io.Writer) (*runResult, error) {
	res := &runResult{phases: map[string]bench.Result{}}
	srv, err := startHoplite(ctx, o, bin, work, dsn)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.stop(30 * time.Second)
		}
	}()
	settle := time.Second
	if o.smoke {
		settle = 200 * time.Millisecond
	}
	time.Sleep(settle)
	mem, err := bench.ReadMemory(srv.pid())
	if err != nil {
		return nil, err
	}
	res.idleRSS = mem.RSS
	fmt.Fprintf(stdout, "hoplite serve (pid %d) idle RSS %s\n", srv.pid(), mb(mem.RSS))

	answer, err := fetchWhoami(srv.publicAddr, env.cookieName, env.data.tokens[0], o.timeout)
	if err != nil {
		return nil, err
	}
	res.whoamiBytes = len(answer.Body)

	report := func(r bench.Result) {
		res.phases[r.Name] = r
		fmt.Fprintf(stdout, "phase %-17s %9.1f/s  p50 %9s  p90 %9s  p99 %9s  ok %7d  errors %d  peak RSS %s  server CPU %s/op, %.2f cores; client %.2f cores\n",
			r.Name, r.Rate, ms(r.Latency.Quantile(0.5)), ms(r.Latency.Quantile(0.9)), ms(r.Latency.Quantile(0.99)),
			r.Completed, r.Errors, mb(r.PeakRSS), us(r.CPUPerOp()), r.Cores(r.ServerCPU), r.Cores(r.ClientCPU))
		for _, e := range r.ErrorSamples {
			fmt.Fprintf(stdout, "  error: %s\n", e)
		}
	}
	measure := func(p bench.Phase, pid int) bench.Result {
		p.Context = ctx
		var watch *bench.PeakWatch
		var srv0, srv1, self0, self1 time.Duration
		p.OnStart = func() { watch = bench.WatchPeak(pid, 50*time.Millisecond) }
		p.WindowStart = func() { srv0, _ = bench.ProcessCPU(pid); self0 = bench.SelfCPU() }
		p.WindowEnd = func() { srv1, _ = bench.ProcessCPU(pid); self1 = bench.SelfCPU() }
		r := bench.Run(p)
		r.PeakRSS = watch.Stop()
		r.ServerCPU, r.ClientCPU = srv1-srv0, self1-self0
		return r
	}

	// The limits are measured right before and right after the phases they
	// bound, and averaged, so a slow drift of the shared machine's load
	// biases both sides alike.
	var bare *process
	var bareAddr string
	if o.hasWhoami() {
		path := filepath.Join(work, "whoami-answer.json")
		b, _ := json.Marshal(answer)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
		bare, bareAddr, err = startBare(ctx, path)
		if err != nil {
			return nil, err
		}
		defer func() { _ = bare.stop(10 * time.Second) }()
		if m, err := bench.ReadMemory(bare.pid()); err == nil {
			res.bareIdleRSS = m.RSS
		}
	}
	var bareRuns []bench.Result
	measureBare := func() {
		r := measure(env.phase(phaseBare, bareAddr), bare.pid())
		bareRuns = append(bareRuns, r)
		report(r)
	}

	pw := []byte(benchPassword)
	hashed, err := hasher.Generate(ctx, pw)
	if err != nil {
		return nil, err
	}
	var compareRates, generateRates []float64
	rawRate := func(what string, fn func() error, into *[]float64) error {
		rate, err := bench.HashRate(ctx, runtime.NumCPU(), o.hashDuration, fn)
		if err != nil {
			return fmt.Errorf("raw %s: %w", what, err)
		}
		*into = append(*into, rate)
		fmt.Fprintf(stdout, "raw %-19s %9.2f/s on %d goroutines (%s)\n", what, rate, runtime.NumCPU(), o.hasherLabel())
		return nil
	}
	rawCompare := func() error {
		return rawRate("hash.Compare", func() error { return hash.Compare(ctx, pw, hashed) }, &compareRates)
	}
	rawGenerate := func() error {
		return rawRate("Hasher.Generate", func() error { _, err := hasher.Generate(ctx, pw); return err }, &generateRates)
	}

	lastWhoami := ""
	for _, name := range o.phases {
		if name == phaseWhoamiToken || name == phaseWhoamiCookie {
			lastWhoami = name
		}
	}
	for _, name := range o.phases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch name {
		case phaseWhoamiToken, phaseWhoamiCookie:
			if len(bareRuns) == 0 {
				measureBare()
			}
		case phaseLogin:
			if err := rawCompare(); err != nil {
				return nil, err
			}
		case phaseRegistration:
			if err := rawGenerate(); err != nil {
				return nil, err
			}
		}
		addr := srv.publicAddr
		if name == phaseAdminList || name == phaseAdminGet || serialPhase(name) {
			addr = srv.adminAddr
		}
		report(measure(env.phase(name, addr), srv.pid()))
		if srv.exited() {
			return nil, fmt.Errorf("hoplite serve exited during %s: %v\n%s", name, srv.err, srv.output.String())
		}
		switch name {
		case lastWhoami:
			measureBare()
			if err := bare.stop(10 * time.Second); err != nil {
				return nil, fmt.Errorf("bare server: %w\n%s", err, bare.output.String())
			}
			b := mergeResults(bareRuns)
			fmt.Fprintf(stdout, "bare-whoami mean of before and after: %.1f/s\n", b.Rate)
			res.phases[phaseBare] = b
		case phaseLogin:
			if err := rawCompare(); err != nil {
				return nil, err
			}
			res.compareRate = mean(compareRates)
		case phaseRegistration:
			if err := rawGenerate(); err != nil {
				return nil, err
			}
			res.generateRate = mean(generateRates)
		}
	}
	if o.revocations > 0 {
		delays, err := measureRevocation(ctx, o, bin, work, dsn, srv, env, o.revocations)
		if err != nil {
			return nil, fmt.Errorf("revocation delay: %w", err)
		}
		res.revocationDelays = delays
		fmt.Fprintf(stdout, "revocation through one instance, refused by a second: n %d  p50 %s  p90 %s  max %s\n",
			len(delays), ms(quantileOf(delays, 0.5)), ms(quantileOf(delays, 0.9)), ms(delays[len(delays)-1]))
	}
	stopped = true
	if err := srv.stop(30 * time.Second); err != nil {
		return nil, fmt.Errorf("hoplite serve: %w\n%s", err, srv.output.String())
	}
	if logs := srv.output.String(); logs != "" {
		fmt.Fprintf(stderr, "hoplite serve logged (log.level error):\n%s\n", logs)
	}
	return res, nil
}

func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(1, len(xs)))
}

// mergeResults combines measurements of the same thing: mean rate, pooled
// latencies, summed counts and CPU, the higher peak.
func mergeResults(rs []bench.Result) bench.Result {
	out := bench.Result{Name: rs[0].Name}
	var rates []float64
	for k := range rs {
		r := &rs[k]
		rates = append(rates, r.Rate)
		out.Completed += r.Completed
		out.Succeeded += r.Succeeded
		out.Latency.Merge(&r.Latency)
		out.Errors += r.Errors
		out.ErrorSamples = append(out.ErrorSamples, r.ErrorSamples...)
		out.Window += r.Window
		out.PeakRSS = max(out.PeakRSS, r.PeakRSS)
		out.ServerCPU += r.ServerCPU
		out.ClientCPU += r.ClientCPU
	}
	out.Rate = mean(rates)
	return out
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case d == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.2f ms", v)
	case v < 10000:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f s", v/1000)
	}
}

// us formats a CPU time per operation.
func us(d time.Duration) string {
	if d >= 10*time.Millisecond {
		return ms(d)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
