// Package metrics holds Hoplite's Prometheus collectors, in a registry of
// their own (never the process-global one, so two instances in one test
// process do not share counters), and served at /admin/metrics/prometheus.
//
// Labels are bounded by construction: route patterns as registered in
// internal/server/routes.go (never raw paths, which carry ids), flow kinds,
// method ids, fixed outcome words and status codes.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "hoplite"

// Outcomes of a self-service submission.
const (
	Success = "success"
	Failure = "failure" // refused: form errors, bad credentials, CSRF, expired flow
	Error   = "error"   // the server failed (5xx)
)

// Metrics is one instance's set of collectors.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	flows           *prometheus.CounterVec
	logins          *prometheus.CounterVec
	courierFailures prometheus.Counter
	hashDuration    *prometheus.HistogramVec
	cacheLookups    *prometheus.CounterVec
	cacheInvalid    *prometheus.CounterVec

	series sync.Map // requestKey → *requestSeries
}

// New creates the collectors in a fresh registry, with the Go runtime and
// process collectors alongside.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by port, route pattern, method and status code.",
	}, []string{"port", "route", "method", "code"})
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by port and route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"port", "route"})
	m.flows = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "selfservice_flow_submissions_total",
		Help: "Self-service flow submissions, by flow kind, method and outcome (success, failure, error).",
	}, []string{"kind", "method", "outcome"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "logins_total",
		Help: "Login submissions, by method and result (success, failure, error).",
	}, []string{"method", "result"})
	m.courierFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "courier_send_failures_total",
		Help: "Mail deliveries that failed and were put back for a retry.",
	})
	m.hashDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "password_hash_duration_seconds",
		Help:    "Time to hash (generate) or verify (compare) a password, waiting for a hashing slot included.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"operation"})
	m.cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cache_lookups_total",
		Help: "Cache lookups, by cache name and result (hit, miss).",
	}, []string{"cache", "result"})
	m.cacheInvalid = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cache_invalidations_total",
		Help: "Cache entries dropped because what they hold changed, by cache name.",
	}, []string{"cache"})
	m.reg.MustRegister(m.requests, m.requestDuration, m.flows, m.logins, m.courierFailures, m.hashDuration,
		m.cacheLookups, m.cacheInvalid,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the collectors live in (for tests and for
// registering more).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// requestKey names the series one request lands in.
type requestKey struct {
	port, route, method string
	code                int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// ObserveRequest counts one answered request. route must be a registered
// pattern (or a fixed word such as "unmatched"), never the raw path; method
// must be one net/http accepted (arbitrary tokens are folded into "other").
// The series are looked up once per label set and kept, so the hot path
// does no label hashing or validation.
func (m *Metrics) ObserveRequest(port, route, method string, code int, d time.Duration) {
	k := requestKey{port, route, boundedHTTPMethod(method), code}
	v, ok := m.series.Load(k)
	if !ok {
		v, _ = m.series.LoadOrStore(k, &requestSeries{
			count:    m.requests.WithLabelValues(k.port, k.route, k.method, strconv.Itoa(code)),
			duration: m.requestDuration.WithLabelValues(k.port, k.route),
		})
	}
	rs := v.(*requestSeries)
	rs.count.Inc()
	rs.duration.Observe(d.Seconds())
}

// boundedHTTPMethod keeps the standard methods; a client may send any
// token as a method, which must not mint a series each.
func boundedHTTPMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// ObserveFlow counts one self-service submission; login submissions are
// also counted by method and result.
func (m *Metrics) ObserveFlow(kind, method, outcome string) {
	method = boundedMethod(method)
	m.flows.WithLabelValues(kind, method, outcome).Inc()
	if kind == "login" {
		m.logins.WithLabelValues(method, outcome).Inc()
	}
}

// CourierSendFailed counts one failed delivery.
func (m *Metrics) CourierSendFailed() { m.courierFailures.Inc() }

// ObserveHash records one hashing operation ("generate" or "compare").
func (m *Metrics) ObserveHash(operation string, d time.Duration) {
	m.hashDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// WatchDB exposes the connection pool's statistics (go_sql_* with
// db_name="hoplite": open, in use, idle, waits, closes).
func (m *Metrics) WatchDB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, "hoplite"))
}

// WatchCourierQueue exposes the number of queued mails, asked at every
// scrape (bounded by a short timeout: a slow database must not hang the
// scrape).
func (m *Metrics) WatchCourierQueue(depth func(ctx context.Context) (int64, error)) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "courier_queue_depth",
		Help: "Mails waiting to be sent (NaN when the database did not answer).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := depth(ctx)
		if err != nil {
			return nan()
		}
		return float64(n)
	}))
}

// CacheHit, CacheMiss and CacheInvalidated implement CacheObserver.
func (m *Metrics) CacheHit(cache string)  { m.cacheLookups.WithLabelValues(cache, "hit").Inc() }
func (m *Metrics) CacheMiss(cache string) { m.cacheLookups.WithLabelValues(cache, "miss").Inc() }
func (m *Metrics) CacheInvalidated(cache string, entries int) {
	m.cacheInvalid.WithLabelValues(cache).Add(float64(entries))
}

// knownMethods are the self-service method ids Kratos defines. The method
// of a refused submission comes from the request body, so anything else is
// counted as "other" to keep the label set bounded.
var knownMethods = map[string]bool{
	"password": true, "profile": true, "link": true, "code": true, "oidc": true,
	"totp": true, "webauthn": true, "lookup_secret": true,
}

func boundedMethod(m string) string {
	switch {
	case m == "":
		return "none"
	case knownMethods[m]:
		return m
	default:
		return "other"
	}
}
