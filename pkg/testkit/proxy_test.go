package testkit_test

import (
	"bufio"
	"net"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
)

func TestProxyCutsAndRestoresTheLink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { line, _ := bufio.NewReader(c).ReadString('\n'); c.Write([]byte(line)); c.Close() }() //nolint:errcheck // echo
		}
	}()
	p, err := testkit.NewProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echo := func() error {
		c, err := net.Dial("tcp", p.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte("hi\n")); err != nil {
			return err
		}
		_, err = bufio.NewReader(c).ReadString('\n')
		return err
	}
	if err := echo(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	p.Cut()
	if err := echo(); err == nil {
		t.Fatal("the link still works after Cut")
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := echo(); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
	p.Cut()
}
