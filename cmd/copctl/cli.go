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
// writes what it did to out. It returns a usageError for a wrong command line and a
// helpRequest (or flag.ErrHelp) for --help.
type command struct {
	summary string
	usage   string
	// help is the longer text `copctl COMMAND --help` shows after the usage line.
	help string
	run  func(ctx context.Context, c *Client, args []string, out io.Writer) error
	// alias hides the command from the list: an older name kept for scripts.
	alias bool
}

var commands = map[string]command{
	"status": {summary: "show each service's readiness, stream and consumer lag, dead letters, federation links",
		usage: "status [--output table|json] [--stream NAME]", help: statusHelp, run: cmdStatus},
	"dlq": {summary: "list or replay events parked in the dead-letter stream (national token)",
		usage: dlqUsage, help: dlqHelp, run: cmdDLQ},
	"import": {summary: "import cops, people, members or projects from CSV; every row is checked first",
		usage: "import cops|people|members|projects [--cop ID] [--progress] FILE.csv", help: importHelp, run: cmdImport},
	"seed":       {summary: "create a demo network through the API (national token)", usage: "seed demo [--wait 60s]", help: seedHelp, run: cmdSeed},
	"regions":    {summary: "list regions", usage: "regions", run: cmdRegions},
	"cops":       {summary: "list CoPs", usage: "cops [--region R] [--status S]", run: cmdCoPs},
	"nodes":      {summary: "list this node and its registered child nodes", usage: "nodes", run: cmdNodes},
	"federation": {summary: "show the health of each child node's link", usage: "federation", run: cmdFederation},
	"version":    {summary: "print copctl's version", usage: "version", run: cmdVersion},
	// Older names of dlq list and dlq replay.
	"deadletters": {summary: "same as dlq list", usage: "deadletters [--limit N]", run: cmdDLQList, alias: true},
	"replay":      {summary: "same as dlq replay --id SEQ", usage: "replay SEQ", run: cmdReplay, alias: true},
}

// usageError is a wrong command line: exit code 2. usage, when set, replaces the
// command's usage line (a subcommand's own).
type usageError struct{ msg, usage string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{msg: fmt.Sprintf(format, args...)} }

// helpRequest is --help on a subcommand: its usage and text go to stdout, exit 0.
type helpRequest struct{ usage, help string }

func (h helpRequest) Error() string { return "help requested" }

const globalUsage = "copctl [--url URL] [--nats URL]"

// tokenHelp says where copctl's token comes from. The environment is the documented way: a
// token on the command line is visible to other users of the machine (ps) and stays in the
// shell's history.
const tokenHelp = `environment:
  COPNET_TOKEN  the bearer token copctl sends. Create a personal API token for yourself, carrying
                the grants the commands need (POST /v1/tokens, shown once), and export it:
                  export COPNET_TOKEN=<the token>
                Operators with the node's data dir can use copnet token --role ... instead.
                (--token TOKEN overrides it, but shows in ps and the shell's history.)
  COPNET_URL    the node's base URL (--url)`

// run executes copctl with args (without the program name) and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("copctl", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	url := global.String("url", envOr("COPNET_URL", "http://127.0.0.1:8080"), "the copnet node's base URL ($COPNET_URL)")
	// The token's default is read after parsing, not given to the flag: flag's help prints
	// defaults, and would print the token.
	token := global.String("token", "", "bearer token; prefer $COPNET_TOKEN, see environment below")
	natsURL := global.String("nats", os.Getenv("COPNET_NATS_URL"), "the node's NATS server, for stream and consumer lag in status ($COPNET_NATS_URL)")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, global)
			return exitOK
		}
		fmt.Fprintln(stderr, "copctl:", err)
		printUsage(stderr, global)
		return exitUsage
	}
	if *token == "" {
		*token = os.Getenv("COPNET_TOKEN")
	}
	rest := global.Args()
	if len(rest) == 0 || rest[0] == "help" {
		if len(rest) > 1 {
			if cmd, ok := commands[rest[1]]; ok {
				printCommandHelp(stdout, cmd.usage, cmd.summary, cmd.help)
				return exitOK
			}
			fmt.Fprintf(stderr, "copctl: unknown command %q\n", rest[1])
			printUsage(stderr, global)
			return exitUsage
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
	c.NATSURL = *natsURL
	c.Stderr, c.StderrTTY = stderr, isTerminal(stderr)
	err := cmd.run(ctx, c, rest[1:], stdout)
	var hr helpRequest
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		printCommandHelp(stdout, cmd.usage, cmd.summary, cmd.help)
		return exitOK
	case errors.As(err, &hr):
		printCommandHelp(stdout, hr.usage, "", hr.help)
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		usage := cmd.usage
		if ue.usage != "" {
			usage = ue.usage
		}
		fmt.Fprintf(stderr, "copctl %s: %s\nusage: copctl %s\n", rest[0], ue.msg, usage)
		return exitUsage
	}
	printError(stderr, err)
	if StatusOf(err) == 401 {
		if *token == "" {
			fmt.Fprintln(stderr, "copctl: no token: set COPNET_TOKEN to a personal API token (POST /v1/tokens)")
		} else {
			fmt.Fprintln(stderr, "copctl: the node refused the token in COPNET_TOKEN (expired or revoked?): create a new one")
		}
	}
	return exitFail
}

func printCommandHelp(w io.Writer, usage, summary, help string) {
	fmt.Fprintf(w, "usage: %s %s\n", globalUsage, usage)
	if summary != "" {
		fmt.Fprintf(w, "\n%s\n", summary)
	}
	if help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(help, "\n"))
	}
	fmt.Fprintln(w, "\n"+exitCodesHelp)
}

const exitCodesHelp = `exit codes:
  0  done (status: the node is ready)
  1  the node refused, failed or could not be reached; some rows or dead letters failed;
     a CSV had bad rows (nothing was imported); status: the node is not ready
  2  wrong command line (unknown command or flag, missing argument)`

func printUsage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s COMMAND [ARGS]\n", globalUsage)
	fmt.Fprintln(w, "\ncommands (copctl COMMAND --help for more):")
	names := make([]string, 0, len(commands))
	for name, cmd := range commands {
		if !cmd.alias {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-10s %s\n", name, commands[name].summary)
		fmt.Fprintf(w, "  %-10s   copctl %s\n", "", commands[name].usage)
	}
	fmt.Fprintln(w, "\nflags:")
	global.SetOutput(w)
	global.PrintDefaults()
	global.SetOutput(io.Discard)
	fmt.Fprintln(w, "\n"+tokenHelp)
	fmt.Fprintln(w, "\n"+exitCodesHelp)
}

// isTerminal reports whether w is a terminal (a character device), where progress bars go.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// printError writes a failure the way copctl shows every failure: a problem answer as
// "status title: detail" and one indented line per field error.
func printError(w io.Writer, err error) {
	var rr *RowsRejected
	if errors.As(err, &rr) {
		fmt.Fprint(w, rr.Format())
		return
	}
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
			return nil, usageError{msg: err.Error()}
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

// errHelp is what parse returns for -h or --help.
var errHelp = flag.ErrHelp

// withUsage gives a usage error a subcommand's own usage line.
func withUsage(err error, usage string) error {
	var ue usageError
	if errors.As(err, &ue) {
		ue.usage = usage
		return ue
	}
	return err
}

// flagDefaults is fs's flags as PrintDefaults writes them.
func flagDefaults(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}
