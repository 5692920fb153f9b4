package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/telemetry"
)

func setup(t *testing.T, name string, cfg telemetry.Config, out io.Writer) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), name, cfg, out)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	})
	return tel
}

func TestLoggerAddsTraceIDFromSpan(t *testing.T) {
	var buf bytes.Buffer
	tel := setup(t, "logtest", telemetry.Config{LogLevel: "info"}, &buf)

	ctx, span := tel.Tracer().Start(context.Background(), "op")
	tel.Logger.InfoContext(ctx, "with span")
	span.End()
	tel.Logger.InfoContext(context.Background(), "without span")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d: %q", len(lines), buf.String())
	}
	var withSpan, withoutSpan map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &withSpan); err != nil {
		t.Fatalf("line 1 not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &withoutSpan); err != nil {
		t.Fatalf("line 2 not JSON: %v", err)
	}

	sc := span.SpanContext()
	if got := withSpan["trace_id"]; got != sc.TraceID().String() {
		t.Errorf("trace_id = %v, want %s", got, sc.TraceID())
	}
	if got := withSpan["span_id"]; got != sc.SpanID().String() {
		t.Errorf("span_id = %v, want %s", got, sc.SpanID())
	}
	if got := withSpan["service"]; got != "logtest" {
		t.Errorf("service = %v, want logtest", got)
	}
	if _, ok := withoutSpan["trace_id"]; ok {
		t.Errorf("line without span has trace_id: %s", lines[1])
	}
	if got := withoutSpan["service"]; got != "logtest" {
		t.Errorf("service = %v, want logtest", got)
	}
}

func TestLoggerHonoursLevel(t *testing.T) {
	var buf bytes.Buffer
	tel := setup(t, "leveltest", telemetry.Config{LogLevel: "warn"}, &buf)
	tel.Logger.Info("dropped")
	tel.Logger.Warn("kept")
	if strings.Contains(buf.String(), "dropped") || !strings.Contains(buf.String(), "kept") {
		t.Fatalf("level warn not applied: %q", buf.String())
	}
}

func TestMetricsHandlerExposesCounterAndTargetInfo(t *testing.T) {
	tel := setup(t, "metricstest", telemetry.Config{}, io.Discard)

	c, err := tel.Meter().Int64Counter("copnet_test_events")
	if err != nil {
		t.Fatalf("Int64Counter: %v", err)
	}
	c.Add(context.Background(), 3)

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"copnet_test_events",
		"target_info",
		`service_name="metricstest"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics output missing %q:\n%s", want, body)
		}
	}
}

func TestSetupTwiceInOneProcess(t *testing.T) {
	a := setup(t, "copnet", telemetry.Config{}, io.Discard)
	b := setup(t, "copnet", telemetry.Config{}, io.Discard)
	for i, tel := range []*telemetry.Telemetry{a, b} {
		c, err := tel.Meter().Int64Counter("copnet_dup_total")
		if err != nil {
			t.Fatalf("setup %d: counter: %v", i, err)
		}
		c.Add(context.Background(), 1)
		rec := httptest.NewRecorder()
		tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "copnet_dup_total") {
			t.Fatalf("setup %d: status %d body:\n%s", i, rec.Code, rec.Body.String())
		}
	}
}

func TestValidateRejectsUnknownLogLevel(t *testing.T) {
	err := telemetry.Config{LogLevel: "loud"}.Validate()
	if err == nil {
		t.Fatal("Validate accepted log level \"loud\"")
	}
	if !strings.Contains(err.Error(), "COPNET_LOG_LEVEL") {
		t.Errorf("error %q does not name COPNET_LOG_LEVEL", err)
	}
	for _, ok := range []string{"debug", "info", "warn", "error"} {
		if err := (telemetry.Config{LogLevel: ok}).Validate(); err != nil {
			t.Errorf("Validate(%q): %v", ok, err)
		}
	}
}

func TestShutdownWithUnreachableCollectorDoesNotHang(t *testing.T) {
	// Reserve a port and close it so nothing is listening there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	for _, endpoint := range []string{"http://" + addr, addr} {
		t.Run(endpoint, func(t *testing.T) {
			tel, err := telemetry.Setup(context.Background(), "otlptest",
				telemetry.Config{OTLPEndpoint: endpoint}, io.Discard)
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			_, span := tel.Tracer().Start(context.Background(), "pending")
			span.End()

			const timeout = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err = tel.Shutdown(ctx)
			if elapsed := time.Since(start); elapsed > timeout+2*time.Second {
				t.Fatalf("Shutdown took %v with %v timeout", elapsed, timeout)
			}
			t.Logf("Shutdown returned %v", err)
		})
	}
}
