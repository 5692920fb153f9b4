package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// repoRoot is the workspace root (bench's parent), where go build runs.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOWORK").Output()
	if err != nil {
		return "", err
	}
	w := strings.TrimSpace(string(out))
	if w == "" || w == "off" {
		return "", fmt.Errorf("bench runs inside the copnet workspace (go.work not found)")
	}
	return filepath.Dir(w), nil
}

// buildBinaries builds packages (workspace paths) into dir with go build.
func buildBinaries(dir string, pkgs ...string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	args := append([]string{"build", "-o", dir + "/"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// process is an OS process with its output in a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProcess(name, bin string, args, env []string, logDir string) (*process, error) {
	log := filepath.Join(logDir, name+".log")
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }() //nolint:errcheck // exit reported through done
	return p, nil
}

// stop sends SIGTERM (as docker stop does) and waits, killing after 20s.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		logf("%s did not stop within 20s of SIGTERM; killing pid %d", p.name, p.cmd.Process.Pid)
		p.cmd.Process.Kill() //nolint:errcheck // last resort
		<-p.done
	}
}

func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitHTTP polls u until 200, failing at once if the process exits.
func (p *process) waitHTTP(ctx context.Context, u string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready:\n%s", p.name, p.tail())
		default:
		}
		if st, _, err := call(ctx, "GET", u, "", nil, nil); err == nil && st == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready at %s after %s:\n%s", p.name, u, timeout, p.tail())
}

// memKB reads a field of /proc/<pid>/status in kB (VmHWM: peak resident set; VmRSS: now).
func memKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

// startNATSServer builds nats-server from the module version the workspace pins (as e2e
// does) and runs it with deploy/nats/single.conf on loopback ports.
func startNATSServer(ctx context.Context, binDir, logDir, nodeID, password string) (*process, string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	if err := buildBinaries(binDir, "github.com/nats-io/nats-server/v2"); err != nil {
		return nil, "", err
	}
	port, monitor := freeAddr(), freeAddr()
	portN, monN := port[strings.LastIndex(port, ":")+1:], monitor[strings.LastIndex(monitor, ":")+1:]
	store := filepath.Join(logDir, "nats-store-"+nodeID)
	p, err := startProcess("nats-server", filepath.Join(binDir, "nats-server"),
		[]string{"-c", filepath.Join(root, "deploy/nats/single.conf"), "-a", "127.0.0.1", "-p", portN, "-m", monN},
		[]string{"COPNET_NATS_STORE_DIR=" + store, "COPNET_NODE_ID=" + nodeID,
			"COPNET_NATS_PASSWORD=" + password, "COPNET_NATS_SYS_PASSWORD=" + password + "-sys"}, logDir)
	if err != nil {
		return nil, "", err
	}
	if err := p.waitHTTP(ctx, "http://"+monitor+"/healthz", 30*time.Second); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, fmt.Sprintf("nats://copnet:%s@%s", password, port), nil
}
