// Command copnet is the all-in-one copnet node: an embedded NATS server with JetStream,
// every service in one process on one HTTP address, and PostgreSQL from DATABASE_URL or a
// private cluster it starts itself. `copnet token` prints a bearer token and `copnet link` a
// single-use console sign-in link; `copnet help` lists every command.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

// dispatch runs the command args name and returns the exit status: 0 done (help included),
// 1 failed, 2 misused. Nothing but no arguments at all starts a node, so a mistyped flag
// never leaves a node serving on :8080.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return exit(stderr, run())
	}
	switch name, rest := args[0], args[1:]; name {
	case "help", "-h", "-help", "--help":
		return help(rest, stdout, stderr)
	default:
		cmd, ok := commands[name]
		if !ok {
			fmt.Fprintf(stderr, "copnet: unknown command or flag %q\n\n%s", name, usage())
			return 2
		}
		return cmd.run(rest, stdout, stderr)
	}
}

func exit(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, "copnet:", err)
		return 1
	}
	return 0
}
