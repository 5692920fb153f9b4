package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	return Launch{Name: f.Name, Settings: cfg, LogTo: os.Stdout,
		Infra: func(context.Context, *slog.Logger) (Infra, error) {
			return Infra{Connect: bus.URLConnector(cfg.NATSURL), DatabaseURL: cfg.DatabaseURL}, nil
		},
	}.Run(append([]Factory{f}, with...)...)
}

// Launch is the start-up every copnet process shares, the split services' (Main) and the
// all-in-one's: stop on SIGINT or SIGTERM, telemetry, the process's infrastructure, the bus,
// then Serve until stopped, shutting down in the reverse order.
type Launch struct {
	// Name is the process's name in traces and metrics.
	Name     string
	Settings config.Base
	// LogTo receives the JSON logs.
	LogTo io.Writer
	// Infra brings up NATS and PostgreSQL for the process (or names external ones), once
	// telemetry runs.
	Infra func(ctx context.Context, log *slog.Logger) (Infra, error)
	// OnReady, when set, is called once the HTTP address is listening.
	OnReady func(addr net.Addr)
	// DataDir is where the process keeps files (the all-in-one's data dir).
	DataDir string
}

// Infra is the infrastructure a process runs its node on.
type Infra struct {
	Connect     bus.Connector
	DatabaseURL string
	// Stop stops what Infra started (nil: nothing).
	Stop func()
	// Factories are components that need this infrastructure to exist before they are made
	// (the all-in-one's federation registers children at its embedded NATS server); they
	// run after the ones given to Run.
	Factories []Factory
}

// Run starts the factories in one node and runs it until the process is told to stop.
func (l Launch) Run(factories ...Factory) error {
	s := l.Settings
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Setup(ctx, l.Name, s.Config, l.LogTo)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tel.Shutdown(sctx) //nolint:errcheck // best effort at exit
	}()
	infra, err := l.Infra(ctx, tel.Logger)
	if err != nil {
		return err
	}
	if infra.Stop != nil {
		defer infra.Stop()
	}
	b, err := bus.New(bus.Config{NodeID: s.NodeID, MaxAge: s.StreamMaxAge, Logger: tel.Logger}, infra.Connect)
	if err != nil {
		return err
	}
	defer b.Close()
	return Serve(ctx, Config{
		NodeID:      s.NodeID,
		Tier:        s.NodeTier,
		DatabaseURL: infra.DatabaseURL,
		DBMaxConns:  s.DBMaxConns,
		HTTP:        s.HTTPServer(),
		PublicURL:   s.PublicURL,
		Secret:      []byte(s.AuthSecret),
		IssuerURL:   s.IssuerURL,
		Bus:         b,
		Metrics:     tel.MetricsHandler(),
		Logger:      tel.Logger,
		OnReady:     l.OnReady,
		DataDir:     l.DataDir,
	}, append(factories[:len(factories):len(factories)], infra.Factories...)...)
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
