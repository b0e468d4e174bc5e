package e2e_test

// /admin/metrics/prometheus: a scripted set of requests, then one scrape
// parsed as the Prometheus text format, with exact counts.

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hoplite-id/hoplite/internal/courier"
	"github.com/hoplite-id/hoplite/internal/testutil"
)

// scrape reads the admin metrics endpoint.
func scrape(t *testing.T, s *testutil.Server) map[string]*dto.MetricFamily {
	t.Helper()
	r := do(t, http.MethodGet, s.AdminURL+"admin/metrics/prometheus", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("scrape: %s", r)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// sample finds the metric of family name whose labels include want, or nil.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counterValue(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := sample(fams, name, labels)
	if m == nil {
		t.Errorf("%s%v: no such sample", name, labels)
		return 0
	}
	return m.GetCounter().GetValue()
}

func TestMetricsCountScriptedRequests(t *testing.T) {
	s := testutil.StartServer(t, testutil.Options{})
	ctx := context.Background()

	for range 3 {
		if r := do(t, http.MethodGet, s.PublicURL+"health/alive", nil); r.Status != http.StatusOK {
			t.Fatalf("alive: %s", r)
		}
	}
	ssRegister(t, s, "metrics@example.com", ssPassword)
	for range 2 {
		f, _, err := s.Public.V0alpha2Api.InitializeSelfServiceLoginFlowWithoutBrowser(ctx).Execute()
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := s.Public.V0alpha2Api.SubmitSelfServiceLoginFlow(ctx).Flow(f.Id).
			SubmitSelfServiceLoginFlowBody(ssPasswordLogin("metrics@example.com", "not the password at all")).Execute()
		if err == nil || sdkStatus(res) != http.StatusBadRequest {
			t.Fatalf("a wrong password must be refused with 400, got %d", sdkStatus(res))
		}
	}
	ssLogin(t, s, "metrics@example.com", ssPassword)
	ids, _, err := s.Admin.V0alpha2Api.AdminListIdentities(ctx).Execute()
	if err != nil || len(ids) != 1 {
		t.Fatalf("list identities: %v (%d)", err, len(ids))
	}
	for range 2 {
		if r := do(t, http.MethodGet, s.AdminURL+"admin/identities/"+ids[0].Id, nil); r.Status != http.StatusOK {
			t.Fatalf("get identity: %s", r)
		}
	}
	if r := do(t, http.MethodGet, s.PublicURL+"no/such/"+ids[0].Id, nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown path: %s", r)
	}

	// A made-up method is counted, under a bounded label.
	if r := do(t, "BREW", s.PublicURL+"health/alive", nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("BREW: %s", r)
	}

	fams := scrape(t, s)
	reqs := "hoplite_http_requests_total"
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{reqs, map[string]string{"port": "public", "route": "/health/alive", "method": "GET", "code": "200"}, 3},
		{reqs, map[string]string{"port": "public", "route": "/self-service/login", "method": "POST", "code": "400"}, 2},
		{reqs, map[string]string{"port": "public", "route": "/self-service/login", "method": "POST", "code": "200"}, 1},
		{reqs, map[string]string{"port": "public", "route": "/self-service/login/api", "method": "GET", "code": "200"}, 3},
		{reqs, map[string]string{"port": "admin", "route": "/admin/identities/{id}", "method": "GET", "code": "200"}, 2},
		{reqs, map[string]string{"port": "public", "route": "unmatched", "method": "GET", "code": "404"}, 1},
		{reqs, map[string]string{"port": "public", "route": "unmatched", "method": "other", "code": "405"}, 1},
		{"hoplite_logins_total", map[string]string{"method": "password", "result": "failure"}, 2},
		{"hoplite_logins_total", map[string]string{"method": "password", "result": "success"}, 1},
		{"hoplite_selfservice_flow_submissions_total", map[string]string{"kind": "registration", "method": "password", "outcome": "success"}, 1},
		{"hoplite_selfservice_flow_submissions_total", map[string]string{"kind": "login", "method": "password", "outcome": "failure"}, 2},
		{"hoplite_courier_send_failures_total", nil, 0},
	}
	for _, c := range checks {
		if got := counterValue(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Latency histograms per route; hashing per operation.
	if m := sample(fams, "hoplite_http_request_duration_seconds", map[string]string{"port": "public", "route": "/health/alive"}); m == nil || m.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("latency histogram of /health/alive: %v", m)
	}
	if m := sample(fams, "hoplite_password_hash_duration_seconds", map[string]string{"operation": "generate"}); m == nil || m.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("one password was hashed (registration): %v", m)
	}
	// Three logins compare; the failed ones too.
	if m := sample(fams, "hoplite_password_hash_duration_seconds", map[string]string{"operation": "compare"}); m == nil || m.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("three passwords were compared: %v", m)
	}
	// The pool and the mail queue.
	if m := sample(fams, "go_sql_max_open_connections", map[string]string{"db_name": "hoplite"}); m == nil || m.GetGauge().GetValue() < 1 {
		t.Errorf("pool statistics missing: %v", m)
	}
	queued, err := s.App.Store.ListMessages(ctx, courier.StatusQueued, 0)
	if err != nil {
		t.Fatal(err)
	}
	if m := sample(fams, "hoplite_courier_queue_depth", nil); m == nil || m.GetGauge().GetValue() != float64(len(queued)) {
		t.Errorf("courier queue depth: %v, want %d", m, len(queued))
	}
	// Bounded labels: no id reaches a label value.
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), ids[0].Id) {
					t.Errorf("%s has an id in label %s=%q", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
