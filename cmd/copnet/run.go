package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/copnet/copnet/pkg/broker"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/federation"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/pgcluster"
	"github.com/copnet/copnet/pkg/telemetry"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// settings are the all-in-one's (see config.AllInOne).
type settings = config.AllInOne

// services is every domain service the all-in-one runs.
var services = []node.Factory{registry.Factory, membership.Factory, scheduling.Factory, knowledge.Factory, feedback.Factory, console.Factory}

func load() (settings, error) {
	var s settings
	if err := config.Load(&s); err != nil {
		return s, err
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return s, fmt.Errorf("COPNET_DATA_DIR: %w", err)
	}
	abs, err := filepath.Abs(s.DataDir)
	if err != nil {
		return s, err
	}
	s.DataDir = abs
	if s.AuthSecret == "" {
		secret, err := dataDirSecretFile(s.DataDir, "auth-secret")
		if err != nil {
			return s, err
		}
		s.AuthSecret = secret
	}
	return s, nil
}

// dataDirSecretFile keeps a generated secret in the data dir, so tokens printed at one start
// still work after a restart and tools can find the broker's password.
func dataDirSecretFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep auth secret: %w", err)
	}
	return secret, nil
}

func run() error {
	s, err := load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tel, err := telemetry.Setup(ctx, "copnet", s.Config, os.Stderr)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tel.Shutdown(sctx) //nolint:errcheck // best effort at exit
	}()

	connect, embedded, stopNATS, err := startNATS(s)
	if err != nil {
		return err
	}
	defer stopNATS()
	dbURL, stopDB, err := startPostgres(ctx, s)
	if err != nil {
		return err
	}
	defer stopDB()

	b, err := bus.New(bus.Config{NodeID: s.NodeID, MaxAge: s.StreamMaxAge, Logger: tel.Logger}, connect)
	if err != nil {
		return err
	}
	defer b.Close()
	signer := httpx.HS256{Secret: []byte(s.AuthSecret)}
	return node.Serve(ctx, node.Config{
		NodeID:      s.NodeID,
		Tier:        s.NodeTier,
		DatabaseURL: dbURL,
		HTTP:        s.HTTPServer(),
		Verifier:    signer,
		Bus:         b,
		Metrics:     tel.MetricsHandler(),
		Logger:      tel.Logger,
		OnReady:     func(addr net.Addr) { announce(s, signer, addr) },
		DBMaxConns:  s.DBMaxConns,
	}, append(services, federationFactory(s, embedded))...)
}

// federationFactory lets the node register children at run time when its NATS server is
// embedded; with an external server the children come from deploy/nats configuration.
func federationFactory(s settings, embedded *broker.Embedded) node.Factory {
	cfg := federation.Config{NodeID: s.NodeID, Tier: s.NodeTier, LeafAdvertise: s.LeafAdvertise, StaticChildren: s.ChildNodes}
	if cfg.LeafAdvertise == "" {
		cfg.LeafAdvertise = s.LeafListen
	}
	if embedded != nil && s.LeafListen != "" {
		cfg.Accounts = embedded
	}
	return federation.Factory(cfg)
}

func startNATS(s settings) (bus.Connector, *broker.Embedded, func(), error) {
	if s.NATSURL != "" {
		return bus.URLConnector(s.NATSURL), nil, func() {}, nil
	}
	password, err := dataDirSecretFile(s.DataDir, "nats-password")
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := broker.Start(broker.Topology{
		NodeID: s.NodeID, StoreDir: filepath.Join(s.DataDir, "nats"), ClientListen: s.NATSListen,
		LeafListen: s.LeafListen, ParentLeafURL: s.ParentLeafURL,
		AppUser: "copnet", AppPassword: password,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return e.Connector(), e, e.Shutdown, nil
}

func startPostgres(ctx context.Context, s settings) (string, func(), error) {
	if s.DatabaseURL != "" {
		return s.DatabaseURL, func() {}, nil
	}
	dir := filepath.Join(s.DataDir, "postgres")
	fmt.Fprintln(os.Stderr, "copnet: no DATABASE_URL; starting a private PostgreSQL under", dir)
	c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir})
	if errors.Is(err, pgcluster.ErrDirUnreachable) {
		// Running as root from a checkout under a private home: PostgreSQL's own user
		// cannot enter it, so keep this data dir's cluster under /var/lib instead.
		sum := sha256.Sum256([]byte(s.DataDir))
		dir = filepath.Join("/var/lib/copnet", hex.EncodeToString(sum[:6]), "postgres")
		fmt.Fprintln(os.Stderr, "copnet: the postgres user cannot enter the data dir; keeping the cluster in", dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", nil, err
		}
		os.Chmod(filepath.Dir(dir), 0o755) //nolint:errcheck // Start reports what still blocks
		c, err = pgcluster.Start(ctx, pgcluster.Config{Dir: dir})
	}
	if err != nil {
		return "", nil, err
	}
	return c.URL(), func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			fmt.Fprintln(os.Stderr, "copnet: stop postgres:", err)
		}
	}, nil
}

// announce tells a newcomer where copnet is and how to call it.
func announce(s settings, signer httpx.HS256, addr net.Addr) {
	url := "http://" + addr.String()
	token, err := signer.Sign(httpx.Claims{Subject: "operator", Role: httpx.RoleNational}, 24*time.Hour)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copnet: cannot sign a token:", err)
		return
	}
	fmt.Printf("copnet node %q (%s) serving %s\n", s.NodeID, s.NodeTier, url)
	fmt.Printf("console: %s/signin?token=%s\n", url, token)
	fmt.Printf("national token (24h): %s\n", token)
	fmt.Printf("try: curl -H 'Authorization: Bearer %s' %s/v1/regions\n", token, url)
	fmt.Println("copnet ready; Ctrl-C stops it")
}

var errUsage = errors.New("usage: copnet token --role national|hub|coordinator|member [--region ID] [--cop ID] [--sub ID] [--ttl 24h]")
