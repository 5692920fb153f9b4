// Package pgcluster runs a private PostgreSQL cluster for the all-in-one
// copnet binary, so that an operator who gives no DATABASE_URL still gets a
// durable database without setting one up.
//
// The cluster lives in Config.Dir, is created with initdb on first use, and
// is reachable only through a unix socket (no TCP listener at all), which is
// what makes trust authentication acceptable: only the owner of the
// directory, and root, can reach the socket.
//
// PostgreSQL refuses to run as root. When copnet runs as root, the data
// directory is handed to the "postgres" system user and initdb, pg_ctl and
// the server run as that user.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes where the cluster lives and which binaries run it.
type Config struct {
	// Dir is the PostgreSQL data directory, e.g. <datadir>/postgres. It is
	// created (and initialised) if missing.
	Dir string
	// BinDir holds initdb, pg_ctl and postgres. Empty means discover them
	// with FindBinaries.
	BinDir string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Superuser is the role initdb creates and URL connects as.
const Superuser = "postgres"

// systemUser is who runs PostgreSQL when copnet itself runs as root; Debian,
// Ubuntu, RHEL and Homebrew-on-Linux packages all create it.
const systemUser = "postgres"

// maxSocketPath leaves room for "/.s.PGSQL.65535" within the 107 usable
// bytes of sun_path on Linux (103 on macOS/BSD, hence the margin).
const maxSocketPath = 103 - len("/.s.PGSQL.65535")

// pgCtlTimeout is passed to pg_ctl -t: crash recovery after an unclean stop
// may replay a lot of WAL, and pg_ctl's default of 60s has been too short
// for that on slow disks.
const pgCtlTimeout = 300

var binaries = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres.
// If binDir is set only it is considered; otherwise PATH, then
// /usr/lib/postgresql/*/bin (highest version first), /usr/pgsql-*/bin,
// /usr/local/pgsql/bin, /opt/homebrew/bin and /usr/local/bin are searched.
func FindBinaries(binDir string) (string, error) {
	if binDir != "" {
		if missing := missingBinaries(binDir); len(missing) > 0 {
			return "", fmt.Errorf("pgcluster: %s lacks %s; %s",
				binDir, strings.Join(missing, ", "), installHint)
		}
		return binDir, nil
	}
	for _, dir := range candidateDirs() {
		if len(missingBinaries(dir)) == 0 {
			return dir, nil
		}
	}
	return "", errors.New("pgcluster: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH " +
		"or in the usual install locations; " + installHint)
}

const installHint = "install PostgreSQL (e.g. `apt-get install postgresql` or `brew install postgresql`), " +
	"point the PostgreSQL bin directory setting at them, or set DATABASE_URL to use an existing server"

func missingBinaries(dir string) []string {
	var missing []string
	for _, b := range binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

func candidateDirs() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"} {
		matches, _ := filepath.Glob(pattern) // only ErrBadPattern, impossible here
		slices.SortFunc(matches, func(a, b string) int { return compareVersionDirs(b, a) })
		dirs = append(dirs, matches...)
	}
	return append(dirs, "/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin")
}

