// Command copctl is the operator and hub CLI of copnet: it talks to a copnet node over its
// HTTP API to import rosters, seed a demo network, list regions and CoPs, look after dead
// letters and inspect federation links. Run `copctl help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
