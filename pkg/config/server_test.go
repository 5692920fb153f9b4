package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
)

// The HTTP timeouts and the database budget are documented settings with defaults, and the
// server a node builds from them carries every one.
func TestServerAndDatabaseSettings(t *testing.T) {
	var b config.Base
	if err := config.Load(&b); err != nil {
		t.Fatal(err)
	}
	want := httpx.ServerConfig{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, DBAcquireTimeout: 2 * time.Second}
	if got := b.HTTPServer(); got != want {
		t.Errorf("defaults: %+v, want %+v", got, want)
	}
	if b.DBMaxConns != 20 {
		t.Errorf("COPNET_DB_MAX_CONNS default %d", b.DBMaxConns)
	}

	t.Setenv("COPNET_HTTP_READ_HEADER_TIMEOUT", "2s")
	t.Setenv("COPNET_HTTP_READ_TIMEOUT", "5s")
	t.Setenv("COPNET_HTTP_WRITE_TIMEOUT", "7s")
	t.Setenv("COPNET_HTTP_IDLE_TIMEOUT", "9s")
	t.Setenv("COPNET_DB_ACQUIRE_TIMEOUT", "250ms")
	t.Setenv("COPNET_DB_MAX_CONNS", "40")
	b = config.Base{}
	if err := config.Load(&b); err != nil {
		t.Fatal(err)
	}
	got := b.HTTPServer()
	if got.ReadHeaderTimeout != 2*time.Second || got.ReadTimeout != 5*time.Second || got.WriteTimeout != 7*time.Second ||
		got.IdleTimeout != 9*time.Second || got.DBAcquireTimeout != 250*time.Millisecond || b.DBMaxConns != 40 {
		t.Errorf("from the environment: %+v, %d connections", got, b.DBMaxConns)
	}

	t.Setenv("COPNET_HTTP_READ_HEADER_TIMEOUT", "1m")
	t.Setenv("COPNET_HTTP_IDLE_TIMEOUT", "0s")
	t.Setenv("COPNET_DB_MAX_CONNS", "1")
	err := config.Load(&config.Base{})
	for _, name := range []string{"COPNET_HTTP_READ_HEADER_TIMEOUT", "COPNET_HTTP_IDLE_TIMEOUT", "COPNET_DB_MAX_CONNS"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("bad %s: %v", name, err)
		}
	}
}
