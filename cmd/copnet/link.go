package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/copnet/copnet/services/membership"
)

// maxLinkTTL keeps a link what it is meant to be: a way in now, not a credential to keep.
const maxLinkTTL = 24 * time.Hour

type linkOptions struct {
	ttl *time.Duration
	url *string
}

func linkFlags() (*flag.FlagSet, linkOptions) {
	fs := flag.NewFlagSet("link", flag.ContinueOnError)
	return fs, linkOptions{
		ttl: fs.Duration("ttl", membership.SetupLinkTTL, "how long the link can be used (at most 24h)"),
		url: fs.String("url", "", "the console's address as the browser reaches it (default: from COPNET_HTTP_ADDR)"),
	}
}

// cmdLink prints a fresh single-use setup link for this data dir's node: whoever opens it
// becomes a national administrator. It is the way back in when the setup link of the first
// start was lost, or every administrator is locked out.
func cmdLink(args []string, stdout, stderr io.Writer) int {
	fs, o := linkFlags()
	if status, ok := parse("link", fs, args, stdout, stderr); !ok {
		return status
	}
	if *o.ttl <= 0 || *o.ttl > maxLinkTTL {
		return misuse("link", fmt.Errorf("--ttl %s is not between 0 and %s", *o.ttl, maxLinkTTL), stderr)
	}
	if *o.url != "" {
		if u, err := url.Parse(*o.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return misuse("link", errors.New("--url must be an http(s) URL such as http://127.0.0.1:8080"), stderr)
		}
	}
	s, _, err := load(stderr)
	if err != nil {
		return exit(stderr, err)
	}
	base := *o.url
	if base == "" {
		base = baseURL(s.HTTPAddr)
	}
	link, err := operatorLink(s, base, *o.ttl)
	if err != nil {
		return exit(stderr, err)
	}
	fmt.Fprintln(stdout, link)
	return 0
}

// operatorLink makes whoever opens it first a national administrator.
func operatorLink(s settings, base string, ttl time.Duration) (string, error) {
	return membership.SetupLink([]byte(s.AuthSecret), base, ttl)
}

// baseURL is where a browser on this machine reaches addr: a wildcard listen address is
// reached on loopback.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	// localhost, not 127.0.0.1: browsers accept it as a passkey's relying party.
	if ip := net.ParseIP(host); host == "" || (ip != nil && (ip.IsUnspecified() || ip.IsLoopback())) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
