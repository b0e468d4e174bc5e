package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// cannedAnswer is a recorded whoami answer: the bare server replays its
// headers and body byte for byte.
type cannedAnswer struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

// bareServerMain runs the bare net/http server: GET /sessions/whoami answers
// the canned answer without looking at the request. It uses the
// http.Server settings of Hoplite's own servers (internal/app), so the
// difference to the real whoami is Hoplite's handler stack alone.
func bareServerMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == roleBare {
		args = args[1:]
	}
	fs := flag.NewFlagSet(roleBare, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	answerPath := fs.String("answer", "", "JSON file with the answer to replay: {status, headers, body}")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raw, err := os.ReadFile(*answerPath)
	if err != nil {
		fmt.Fprintln(stderr, "bare-server:", err)
		return 1
	}
	var a cannedAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		fmt.Fprintln(stderr, "bare-server: answer:", err)
		return 1
	}
	body := []byte(a.Body)
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sessions/whoami", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for k, v := range a.Headers {
			h[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "bare-server:", err)
		return 1
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(stderr, "bare-server:", err)
			return 1
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return 0
}