// compareVersionDirs orders .../15/bin after .../9.6/bin, which a plain
// string sort gets wrong.
func compareVersionDirs(a, b string) int {
	va, vb := versionOf(a), versionOf(b)
	for i := 0; i < len(va) || i < len(vb); i++ {
		var x, y int
		if i < len(va) {
			x = va[i]
		}
		if i < len(vb) {
			y = vb[i]
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func versionOf(binDir string) []int {
	name := filepath.Base(filepath.Dir(binDir))
	name = strings.TrimPrefix(name, "pgsql-")
	var v []int
	for _, part := range strings.Split(name, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// Cluster is a running PostgreSQL cluster started by Start.
type Cluster struct {
	dir     string
	binDir  string
	sockDir string
	port    int
	runAs   *account
	log     *slog.Logger

	mu       sync.Mutex
	pid      int // postmaster PID, to tell our server from a later one
	restarts int

	// The supervisor runs until Stop cancels it; supervised is closed when it has returned.
	stopSupervisor context.CancelFunc
	supervised     chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// account is the system user PostgreSQL runs as when we are root.
type account struct {
	name   string
	home   string
	uid    uint32
	gid    uint32
	groups []uint32
}

// Start initialises Dir if it holds no cluster yet and starts PostgreSQL on
// a unix socket only. The caller must Stop the returned cluster.
//
// If a server from an earlier run is still running on Dir (copnet was
// killed without stopping it), it is stopped and started afresh rather than
// reused: only a server we started ourselves is known to run with our
// settings (no TCP listener, our socket directory), and a fresh port avoids
// any stale socket file.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: Config.Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: resolve %s: %w", cfg.Dir, err)
	}
	binDir, err := FindBinaries(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{dir: dir, binDir: binDir, log: log.With("component", "pgcluster", "dir", dir)}

	if os.Geteuid() == 0 {
		if c.runAs, err = lookupAccount(systemUser); err != nil {
			return nil, err
		}
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if err := c.initIfNeeded(ctx); err != nil {
		return nil, err
	}
	if err := c.stopLeftover(ctx); err != nil {
		return nil, err
	}
	if err := c.chooseSocket(); err != nil {
		return nil, err
	}
	pid, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	c.pid = pid
	sctx, cancel := context.WithCancel(context.Background())
	c.stopSupervisor, c.supervised = cancel, make(chan struct{})
	go c.supervise(sctx)
	return c, nil
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, and PostgreSQL refuses to run as root, "+
			"but system user %q to run it as was not found (%w); install the distribution's "+
			"postgresql package (it creates the user), run copnet as an unprivileged user, or set DATABASE_URL", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: uid %q of user %s: %w", u.Uid, name, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: gid %q of user %s: %w", u.Gid, name, err)
	}
	a := &account{name: name, home: u.HomeDir, uid: uint32(uid), gid: uint32(gid)}
	// Supplementary groups matter for the traversal check and must match
	// what the child process actually gets.
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				a.groups = append(a.groups, uint32(g))
			}
		}
	}
	return a, nil
}

// ErrDirUnreachable is wrapped by Start's error when the system user PostgreSQL runs as
// cannot enter the data directory, so a caller can choose another directory.
var ErrDirUnreachable = errors.New("data directory unreachable for the postgres user")

// prepareDir creates Dir and makes it usable by whoever runs PostgreSQL.
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.dir, err)
	}
	// postgres refuses a data directory readable by others.
	if err := os.Chmod(c.dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: chmod %s: %w", c.dir, err)
	}
	if c.runAs == nil {
		return nil
	}
	// A socket elsewhere would not help if the postgres user cannot reach
	// Dir itself: the server must chdir into its data directory. So an
	// unreachable Dir is an error with advice, not something to route around.
	if err := checkTraversable(filepath.Dir(c.dir), c.runAs); err != nil {
		return fmt.Errorf("pgcluster: %w: PostgreSQL runs as system user %q (copnet runs as root), "+
			"which cannot reach %s: %w; choose a data directory whose parents %s can enter "+
			"(e.g. under /var/lib), grant it with chmod o+x, or set DATABASE_URL", ErrDirUnreachable, c.runAs.name, c.dir, err, c.runAs.name)
	}
	return chownTree(c.dir, c.runAs)
}

// checkTraversable reports the first ancestor of dir (inclusive) that a is
// not allowed to search. Root passes every permission check, so asking the
// kernel (access(2)) as ourselves would prove nothing; we evaluate the mode
// bits for a instead. ACLs are ignored, which can only err towards failing.
func checkTraversable(dir string, a *account) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		uid, gid, ok := owner(fi)
		if ok && !canSearch(fi.Mode().Perm(), uid, gid, a) {
			return fmt.Errorf("%s (mode %v, owner %d:%d) is not searchable by %s", d, fi.Mode().Perm(), uid, gid, a.name)
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func canSearch(perm fs.FileMode, uid, gid uint32, a *account) bool {
	switch {
	case uid == a.uid:
		return perm&0o100 != 0
	case gid == a.gid || slices.Contains(a.groups, gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

// chownTree gives a the data directory. Only needed when ownership is off
// (first run, or files copied in by root), so a large existing cluster is
// not walked on every start.
func chownTree(dir string, a *account) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: stat %s: %w", dir, err)
	}
	if uid, gid, ok := owner(fi); ok && uid == a.uid && gid == a.gid {
		return nil
	}
	err = filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(a.uid), int(a.gid))
	})
	if err != nil {
		return fmt.Errorf("pgcluster: hand %s to user %s: %w", dir, a.name, err)
	}
	return nil
}

