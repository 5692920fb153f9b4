package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
)

// printToken signs a token with the node's secret (COPNET_AUTH_SECRET, or the one kept in
// the data dir), for operators and scripts.
func printToken(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "national, hub, coordinator or member")
	region := fs.String("region", "", "the hub's region")
	cop := fs.String("cop", "", "the coordinator's CoP")
	sub := fs.String("sub", "", "the person's id")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%v", errUsage, err)
	}
	if *role == "" {
		return errUsage
	}
	s, err := load()
	if err != nil {
		return err
	}
	c := httpx.Claims{Subject: *sub, Role: httpx.Role(*role), Region: *region, CoP: *cop}
	if c.Subject == "" {
		c.Subject = *role
	}
	token, err := httpx.HS256{Secret: []byte(s.AuthSecret)}.Sign(c, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(token)
	return nil
}
