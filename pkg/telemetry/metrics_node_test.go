package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/telemetry"
	"github.com/copnet/copnet/pkg/testkit"
)

// probe is a service with one consumer that refuses every region, so the node has an
// outbox, a durable consumer and dead letters to report.
type probe struct{ router *bus.Router }

func (probe) Register(*http.ServeMux)         {}
func (p probe) Run(ctx context.Context) error { return p.router.Run(ctx) }

var probeFactory = node.Factory{Name: "probe", Migrations: fstest.MapFS{}, New: func(_ context.Context, d node.Deps) (node.Service, error) {
	r, err := d.Bus.NewRouter("probe", d.Pool)
	if err != nil {
		return nil, err
	}
	bus.Handle(r, "on_region_created", func(context.Context, pgx.Tx, events.RegionCreated, events.Envelope) error {
		return bus.Permanent(errors.New("probe refuses every region"))
	})
	return probe{router: r}, nil
}}

// TestMetricsOfARealNode scrapes /metrics of a running node as Prometheus would (asking
// for OpenMetrics) and finds every family an operator needs: Go runtime and process, the
// outbox backlog per service, consumer lag per durable, dead letters, and 401s by route.
func TestMetricsOfARealNode(t *testing.T) {
	tel, err := telemetry.Setup(context.Background(), "copnet", telemetry.Config{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	n := testkit.StartNode(t, testkit.NodeOptions{Metrics: tel.MetricsHandler()}, probeFactory)
	testkit.Eventually(t, 30*time.Second, func() error { return n.Bus.ConsumersReady() })

	n.Publish(t, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	if status, _ := n.Do(t, http.MethodGet, "/v1/ops/deadletters", "", nil); status != http.StatusUnauthorized {
		t.Fatalf("anonymous dead-letter list answered %d", status)
	}
	if status, _ := n.Do(t, http.MethodGet, "/v1/ops/deadletters", "not-a-token", nil); status != http.StatusUnauthorized {
		t.Fatalf("dead-letter list with a broken token answered %d", status)
	}

	var families map[string]*dto.MetricFamily
	testkit.Eventually(t, 30*time.Second, func() error {
		var err error
		families, err = scrape(n.URL)
		if err != nil {
			return err
		}
		if got := gauge(families, "copnet_deadletters", nil); got != 1 {
			return fmt.Errorf("copnet_deadletters = %v, want 1", got)
		}
		return nil
	})
	for _, name := range []string{"go_goroutines", "go_memory_classes_heap_objects_bytes", "go_gc_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if families[name] == nil {
			t.Errorf("no %s: Go runtime and process collectors missing", name)
		}
	}
	if got := gauge(families, "copnet_outbox_backlog", map[string]string{"service": "probe"}); got != 0 {
		t.Errorf("copnet_outbox_backlog{service=probe} = %v, want 0", got)
	}
	if got := gauge(families, "copnet_consumer_lag", map[string]string{"durable": "probe_on_region_created"}); got != 0 {
		t.Errorf("copnet_consumer_lag{durable=probe_on_region_created} = %v, want 0", got)
	}
	if got := counter(families, "copnet_http_unauthorized_total", map[string]string{"route": "GET /v1/ops/deadletters"}); got != 2 {
		t.Errorf("copnet_http_unauthorized_total{route=GET /v1/ops/deadletters} = %v, want 2 (anonymous and broken token)", got)
	}
}

// scrape reads /metrics in OpenMetrics and parses it.
func scrape(base string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	format := expfmt.Format(resp.Header.Get("Content-Type"))
	if format.FormatType() != expfmt.TypeOpenMetrics {
		return nil, fmt.Errorf("answered %q, not OpenMetrics", resp.Header.Get("Content-Type"))
	}
	if !bytes.HasSuffix(body, []byte("# EOF\n")) {
		return nil, errors.New("OpenMetrics exposition does not end with # EOF")
	}
	out := map[string]*dto.MetricFamily{}
	dec := expfmt.NewDecoder(bytes.NewReader(withoutExemplars(body)), format)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("parse OpenMetrics: %w", err)
		}
		out[mf.GetName()] = &mf
	}
}

// withoutExemplars drops the exemplars OpenMetrics allows after a sample (" # {trace_id=...}
// 1 1.7e9"), which expfmt's decoder, a Prometheus text parser, does not read.
func withoutExemplars(body []byte) []byte {
	lines := bytes.Split(body, []byte("\n"))
	for i, l := range lines {
		if !bytes.HasPrefix(l, []byte("#")) {
			if at := bytes.Index(l, []byte(" # {")); at >= 0 {
				lines[i] = l[:at]
			}
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

func matching(families map[string]*dto.MetricFamily, name string, labels map[string]string) []*dto.Metric {
	mf := families[name]
	if mf == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range mf.Metric {
		ok := true
		for k, v := range labels {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// gauge is the sum of the matching series, or -1 when there is none.
func gauge(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	ms := matching(families, name, labels)
	if len(ms) == 0 {
		return -1
	}
	var sum float64
	for _, m := range ms {
		if m.Gauge != nil {
			sum += m.Gauge.GetValue()
		} else if m.Untyped != nil {
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

func counter(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, n := range []string{name, strings.TrimSuffix(name, "_total")} {
		for _, m := range matching(families, n, labels) {
			if m.Counter != nil {
				sum += m.Counter.GetValue()
			} else if m.Untyped != nil {
				sum += m.Untyped.GetValue()
			}
		}
		if sum > 0 {
			break
		}
	}
	return sum
}
