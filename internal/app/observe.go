package app

import (
	"context"
	"database/sql/driver"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/hash"
	"github.com/hoplite-id/hoplite/internal/metrics"
	"github.com/hoplite-id/hoplite/internal/store/sqlstore"
	"github.com/hoplite-id/hoplite/internal/tracing"
)

// observedHasher times every hash (waiting for a slot included, which is
// what a login feels) into the metrics and, when tracing is on, a span.
type observedHasher struct {
	*hash.Limited
	metrics *metrics.Metrics
	tracer  trace.Tracer
}

func (h *observedHasher) observe(ctx context.Context, op string, fn func(context.Context) error) {
	start := time.Now()
	var span trace.Span
	if h.tracer != nil {
		ctx, span = h.tracer.Start(ctx, "hash."+op)
	}
	err := fn(ctx)
	h.metrics.ObserveHash(op, time.Since(start))
	if span != nil {
		if err != nil && err != hash.ErrMismatch {
			span.SetStatus(codes.Error, "hashing failed")
		}
		span.End()
	}
}

func (h *observedHasher) Generate(ctx context.Context, password []byte) (out []byte, err error) {
	h.observe(ctx, "generate", func(ctx context.Context) error {
		out, err = h.Limited.Generate(ctx, password)
		return err
	})
	return out, err
}

func (h *observedHasher) Compare(ctx context.Context, password, encoded []byte) (err error) {
	h.observe(ctx, "compare", func(ctx context.Context) error {
		err = h.Limited.Compare(ctx, password, encoded)
		return err
	})
	return err
}

// CountFailures wraps s to count failed deliveries in m.
func CountFailures(s courier.Sender, m *metrics.Metrics) courier.Sender {
	return countingSender{Sender: s, metrics: m}
}

// CourierMetrics are the metrics of a standalone mail worker (courier
// watch): the pool, the queue and, through CountFailures, send failures.
func CourierMetrics(st *sqlstore.Store) *metrics.Metrics {
	m := metrics.New()
	watchStore(m, st)
	return m
}

// countingSender counts failed deliveries.
type countingSender struct {
	courier.Sender
	metrics *metrics.Metrics
}

// Unwrap returns the sender counted, for the courier's checks of what
// kind of sender it has.
func (s countingSender) Unwrap() courier.Sender { return s.Sender }

func (s countingSender) Send(ctx context.Context, m courier.Message) error {
	err := s.Sender.Send(ctx, m)
	if err != nil {
		s.metrics.CourierSendFailed()
	}
	return err
}

// traceSQL wraps the database driver so that queries made while serving a
// traced request get spans.
func traceSQL(t *tracing.Tracing) sqlstore.ConnectorWrapper {
	return func(d sqlstore.Dialect, c driver.Connector) driver.Connector {
		system := string(d)
		if d == sqlstore.Postgres {
			system = "postgresql"
		}
		return tracing.WrapConnector(c, t.Tracer(), system)
	}
}

// watchStore exposes the pool statistics and the mail queue depth.
func watchStore(m *metrics.Metrics, st *sqlstore.Store) {
	m.WatchDB(st.DB())
	m.WatchCourierQueue(func(ctx context.Context) (int64, error) {
		return st.CountMessages(ctx, courier.StatusQueued)
	})
}
