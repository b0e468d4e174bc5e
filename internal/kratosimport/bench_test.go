package kratosimport_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hoplite-id/hoplite/internal/kratosimport"
	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// bulk inserts rows with multi-row INSERTs in one transaction.
func (k *kratosDB) bulk(table string, cols []string, rows [][]any) {
	k.t.Helper()
	tx, err := k.db.Begin()
	if err != nil {
		k.t.Fatal(err)
	}
	per := 30000 / len(cols)
	for from := 0; from < len(rows); from += per {
		to := min(from+per, len(rows))
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (to-from)*len(cols))
		n := 0
		for r := from; r < to; r++ {
			if r > from {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range cols {
				if c > 0 {
					b.WriteString(", ")
				}
				n++
				if k.dialect == "postgres" {
					b.WriteString("$" + strconv.Itoa(n))
				} else {
					b.WriteByte('?')
				}
			}
			b.WriteByte(')')
			args = append(args, rows[r]...)
		}
		if _, err := tx.Exec(b.String(), args...); err != nil {
			k.t.Fatalf("bulk %s: %v", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		k.t.Fatal(err)
	}
}

// fillKratos writes n users, each with a password, a verifiable and a
// recovery address and an active session, as Kratos would hold them.
func fillKratos(b testing.TB, k *kratosDB, n int) {
	hash := bcryptHash(b, "same-password-for-all")
	now := time.Now().UTC().Truncate(time.Second)
	nid := k.nid.String()
	var ids, creds, idents, vas, ras, sess [][]any
	for i := 0; i < n; i++ {
		id, cid := uuid.NewString(), uuid.NewString()
		email := fmt.Sprintf("user%07d@example.org", i)
		ids = append(ids, []any{id, nid, "default", `{"email":"` + email + `"}`, "active", now, now})
		creds = append(creds, []any{cid, `{"hashed_password":"` + hash + `"}`, k.types["password"].String(), id, nid, 0, now, now})
		idents = append(idents, []any{uuid.NewString(), email, cid, nid, k.types["password"].String(), now, now})
		vas = append(vas, []any{uuid.NewString(), "completed", "email", true, email, now, id, nid, now, now})
		ras = append(ras, []any{uuid.NewString(), "email", email, id, nid, now, now})
		sess = append(sess, []any{uuid.NewString(), now, now.Add(24 * time.Hour), now, id, secret.RandomToken(32), true, nid,
			secret.RandomToken(32), "aal1", `[{"method":"password","aal":"aal1","completed_at":"` + now.Format(time.RFC3339) + `"}]`, now, now})
	}
	k.bulk("identities", []string{"id", "nid", "schema_id", "traits", "state", "created_at", "updated_at"}, ids)
	k.bulk("identity_credentials", []string{"id", "config", "identity_credential_type_id", "identity_id", "nid", "version", "created_at", "updated_at"}, creds)
	k.bulk("identity_credential_identifiers", []string{"id", "identifier", "identity_credential_id", "nid", "identity_credential_type_id", "created_at", "updated_at"}, idents)
	k.bulk("identity_verifiable_addresses", []string{"id", "status", "via", "verified", "value", "verified_at", "identity_id", "nid", "created_at", "updated_at"}, vas)
	k.bulk("identity_recovery_addresses", []string{"id", "via", "value", "identity_id", "nid", "created_at", "updated_at"}, ras)
	k.bulk("sessions", []string{"id", "issued_at", "expires_at", "authenticated_at", "identity_id", "token", "active", "nid", "logout_token", "aal", "authentication_methods", "created_at", "updated_at"}, sess)
}

// sampleHeap records the largest Go heap in use until the returned
// function is called, which returns it.
func sampleHeap() func() uint64 {
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); <-done; return peak }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMoveFromKratos moves HOPLITE_KRATOS_BENCH_USERS (default
// 100000) users with their sessions into a fresh Hoplite database per
// iteration, on every configured database. Run with -benchtime 1x.
func BenchmarkMoveFromKratos(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HOPLITE_KRATOS_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range testutil.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			k := newKratosDB(b, backend)
			fillKratos(b, k, n)
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				b.StopTimer()
				s := testutil.StartServer(b, testutil.Options{DSN: backend.NewDSN(b)})
				target := kratosimport.Target{
					Store: s.App.Store, SchemaFor: s.App.Identities.SchemaFor, AvailableAAL: s.App.Identities.AvailableAAL,
					TokenHash: s.App.Sessions.TokenHash, Secrets: s.App.Config.Secrets.Default,
				}
				b.StartTimer()
				runtime.GC()
				stopSampling := sampleHeap()
				cpu0 := cpuTime()
				start := time.Now()
				batch, _ := strconv.Atoi(os.Getenv("HOPLITE_KRATOS_BENCH_BATCH"))
				r, err := kratosimport.Run(context.Background(), target, kratosimport.Options{Source: k.dsn, BatchSize: batch})
				elapsed := time.Since(start)
				cpu := cpuTime() - cpu0
				peak := stopSampling()
				if err != nil {
					b.Fatal(err)
				}
				if r.Identities.Moved != n || r.Sessions.Moved != n {
					b.Fatalf("moved %+v %+v", r.Identities, r.Sessions)
				}
				b.ReportMetric(float64(n)/elapsed.Seconds(), "users/s")
				b.ReportMetric(cpu.Seconds(), "cpu-s")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
				// CPU time of this process (the database server's own, for
				// PostgreSQL and MySQL, is not included): on a machine shared
				// with other work, wall time is the CPU time stretched by the
				// wait for a core.
				// The clock times let the run be matched with the load
				// average sampled meanwhile.
				b.Logf("%s: %d users with sessions in %s (%s CPU in this process, peak Go heap %d MiB), from %s to %s UTC", backend.Name, n, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond), peak>>20,
					start.UTC().Format("15:04:05"), start.Add(elapsed).UTC().Format("15:04:05"))
			}
		})
	}
}
