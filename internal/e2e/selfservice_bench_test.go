package e2e_test

// Benchmarks of the hot self-service paths. They measure; they assert
// nothing about timings. docs/benchmarks.md has numbers and the command
// line.

import (
	"context"
	"io"
	"net/http"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/hoplite-id/hoplite/internal/secret"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// benchServer starts a server on backend b with one signed-in user and
// returns it with the user's session token.
func benchServer(b *testing.B, backend testutil.Backend) (*testutil.Server, string) {
	b.Helper()
	s := testutil.StartServer(b, testutil.Options{DSN: backend.NewDSN(b)})
	ssRegister(b, s, "bench@example.org", ssPassword)
	return s, *ssLogin(b, s, "bench@example.org", ssPassword).SessionToken
}

// BenchmarkWhoamiHTTP is GET /sessions/whoami with X-Session-Token over a
// keep-alive connection: routing, token hashing, one indexed query joining
// the identity and its addresses, and JSON encoding.
func BenchmarkWhoamiHTTP(b *testing.B) {
	for _, backend := range testutil.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			s, token := benchServer(b, backend)
			client := &http.Client{}
			req, err := http.NewRequest(http.MethodGet, ssFlowURL(s, "/sessions/whoami"), nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("X-Session-Token", token)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}

// BenchmarkWhoamiHTTPParallel is BenchmarkWhoamiHTTP from GOMAXPROCS
// concurrent clients.
func BenchmarkWhoamiHTTPParallel(b *testing.B) {
	for _, backend := range testutil.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			s, token := benchServer(b, backend)
			url := ssFlowURL(s, "/sessions/whoami")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				client := &http.Client{}
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, url, nil)
					req.Header.Set("X-Session-Token", token)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPasswordLoginAPI is one API login: GET /self-service/login/api
// then POST /self-service/login with the SDK, with the test hasher (bcrypt
// cost 4). Subtract BenchmarkBcryptCost4Compare to see the cost of
// everything but the hash.
func BenchmarkPasswordLoginAPI(b *testing.B) {
	for _, backend := range testutil.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			s, _ := benchServer(b, backend)
			ctx := context.Background()
			api := s.Public.V0alpha2Api
			body := ssPasswordLogin("bench@example.org", ssPassword)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f, _, err := api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).SubmitSelfServiceLoginFlowBody(body).Execute(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBcryptCost4Compare is the hash check inside one test login.
func BenchmarkBcryptCost4Compare(b *testing.B) {
	h, err := bcrypt.GenerateFromPassword([]byte(ssPassword), 4)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := bcrypt.CompareHashAndPassword(h, []byte(ssPassword)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionTokenLookup is the store's lookup of a session by token
// hash (what every authenticated request does), without HTTP.
func BenchmarkSessionTokenLookup(b *testing.B) {
	for _, backend := range testutil.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			s, token := benchServer(b, backend)
			ctx := context.Background()
			h := secret.NewTokenHasher("session-token", s.App.Config.Secrets.Default).Hash(token)
			if _, err := s.App.Store.SessionByTokenHash(ctx, h); err != nil {
				b.Fatalf("lookup: %v", err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.App.Store.SessionByTokenHash(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
