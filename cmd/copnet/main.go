// Command copnet is the all-in-one copnet node: an embedded NATS server with JetStream,
// every service in one process on one HTTP address, and PostgreSQL from DATABASE_URL or a
// private cluster it starts itself. `copnet token` prints a bearer token.
package main

import (
	"fmt"
	"os"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "token" {
		err = printToken(os.Args[2:])
	} else {
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "copnet:", err)
		os.Exit(1)
	}
}
