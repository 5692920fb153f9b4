package testkit

import (
	"io"
	"net"
	"sync"
)

// Proxy is a TCP relay on loopback between a client and a server (a child node and its
// parent's leaf port), so a test or a benchmark can cut the link, as a network partition
// would, and restore it, without touching either side.
type Proxy struct {
	// Addr is where clients dial instead of the target.
	Addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

// NewProxy relays connections to target from a free loopback port; it starts connected.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target}
	p.serve(ln)
	return p, nil
}

// Restore accepts connections again after Cut, on the same address.
func (p *Proxy) Restore() error {
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }() //nolint:errcheck // ends with the link
			go func() { io.Copy(c, up); c.Close() }()  //nolint:errcheck // ends with the link
		}
	}()
}

// Cut closes the listener and every relayed connection: both sides see the link drop and
// cannot reconnect until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
