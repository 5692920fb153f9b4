package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes scripts can rely on.
const (
	exitOK    = 0
	exitFail  = 1 // the node refused or could not be reached
	exitUsage = 2 // the command line is wrong
)

// command is one copctl command: it parses its own args, talks to the node through c and
// writes what it did to out. It returns a usageError for a wrong command line.
type command struct {
	summary string
	usage   string
	run     func(ctx context.Context, c *Client, args []string, out io.Writer) error
}

var commands = map[string]command{
	"import":      {"import a roster (name,email,organisation) into a CoP", "import --cop ID FILE.csv", cmdImport},
	"seed":        {"create a demo network through the API (national token)", "seed demo [--wait 60s]", cmdSeed},
	"regions":     {"list regions", "regions", cmdRegions},
	"cops":        {"list CoPs", "cops [--region R] [--status S]", cmdCoPs},
	"deadletters": {"list events parked in the dead-letter stream (national token)", "deadletters [--limit N]", cmdDeadLetters},
	"replay":      {"re-run one dead letter after its cause is fixed (national token)", "replay SEQ", cmdReplay},
	"nodes":       {"list this node and its registered child nodes", "nodes", cmdNodes},
	"federation":  {"show the health of each child node's link", "federation", cmdFederation},
	"version":     {"print copctl's version", "version", cmdVersion},
}

// usageError is a wrong command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run executes copctl with args (without the program name) and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("copctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	url := global.String("url", envOr("COPNET_URL", "http://127.0.0.1:8080"), "the copnet node's base URL ($COPNET_URL)")
	token := global.String("token", os.Getenv("COPNET_TOKEN"), "bearer token ($COPNET_TOKEN; copnet token --role ... prints one)")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, global)
			return exitOK
		}
		fmt.Fprintln(stderr, "copctl:", err)
		printUsage(stderr, global)
		return exitUsage
	}
	rest := global.Args()
	if len(rest) == 0 || rest[0] == "help" {
		if len(rest) > 1 {
			if cmd, ok := commands[rest[1]]; ok {
				fmt.Fprintf(stdout, "usage: copctl [--url URL] [--token TOKEN] %s\n\n%s\n", cmd.usage, cmd.summary)
				return exitOK
			}
		}
		w := stdout
		if len(rest) == 0 {
			w = stderr
		}
		printUsage(w, global)
		if len(rest) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[rest[0]]
	if !ok {
		fmt.Fprintf(stderr, "copctl: unknown command %q\n", rest[0])
		printUsage(stderr, global)
		return exitUsage
	}
	c := NewClient(*url, *token)
	err := cmd.run(ctx, c, rest[1:], stdout)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "usage: copctl [--url URL] [--token TOKEN] %s\n\n%s\n", cmd.usage, cmd.summary)
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "copctl %s: %s\nusage: copctl %s\n", rest[0], ue.msg, cmd.usage)
		return exitUsage
	}
	printError(stderr, err)
	return exitFail
}

func printUsage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprintln(w, "usage: copctl [--url URL] [--token TOKEN] COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-38s %s\n", commands[name].usage, commands[name].summary)
	}
	fmt.Fprintln(w, "\nflags:")
	global.SetOutput(w)
	global.PrintDefaults()
	global.SetOutput(io.Discard)
	fmt.Fprintln(w, "\nexit codes: 0 done, 1 refused or failed, 2 wrong command line")
}

// printError writes a failure the way copctl shows every failure: a problem answer as
// "status title: detail" and one indented line per field error.
func printError(w io.Writer, err error) {
	var p *Problem
	if errors.As(err, &p) {
		if prefix := strings.TrimSuffix(err.Error(), p.Error()); prefix != "" {
			fmt.Fprintln(w, "copctl:", strings.TrimSuffix(prefix, ": "))
		}
		fmt.Fprint(w, p.Format())
		return
	}
	fmt.Fprintln(w, "copctl:", err)
}

// flags returns a flag set for a command whose errors come back as usage errors.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags wherever they appear among the positional arguments
// (`import FILE --cop X` as well as `import --cop X FILE`) and returns the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
