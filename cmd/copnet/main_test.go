package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests run copnet as its own process: this test binary turns into copnet when
// COPNET_TEST_RUN_MAIN is set, so exit statuses and output are exactly a user's.
func TestMain(m *testing.M) {
	if os.Getenv("COPNET_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

type result struct {
	status         int
	stdout, stderr string
}

// runCopnet runs `copnet args...` on a fresh data dir; a copnet that starts a node instead of
// answering is stopped by the deadline and fails the test.
func runCopnet(t *testing.T, dataDir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = []string{"COPNET_TEST_RUN_MAIN=1", "COPNET_DATA_DIR=" + dataDir, "COPNET_HTTP_ADDR=127.0.0.1:1",
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("copnet %q did not return (it started a node?):\n%s\n%s", args, stdout.String(), stderr.String())
	}
	var exitErr *exec.ExitError
	status := 0
	if errors.As(err, &exitErr) {
		status = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{status: status, stdout: stdout.String(), stderr: stderr.String()}
}

// TestHelpAndMisuse: help in any spelling prints every command's usage and exits 0; an unknown
// flag or command, or a command used wrongly, prints usage on stderr and exits 2. None of
// them starts a node, or even touches the data dir.
func TestHelpAndMisuse(t *testing.T) {
	t.Parallel()
	everyCommand := []string{"copnet token --role", "copnet link", "copnet nats-reader", "copnet help"}
	cases := []struct {
		args   []string
		status int
		out    []string // on stdout for 0, on stderr otherwise
	}{
		{[]string{"--help"}, 0, everyCommand},
		{[]string{"-h"}, 0, everyCommand},
		{[]string{"help"}, 0, everyCommand},
		{[]string{"token", "--help"}, 0, []string{"usage: copnet token", "-role", "-ttl"}},
		{[]string{"token", "-h"}, 0, []string{"usage: copnet token"}},
		{[]string{"help", "token"}, 0, []string{"usage: copnet token", "-region"}},
		{[]string{"link", "--help"}, 0, []string{"usage: copnet link", "-ttl", "-url"}},
		{[]string{"--bogus"}, 2, append([]string{`unknown command or flag "--bogus"`}, everyCommand...)},
		{[]string{"frobnicate"}, 2, append([]string{`unknown command or flag "frobnicate"`}, everyCommand...)},
		{[]string{"help", "frobnicate"}, 2, everyCommand},
		{[]string{"token"}, 2, []string{"--role is required", "usage: copnet token"}},
		{[]string{"token", "--role", "national", "--bogus"}, 2, []string{"-bogus", "usage: copnet token"}},
		{[]string{"token", "--role", "national", "extra"}, 2, []string{`unexpected argument "extra"`}},
		{[]string{"link", "--ttl", "720h"}, 2, []string{"--ttl", "usage: copnet link"}},
		{[]string{"link", "--url", "javascript:alert(1)"}, 2, []string{"--url", "usage: copnet link"}},
		{[]string{"nats-reader", "--help"}, 0, []string{"usage: copnet nats-reader", "-name", "-revoke"}},
		{[]string{"nats-reader", "--name", "Bad.Name"}, 2, []string{"--name", "usage: copnet nats-reader"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			r := runCopnet(t, dir, c.args...)
			out, quiet := r.stdout, r.stderr
			if c.status != 0 {
				out, quiet = r.stderr, r.stdout
			}
			if r.status != c.status || quiet != "" {
				t.Fatalf("status %d (want %d)\nstdout:\n%s\nstderr:\n%s", r.status, c.status, r.stdout, r.stderr)
			}
			for _, want := range c.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("copnet %q touched the data dir: %v", c.args, err)
			}
		})
	}
}

// TestLinkAndTokenUseTheDataDirSecret: `copnet link` prints one setup link to this node and
// no bearer token; `copnet token` and `copnet link` on a fresh data dir make its secret.
func TestLinkAndTokenUseTheDataDirSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runCopnet(t, dir, "link")
	link := strings.TrimSpace(r.stdout)
	if r.status != 0 || !strings.HasPrefix(link, "http://localhost:1/setup?t=") || strings.Count(link, ".") != 1 || strings.Contains(link, "token=") {
		t.Fatalf("copnet link: %d %q %s", r.status, r.stdout, r.stderr)
	}
	if again := runCopnet(t, dir, "link", "--url", "https://console.example/"); !strings.HasPrefix(again.stdout, "https://console.example/setup?t=") || again.stdout == r.stdout {
		t.Fatalf("copnet link --url: %q", again.stdout)
	}
	if fi, err := os.Stat(filepath.Join(dir, "auth-secret")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("auth-secret: %v, %v; want mode 0600", fi, err)
	}
	if tok := runCopnet(t, dir, "token", "--role", "hub", "--region", "vic"); tok.status != 0 || strings.Count(tok.stdout, ".") != 2 {
		t.Fatalf("copnet token: %d %q %s", tok.status, tok.stdout, tok.stderr)
	}
}

// TestSecretFileMadePrivate: a secret file others can read is made private, and copnet says
// so; a private one is used silently; a generated one is private from the start.
func TestSecretFileMadePrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "auth-secret")
	const secret = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var warn bytes.Buffer
	got, created, err := dataDirSecretFile(dir, "auth-secret", &warn)
	if err != nil || got != secret || created {
		t.Fatalf("dataDirSecretFile = %q, %v, %v", got, created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after use: %v, %v; want mode 0600", fi, err)
	}
	if !strings.Contains(warn.String(), path) || !strings.Contains(warn.String(), "0644") || !strings.Contains(warn.String(), "0600") {
		t.Errorf("warning %q should name the file, its old mode and the new one", warn.String())
	}

	warn.Reset()
	if got, _, err := dataDirSecretFile(dir, "auth-secret", &warn); err != nil || got != secret || warn.Len() != 0 {
		t.Errorf("private file: %q, %v, warned %q", got, err, warn.String())
	}

	fresh, created, err := dataDirSecretFile(dir, "nats-password", &warn)
	if err != nil || !created || len(fresh) != 64 {
		t.Fatalf("generated: %q, %v, %v", fresh, created, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "nats-password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated file: %v, %v; want mode 0600", fi, err)
	}
	if again, created, _ := dataDirSecretFile(dir, "nats-password", &warn); again != fresh || created {
		t.Errorf("second read: %q (created %v), want the kept %q", again, created, fresh)
	}
}

func TestBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://localhost:8080", ":8080": "http://localhost:8080",
		"0.0.0.0:80": "http://localhost:80", "[::]:8080": "http://localhost:8080",
		"[::1]:8080": "http://localhost:8080", "copnet.example:8080": "http://copnet.example:8080",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
