package node

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/telemetry"
)

// Main runs one split service (its own process, an external NATS server and PostgreSQL)
// configured from the environment, with any node components that ride along (the
// registry's process also serves the node's federation routes). It returns the process
// exit code.
func Main(f Factory, with ...Factory) int {
	if err := runSplit(f, with); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", f.Name, err)
		return 1
	}
	return 0
}

func runSplit(f Factory, with []Factory) error {
	var cfg config.Base
	if err := config.Load(&cfg); err != nil {
		return err
	}
	if err := cfg.RequireSplit(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Setup(ctx, f.Name, cfg.Config, os.Stdout)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tel.Shutdown(sctx) //nolint:errcheck // best effort at exit
	}()
	b, err := bus.New(bus.Config{NodeID: cfg.NodeID, MaxAge: cfg.StreamMaxAge, Logger: tel.Logger}, bus.URLConnector(cfg.NATSURL))
	if err != nil {
		return err
	}
	defer b.Close()
	return Serve(ctx, Config{
		NodeID:      cfg.NodeID,
		Tier:        cfg.NodeTier,
		DatabaseURL: cfg.DatabaseURL,
		DBMaxConns:  cfg.DBMaxConns,
		HTTP:        cfg.HTTPServer(),
		PublicURL:   cfg.PublicURL,
		Verifier:    httpx.HS256{Secret: []byte(cfg.AuthSecret)},
		Secret:      []byte(cfg.AuthSecret),
		Bus:         b,
		Metrics:     tel.MetricsHandler(),
		Logger:      tel.Logger,
	}, append([]Factory{f}, with...)...)
}

// Serve starts the factories, listens on cfg.HTTP.Addr and runs until ctx ends.
func Serve(ctx context.Context, cfg Config, factories ...Factory) error {
	n, err := Start(ctx, cfg, factories...)
	if err != nil {
		return err
	}
	defer n.Close()
	ln, err := httpx.Listen(cfg.HTTP.Addr)
	if err != nil {
		return err
	}
	cfg.Logger.Info("ready", "addr", "http://"+ln.Addr().String(), "node", cfg.NodeID)
	if cfg.OnReady != nil {
		cfg.OnReady(ln.Addr())
	}
	return n.Run(ctx, ln)
}
