package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/copnet/copnet/cmd/copnet/broker"
)

// readersFile keeps the read-only NATS credentials issued for integrations, one
// "name password" a line, private like the node's other secrets. The running node reads it
// again every few seconds, so issuing or revoking needs no restart.
const readersFile = "nats-readers"

// readerName keeps names usable as one token of a NATS subject and a consumer name.
var readerName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

type readerOptions struct {
	name   *string
	revoke *bool
	conf   *bool
}

func readerFlags() (*flag.FlagSet, readerOptions) {
	fs := flag.NewFlagSet("nats-reader", flag.ContinueOnError)
	return fs, readerOptions{
		name:   fs.String("name", "", "the integration's name (lower-case letters, digits, '-'); none: list the readers"),
		revoke: fs.Bool("revoke", false, "revoke the named reader: it is disconnected and its password stops working"),
		conf:   fs.Bool("conf", false, "print the reader's entry for the users of account COP in a nats-server configuration (split deployments: deploy/nats/single.conf)"),
	}
}

// cmdNATSReader issues, prints, lists or revokes read-only NATS credentials in the data dir.
func cmdNATSReader(args []string, stdout, stderr io.Writer) int {
	fs, o := readerFlags()
	if status, ok := parse("nats-reader", fs, args, stdout, stderr); !ok {
		return status
	}
	if *o.conf && (*o.name == "" || *o.revoke) {
		return misuse("nats-reader", errors.New("--conf needs --name (and no --revoke)"), stderr)
	}
	if *o.name != "" && !readerName.MatchString(*o.name) {
		return misuse("nats-reader", fmt.Errorf("--name %q: use 1 to 32 lower-case letters, digits and '-', starting with a letter", *o.name), stderr)
	}
	s, _, err := load(stderr)
	if err != nil {
		return exit(stderr, err)
	}
	readers, err := loadReaders(s.DataDir)
	if err != nil {
		return exit(stderr, err)
	}
	switch {
	case *o.name == "":
		if *o.revoke {
			return misuse("nats-reader", errors.New("--revoke needs --name"), stderr)
		}
		for _, r := range readers {
			fmt.Fprintln(stdout, r.Name)
		}
		return 0
	case *o.revoke:
		kept := slices.DeleteFunc(slices.Clone(readers), func(r broker.Reader) bool { return r.Name == *o.name })
		if len(kept) == len(readers) {
			return exit(stderr, fmt.Errorf("no reader %q", *o.name))
		}
		if err := saveReaders(s.DataDir, kept); err != nil {
			return exit(stderr, err)
		}
		fmt.Fprintf(stdout, "revoked %s: a running node disconnects it within seconds\n", *o.name)
		return 0
	}
	i := slices.IndexFunc(readers, func(r broker.Reader) bool { return r.Name == *o.name })
	if i < 0 {
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return exit(stderr, err)
		}
		readers = append(readers, broker.Reader{Name: *o.name, Password: "r" + hex.EncodeToString(buf)})
		if err := saveReaders(s.DataDir, readers); err != nil {
			return exit(stderr, err)
		}
		i = len(readers) - 1
	}
	r := readers[i]
	if *o.conf {
		fmt.Fprintln(stdout, r.ConfigEntry())
		return 0
	}
	url := "nats://" + s.NATSListen
	if s.NATSListen == "" {
		url = "(none: start the node with COPNET_NATS_LISTEN=host:port to open the client port)"
	}
	fmt.Fprintf(stdout, `url:          %s
user:         %s
password:     %s
stream:       %s (read only)
consumer:     %s (the only durable consumer this reader may create and use)
inbox prefix: %s (set it in the client: replies go nowhere else)
`, url, r.User(), r.Password, "COPNET", r.User(), r.InboxPrefix())
	return 0
}

// loadReaders reads the issued readers; none issued is an empty list.
func loadReaders(dir string) ([]broker.Reader, error) {
	path := filepath.Join(dir, readersFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := keepPrivate(f, path, os.Stderr); err != nil {
		return nil, err
	}
	var out []broker.Reader
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, password, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || !readerName.MatchString(name) || len(password) < 16 {
			return nil, fmt.Errorf("%s: a line is not \"name password\"", path)
		}
		out = append(out, broker.Reader{Name: name, Password: password})
	}
	return out, sc.Err()
}

// saveReaders replaces the file whole (a private temporary file renamed into place), so the
// node polling it never reads half a list.
func saveReaders(dir string, readers []broker.Reader) error {
	var b strings.Builder
	for _, r := range readers {
		fmt.Fprintf(&b, "%s %s\n", r.Name, r.Password)
	}
	tmp, err := os.CreateTemp(dir, "."+readersFile+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	return errors.Join(tmp.Sync(), tmp.Close(), os.Rename(tmp.Name(), filepath.Join(dir, readersFile)))
}

// watchReaders applies the readers file to the embedded server until ctx ends: issued
// readers can connect and revoked ones are disconnected, without a restart.
func watchReaders(ctx context.Context, dir string, e *broker.Embedded, log *slog.Logger) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		readers, err := loadReaders(dir)
		if err == nil {
			err = e.SetReaders(readers)
		}
		if err != nil {
			log.Warn("nats readers not applied", "err", err)
		}
	}
}