func (c *Cluster) initIfNeeded(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pgcluster: check for existing cluster: %w", err)
	}
	c.log.Info("initialising PostgreSQL cluster")
	// --locale=C: containers often have no locales generated, and C
	// collation keeps ordering identical on every machine.
	// --auth-host=reject: nothing listens on TCP, but if someone enables it
	// later, trust must not silently extend to the network.
	_, err := c.run(ctx, "initdb",
		"-D", c.dir,
		"-U", Superuser,
		"-E", "UTF8",
		"--locale=C",
		"--auth-local=trust",
		"--auth-host=reject",
	)
	return err
}

// stopLeftover stops a server still running on Dir from an earlier run.
func (c *Cluster) stopLeftover(ctx context.Context) error {
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	c.log.Warn("PostgreSQL from an earlier run is still running on this data directory; restarting it")
	_, err = c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", strconv.Itoa(pgCtlTimeout))
	return err
}

// running asks pg_ctl, which checks both postmaster.pid and that its
// process is alive, so a stale pid file from a crash reads as not running.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.dir)
	if err == nil {
		return true, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 3 { // 3: not running
		return false, nil
	}
	return false, err
}

// chooseSocket puts the socket in Dir when the path fits in sun_path, else
// in a private directory under os.TempDir named after Dir, so it is stable
// across restarts and distinct per cluster.
func (c *Cluster) chooseSocket() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	if len(c.dir) <= maxSocketPath {
		c.sockDir = c.dir
		return nil
	}
	sum := sha256.Sum256([]byte(c.dir))
	c.sockDir = filepath.Join(os.TempDir(), "copnet-pg-"+hex.EncodeToString(sum[:8]))
	if len(c.sockDir) > maxSocketPath {
		return fmt.Errorf("pgcluster: socket directory %s is too long for a unix socket; set TMPDIR to a short path", c.sockDir)
	}
	if err := os.Mkdir(c.sockDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pgcluster: create socket directory: %w", err)
	}
	// Mkdir does not fix up a directory that already existed, and in a
	// shared /tmp someone else may have created it first.
	fi, err := os.Lstat(c.sockDir)
	if err != nil {
		return fmt.Errorf("pgcluster: socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pgcluster: socket directory %s is not a directory", c.sockDir)
	}
	if uid, _, ok := owner(fi); ok && uid != uint32(os.Geteuid()) && (c.runAs == nil || uid != c.runAs.uid) {
		return fmt.Errorf("pgcluster: socket directory %s belongs to uid %d, refusing to use it", c.sockDir, uid)
	}
	if err := os.Chmod(c.sockDir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: chmod socket directory: %w", err)
	}
	if c.runAs != nil {
		if err := os.Lchown(c.sockDir, int(c.runAs.uid), int(c.runAs.gid)); err != nil {
			return fmt.Errorf("pgcluster: chown socket directory: %w", err)
		}
	}
	return nil
}

// freePort picks a TCP port that is free on loopback. The server opens no
// TCP listener; the number only names the socket file, and a free one
// avoids confusing anyone who points a client at the same number.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts the server and returns its postmaster's PID.
func (c *Cluster) start(ctx context.Context) (int, error) {
	c.removeStaleSockets()
	c.log.Info("starting PostgreSQL", "socket_dir", c.sockDir, "port", c.port)
	// pg_ctl hands -o to /bin/sh, hence the shell quoting; the empty
	// listen_addresses disables TCP entirely.
	opts := fmt.Sprintf("-k %s -p %d -c listen_addresses='' -c unix_socket_permissions=0700", shellQuote(c.sockDir), c.port)
	_, err := c.run(ctx, "pg_ctl", "start",
		"-D", c.dir,
		"-w", "-t", strconv.Itoa(pgCtlTimeout),
		"-l", filepath.Join(c.dir, "postgres.log"),
		"-o", opts,
	)
	if err != nil {
		return 0, fmt.Errorf("%w (see %s)", err, filepath.Join(c.dir, "postgres.log"))
	}
	return c.postmasterPID()
}

