package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one of copnet's subcommands.
type command struct {
	synopsis string // the usage line, after "copnet "
	summary  string
	flags    func() *flag.FlagSet
	run      func(args []string, stdout, stderr io.Writer) int
}

// commands is filled in init: the commands print their own help, which reads this table.
var commands map[string]command

func init() {
	commands = map[string]command{
		"token": {synopsis: "token --role national|hub|coordinator|member [--region ID] [--cop ID] [--sub ID] [--ttl 24h]",
			summary: "print a bearer token for the API, signed with this data dir's secret (or COPNET_AUTH_SECRET)",
			flags:   func() *flag.FlagSet { fs, _ := tokenFlags(); return fs }, run: cmdToken},
		"nats-reader": {synopsis: "nats-reader [--name NAME [--revoke]]",
			summary: "issue (or show) read-only NATS credentials for an integration: it may consume the node's stream, nothing else; no --name lists them",
			flags:   func() *flag.FlagSet { fs, _ := readerFlags(); return fs }, run: cmdNATSReader},
		"link": {synopsis: "link [--ttl 30m] [--url http://127.0.0.1:8080]",
			summary: "print a single-use link that signs one browser in to the console as the national secretariat",
			flags:   func() *flag.FlagSet { fs, _ := linkFlags(); return fs }, run: cmdLink},
	}
}

// usage lists every command, for `copnet help` and for a misused copnet.
func usage() string {
	var b strings.Builder
	b.WriteString(`usage:
  copnet                 run the node: embedded NATS, every service on COPNET_HTTP_ADDR, and a private
                         PostgreSQL under COPNET_DATA_DIR unless DATABASE_URL is set (settings: README)
`)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := commands[name]
		fmt.Fprintf(&b, "  copnet %s\n                         %s\n", c.synopsis, c.summary)
	}
	b.WriteString("  copnet help [command]  show this, or one command's flags\n")
	return b.String()
}

// commandHelp is one command's usage with its flags.
func commandHelp(name string) string {
	c := commands[name]
	var b strings.Builder
	fmt.Fprintf(&b, "usage: copnet %s\n\n%s\n\nflags:\n", c.synopsis, c.summary)
	fs := c.flags()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

func help(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, "copnet is a national network of Communities of Practice in one process.\n\n"+usage())
		return 0
	}
	if _, ok := commands[args[0]]; !ok || len(args) > 1 {
		fmt.Fprintf(stderr, "copnet help: no command %q\n\n%s", strings.Join(args, " "), usage())
		return 2
	}
	fmt.Fprint(stdout, commandHelp(args[0]))
	return 0
}

// parse reads a command's flags: help goes to stdout with status 0, a mistake to stderr
// with the command's usage and status 2; ok says whether to go on.
func parse(name string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (status int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, commandHelp(name))
		return 0, false
	case err != nil:
		return misuse(name, err, stderr), false
	}
	return 0, true
}

func misuse(name string, err error, stderr io.Writer) int {
	fmt.Fprintf(stderr, "copnet %s: %v\n\n%s", name, err, commandHelp(name))
	return 2
}
