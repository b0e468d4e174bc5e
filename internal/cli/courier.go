package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/hoplite-id/hoplite/internal/app"
	"github.com/hoplite-id/hoplite/internal/config"
	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
)

func newCourierCmd() *cobra.Command {
	courierCmd := &cobra.Command{
		Use:   "courier",
		Short: "Outgoing mail",
	}
	var files []string
	var metricsPort int
	watch := &cobra.Command{
		Use:   "watch",
		Short: "Send queued emails until interrupted",
		Long: `Send the emails queued by the self-service flows (recovery and
verification links) through the SMTP server of courier.smtp.connection_uri,
until SIGINT or SIGTERM.

Any number of watchers, and servers started with --watch-courier, may run
against one database: each message is sent by one of them. The database
must be migrated ("hoplite migrate sql -e --yes").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(files, os.LookupEnv, false)
			if err != nil {
				return err
			}
			logger := app.NewLogger(cfg, cmd.ErrOrStderr())
			if metricsPort == 0 {
				metricsPort = cfg.ExposeMetricsPort
			}
			return watchCourier(cmd.Context(), cfg, logger, metricsPort)
		},
	}
	watch.Flags().StringSliceVarP(&files, "config", "c", nil, "configuration file (YAML or JSON); repeat to merge several, later files win")
	watch.Flags().IntVar(&metricsPort, "expose-metrics-port", 0, "serve Prometheus metrics at /metrics/prometheus on this port (on serve.admin.host)")
	courierCmd.AddCommand(watch)
	return courierCmd
}

// watchCourier runs the courier worker over the configured database until
// ctx ends, serving its metrics on metricsPort unless it is 0.
func watchCourier(ctx context.Context, cfg *config.Config, logger *slog.Logger, metricsPort int) error {
	st, err := sqlstore.Open(ctx, cfg.DSN)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.InMemory {
		return errors.New("dsn is an in-memory database, which only the process that created it can see; run the courier inside the server with `hoplite serve --watch-courier`, or use a shared database")
	}
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return fmt.Errorf("checking migrations: %w", err)
	}
	if pending > 0 {
		return fmt.Errorf("the database has %d pending migration(s); apply them with `hoplite migrate sql -e --yes`", pending)
	}
	c, sender, err := courier.FromConfig(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	if sender == nil {
		return courier.ErrNoSender
	}
	if metricsPort != 0 {
		m := app.CourierMetrics(st)
		sender = app.CountFailures(sender, m)
		stop, err := serveMetrics(net.JoinHostPort(cfg.Serve.Admin.Host, strconv.Itoa(metricsPort)), m.Handler(), logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	return c.Run(ctx, sender)
}

// serveMetrics serves h at /metrics/prometheus on addr until stop is called.
func serveMetrics(addr string, h http.Handler, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics/prometheus", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("serving metrics", "address", ln.Addr().String(), "path", "/metrics/prometheus")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
