package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/copnet/copnet/cmd/copnet/allinone"
	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/cmd/copnet/internal/pgcluster"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/federation"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/notify"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// settings are the all-in-one's (see allinone.Settings).
type settings = allinone.Settings

// services is every domain service the all-in-one runs.
var services = []node.Factory{registry.Factory, membership.Factory, scheduling.Factory, knowledge.Factory, feedback.Factory, notify.Factory, console.Factory}

// load reads the settings and fills in the secret kept in the data dir; first says that
// secret was made just now, i.e. this is the data dir's first start. Warnings go to warn.
func load(warn io.Writer) (s settings, first bool, err error) {
	if err := config.Load(&s); err != nil {
		return s, false, err
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return s, false, fmt.Errorf("COPNET_DATA_DIR: %w", err)
	}
	abs, err := filepath.Abs(s.DataDir)
	if err != nil {
		return s, false, err
	}
	s.DataDir = abs
	if s.AuthSecret == "" {
		if s.AuthSecret, first, err = dataDirSecretFile(s.DataDir, "auth-secret", warn); err != nil {
			return s, false, err
		}
	}
	return s, first, nil
}

// dataDirSecretFile keeps a generated secret in the data dir, so tokens made at one start
// still work after a restart and tools can find the broker's password. created says the
// secret was generated now. A secret others could read is made private, and said so.
func dataDirSecretFile(dir, name string, warn io.Writer) (secret string, created bool, err error) {
	path := filepath.Join(dir, name)
	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		if err := keepPrivate(f, path, warn); err != nil {
			return "", false, err
		}
		b, err := io.ReadAll(io.LimitReader(f, 4096))
		if err != nil {
			return "", false, fmt.Errorf("read %s: %w", path, err)
		}
		if s := strings.TrimSpace(string(b)); len(s) >= 16 {
			return s, false, nil
		}
		// Too short to be one we made (an interrupted write of old): make a new one.
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("read %s: %w", path, err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", false, err
	}
	secret = hex.EncodeToString(buf)
	// A private temporary file renamed into place: the secret is never readable by others,
	// not even for a moment, and a crash leaves the old file or the new one, whole.
	tmp, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return "", false, fmt.Errorf("keep %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("keep %s: %w", name, err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close(), os.Rename(tmp.Name(), path)); err != nil {
		return "", false, fmt.Errorf("keep %s: %w", name, err)
	}
	return secret, true, nil
}

// keepPrivate makes a secret file readable by its owner only. Anyone who could read it could
// sign any token, so a wider mode is fixed (and said), or copnet refuses to use it.
func keepPrivate(f *os.File, path string, warn io.Writer) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("%s is readable by other users (mode %04o) and its mode cannot be changed (%w); "+
			"make it private (chmod 600) or remove it to have a new secret made", path, perm, err)
	}
	fmt.Fprintf(warn, "copnet: %s was readable by other users (mode %04o); its mode is now 0600. "+
		"Anyone who read it could sign tokens: if that may have happened, remove it and restart "+
		"(a new secret is made, and tokens and links made with the old one stop working)\n", path, perm)
	return nil
}

func run() error {
	s, _, err := load(os.Stderr)
	if err != nil {
		return err
	}
	var dbURL string
	return node.Launch{Name: "copnet", Settings: s.Base, LogTo: os.Stderr, DataDir: s.DataDir,
		Infra: func(ctx context.Context, log *slog.Logger) (node.Infra, error) {
			connect, embedded, stopNATS, err := startNATS(s)
			if err != nil {
				return node.Infra{}, err
			}
			if embedded != nil {
				go watchReaders(ctx, s.DataDir, embedded, log)
			}
			var stopDB func()
			dbURL, stopDB, err = startPostgres(ctx, s, log)
			if err != nil {
				stopNATS()
				return node.Infra{}, err
			}
			return node.Infra{Connect: connect, DatabaseURL: dbURL, Stop: func() { stopDB(); stopNATS() },
				Factories: []node.Factory{federationFactory(s, embedded)}}, nil
		},
		OnReady: func(addr net.Addr) {
			announce(s, func() (bool, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return membership.NeedsSetup(ctx, dbURL)
			}, addr)
		},
	}.Run(services...)
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
	password, _, err := dataDirSecretFile(s.DataDir, "nats-password", os.Stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	readers, err := loadReaders(s.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := broker.Start(broker.Topology{
		NodeID: s.NodeID, StoreDir: filepath.Join(s.DataDir, "nats"), ClientListen: s.NATSListen,
		LeafListen: s.LeafListen, ParentLeafURL: s.ParentLeafURL,
		AppUser: "copnet", AppPassword: password, Readers: readers,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return e.Connector(), e, e.Shutdown, nil
}

// startPostgres returns DATABASE_URL, or starts the private cluster, which restarts its
// server by itself should it die (logged to log).
func startPostgres(ctx context.Context, s settings, log *slog.Logger) (string, func(), error) {
	if s.DatabaseURL != "" {
		return s.DatabaseURL, func() {}, nil
	}
	dir := filepath.Join(s.DataDir, "postgres")
	fmt.Fprintln(os.Stderr, "copnet: no DATABASE_URL; starting a private PostgreSQL under", dir)
	c, err := pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Logger: log})
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
		c, err = pgcluster.Start(ctx, pgcluster.Config{Dir: dir, Logger: log})
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

// publicBase is where people reach the node: COPNET_PUBLIC_URL, else the listening address.
func publicBase(s settings, addr net.Addr) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	return baseURL(addr.String())
}

// announce tells a newcomer where copnet is and how to get in. It prints no credential that
// lasts: while the node has no national administrator, a single-use setup link (short-lived,
// and asking for the administrator's name and address before it does anything).
func announce(s settings, needsSetup func() (bool, error), addr net.Addr) {
	base := "http://" + addr.String()
	fmt.Printf("copnet node %q (%s) serving %s\n", s.NodeID, s.NodeTier, base)
	// While nobody administers the node, each start prints a fresh single-use setup link (a
	// lost one is no dead end); once someone has used one, nothing secret is printed again.
	needed, err := needsSetup()
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "copnet: cannot tell whether the node has an administrator:", err)
	case needed:
		link, err := operatorLink(s, publicBase(s, addr), membership.SetupLinkTTL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "copnet: cannot make the setup link:", err)
		} else {
			fmt.Printf("setup: %s (open it to become this node's national administrator; works once, for %s)\n",
				link, membership.SetupLinkTTL)
		}
	}
	fmt.Printf("console: %s/ (sign in by e-mail link; `copnet link` prints a setup link for a new administrator)\n", publicBase(s, addr))
	fmt.Println("copnet ready; Ctrl-C stops it")
}
