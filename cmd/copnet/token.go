package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
)

type tokenOptions struct {
	role, region, cop, sub *string
	ttl                    *time.Duration
}

func tokenFlags() (*flag.FlagSet, tokenOptions) {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	return fs, tokenOptions{
		role:   fs.String("role", "", "national, hub, coordinator or member (required)"),
		region: fs.String("region", "", "the hub's region"),
		cop:    fs.String("cop", "", "the coordinator's CoP"),
		sub:    fs.String("sub", "", "the person's id (default: the role)"),
		ttl:    fs.Duration("ttl", 24*time.Hour, "how long the token is valid"),
	}
}

// cmdToken signs a token with the node's secret (COPNET_AUTH_SECRET, or the one kept in
// the data dir), for operators and scripts.
func cmdToken(args []string, stdout, stderr io.Writer) int {
	fs, o := tokenFlags()
	if status, ok := parse("token", fs, args, stdout, stderr); !ok {
		return status
	}
	if *o.role == "" {
		return misuse("token", errors.New("--role is required"), stderr)
	}
	s, _, err := load(stderr)
	if err != nil {
		return exit(stderr, err)
	}
	c := httpx.Claims{Subject: *o.sub}
	if c.Subject == "" {
		c.Subject = *o.role
	}
	// A member token without --cop is a person with no grant: what they may do then comes
	// from the rosters services keep.
	if *o.role != string(httpx.RoleMember) || *o.cop != "" {
		c.Grants = []httpx.Grant{{Role: httpx.Role(*o.role), Region: *o.region, CoP: *o.cop}}
	}
	signer, err := access.NewSigner([]byte(s.AuthSecret), nil)
	if err != nil {
		return exit(stderr, err)
	}
	token, err := signer.Sign(c, *o.ttl)
	if err != nil {
		return exit(stderr, err)
	}
	fmt.Fprintln(stdout, token)
	return 0
}