// removeStaleSockets clears socket and lock files left by servers that died
// without cleaning up. Each start picks a new port, so PostgreSQL's own
// cleanup (which only looks at the port it is starting on) never reaches
// them. Only called once no server runs on Dir.
func (c *Cluster) removeStaleSockets() {
	stale, _ := filepath.Glob(filepath.Join(c.sockDir, ".s.PGSQL.*")) // only ErrBadPattern
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			c.log.Warn("cannot remove stale socket file", "file", f, "err", err)
		}
	}
}

// postmasterPID reads the PID from postmaster.pid; 0 means no pid file.
func (c *Cluster) postmasterPID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgcluster: read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: postmaster.pid: bad PID %q: %w", first, err)
	}
	return pid, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// URL returns a pgx-compatible connection URL for the superuser over the
// cluster's unix socket.
func (c *Cluster) URL() string {
	q := url.Values{}
	q.Set("host", c.sockDir)
	q.Set("port", strconv.Itoa(c.port))
	q.Set("sslmode", "disable")
	u := url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/postgres", RawQuery: q.Encode()}
	return u.String()
}

// Dir returns the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down with a fast shutdown (open transactions are
// rolled back, no crash recovery needed next time) and waits for it. It is
// safe to call more than once, succeeds if the server is already gone, and
// leaves alone a server that a later Start on the same Dir brought up.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	// The supervisor first, so that it does not take the shutdown for a crash. A restart it
	// is in the middle of is let finish, and then stopped like any server of ours.
	c.stopSupervisor()
	select {
	case <-c.supervised:
	case <-ctx.Done():
		return fmt.Errorf("pgcluster: stop: waiting for the supervisor: %w", ctx.Err())
	}
	pid, err := c.postmasterPID()
	if err != nil {
		return err
	}
	if pid == 0 {
		c.log.Warn("PostgreSQL was already stopped")
		return nil
	}
	if ours := c.postmaster(); pid != ours {
		c.log.Warn("PostgreSQL on this data directory was restarted by someone else; leaving it running",
			"ours", ours, "running", pid)
		return nil
	}
	c.log.Info("stopping PostgreSQL")
	_, err = c.run(ctx, "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w", "-t", strconv.Itoa(pgCtlTimeout))
	if err == nil {
		return nil
	}
	// pg_ctl fails on a pid file whose process has died meanwhile; that
	// server is stopped, which is all the caller asked for.
	if running, rerr := c.running(ctx); rerr == nil && !running {
		return nil
	}
	return err
}

// run executes one of the PostgreSQL binaries as the account that owns the
// cluster, returning its output, which is folded into the error on failure.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	// The tools complain when they cannot read the working directory, and
	// ours (e.g. /root) is usually closed to the postgres user.
	cmd.Dir = c.dir
	cmd.Env = c.env()
	cmd.SysProcAttr = sysProcAttr(c.runAs)
	// pg_ctl's server redirects its output to the log file, but guard
	// against a child keeping our pipes open past pg_ctl's exit.
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), &commandError{name: name, args: args, output: strings.TrimSpace(out.String()), err: err}
	}
	return out.Bytes(), nil
}

// env drops PG* variables, which the tools and the server would otherwise
// pick up (PGDATA, PGPORT, PGHOST...) and which are meant for the operator's
// own clients, not for this private cluster.
func (c *Cluster) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if c.runAs != nil && (strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=") || strings.HasPrefix(kv, "LOGNAME=")) {
			continue
		}
		env = append(env, kv)
	}
	if c.runAs != nil {
		env = append(env, "HOME="+c.runAs.home, "USER="+c.runAs.name, "LOGNAME="+c.runAs.name)
	}
	return env
}

// commandError keeps the underlying *exec.ExitError reachable with
// errors.As while carrying the tool's own explanation.
type commandError struct {
	name   string
	args   []string
	output string
	err    error
}

func (e *commandError) Error() string {
	msg := fmt.Sprintf("pgcluster: %s %s: %v", e.name, strings.Join(e.args, " "), e.err)
	if e.output != "" {
		msg += ": " + e.output
	}
	return msg
}

func (e *commandError) Unwrap() error { return e.err }
