package tracing

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// WrapConnector returns a connector whose connections record a span for
// every query and statement execution (name "sql.query" or "sql.exec", with
// the statement text, never its arguments). system is the db.system
// attribute ("sqlite", "postgresql", "mysql"). Only used when tracing is on:
// the untraced pool talks to the driver directly.
func WrapConnector(c driver.Connector, tracer trace.Tracer, system string) driver.Connector {
	return &connector{Connector: c, tr: &sqlTracer{tracer: tracer, system: system}}
}

type sqlTracer struct {
	tracer trace.Tracer
	system string
}

// record ends a span that began at start. Spans are created after the call
// so that calls the driver declines (driver.ErrSkip: database/sql then
// prepares the statement, which is traced in its own right) leave none.
func (t *sqlTracer) record(ctx context.Context, op, query string, start time.Time, err error) {
	if errors.Is(err, driver.ErrSkip) || !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		// Queries outside any request (the courier, migrations) are not
		// traced: a root span per poll would only be noise.
		return
	}
	_, span := t.tracer.Start(ctx, "sql."+op, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("db.system", t.system), attribute.String("db.statement", query)))
	if err != nil && !errors.Is(err, driver.ErrBadConn) {
		span.RecordError(err)
		span.SetStatus(codes.Error, "query failed")
	}
	span.End()
}

type connector struct {
	driver.Connector
	tr *sqlTracer
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc, tr: c.tr}, nil
}

// conn passes every optional driver interface through to the driver's
// connection, adding spans to queries.
type conn struct {
	driver.Conn
	tr *sqlTracer
}

// Unwrap returns the driver's own connection (for database/sql Conn.Raw
// users that need driver-specific calls).
func (c *conn) Unwrap() driver.Conn { return c.Conn }

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: st, conn: c.Conn, query: query, tr: c.tr}, nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	rows, err := q.QueryContext(ctx, query, args)
	c.tr.record(ctx, "query", query, start, err)
	return rows, err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	start := time.Now()
	res, err := e.ExecContext(ctx, query, args)
	c.tr.record(ctx, "exec", query, start, err)
	return res, err
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // fallback for drivers without BeginTx
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

type stmt struct {
	driver.Stmt
	conn  driver.Conn
	query string
	tr    *sqlTracer
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	var res driver.Result
	var err error
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		res, err = e.ExecContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			res, err = s.Stmt.Exec(vals) //nolint:staticcheck // fallback for old drivers
		}
	}
	s.tr.record(ctx, "exec", s.query, start, err)
	return res, err
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	var rows driver.Rows
	var err error
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		rows, err = q.QueryContext(ctx, args)
	} else {
		var vals []driver.Value
		if vals, err = values(args); err == nil {
			rows, err = s.Stmt.Query(vals) //nolint:staticcheck // fallback for old drivers
		}
	}
	s.tr.record(ctx, "query", s.query, start, err)
	return rows, err
}

// CheckNamedValue asks the statement, then the connection: database/sql
// consults only the statement once it offers the interface.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	if ch, ok := s.conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func values(args []driver.NamedValue) ([]driver.Value, error) {
	out := make([]driver.Value, len(args))
	for k, a := range args {
		if a.Name != "" {
			return nil, errors.New("sql: the driver does not support named arguments")
		}
		out[k] = a.Value
	}
	return out, nil
}
