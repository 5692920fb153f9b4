// Package broker runs the NATS server with JetStream inside a copnet process, for the
// all-in-one binary: one node, no separate broker to install.
package broker

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
)

// Config of an embedded server.
type Config struct {
	// NodeID names the server and its JetStream domain.
	NodeID string
	// StoreDir keeps JetStream's file store.
	StoreDir string
	// Listen is a client address (host:port) for tools; empty opens no port at all and
	// services connect in-process, so a NATS already running on the machine is no obstacle.
	Listen string
}

// Embedded is a running in-process NATS server.
type Embedded struct {
	srv *server.Server
}

// Start runs the server and waits until it accepts connections.
func Start(cfg Config) (*Embedded, error) {
	opts := &server.Options{
		ServerName:      cfg.NodeID,
		JetStream:       true,
		JetStreamDomain: cfg.NodeID,
		StoreDir:        cfg.StoreDir,
		// Postgres is the source of truth, but an event JetStream acknowledged must
		// survive a power cut too, or the outbox would not know to send it again.
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
	}
	if cfg.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("COPNET_NATS_LISTEN %q: %w", cfg.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("COPNET_NATS_LISTEN %q: port: %w", cfg.Listen, err)
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready after 15s (is COPNET_NATS_LISTEN's port taken?)")
	}
	return &Embedded{srv: srv}, nil
}

// Connector connects services in-process.
func (e *Embedded) Connector() bus.Connector {
	return func(name string) (*nats.Conn, error) {
		return nats.Connect("", append(bus.ReconnectOptions(name), nats.InProcessServer(e.srv))...)
	}
}

// ClientURL is the address tools can use, or "" when no port is open.
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}
