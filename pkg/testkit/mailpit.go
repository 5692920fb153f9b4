//go:build linux

package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MailpitModule and MailpitVersion are the Mailpit tests send mail to: a real SMTP server
// that keeps what it receives and shows it through an HTTP API.
const (
	MailpitModule  = "github.com/axllent/mailpit"
	MailpitVersion = "v1.33.1"
)

// mailpitBuildTimeout bounds the one build of Mailpit per machine (about a minute and a
// half on two busy cores, most of it compiling SQLite).
const mailpitBuildTimeout = 10 * time.Minute

// mailpitWait bounds how long Mailpit may take to open its ports; mailWait how long WaitFor
// waits for a mail (a variable so that the test of its failure need not wait as long).
const mailpitWait = 30 * time.Second

var mailWait = 30 * time.Second

// MailpitOption adjusts the Mailpit that Mailpit starts.
type MailpitOption func(*mailpitOptions)

type mailpitOptions struct {
	smtpPort int
	args     []string
}

// MailpitSMTPPort makes Mailpit listen for SMTP on port (on 127.0.0.1), for a test that
// points a sender at the port before the server is there.
func MailpitSMTPPort(port int) MailpitOption {
	return func(o *mailpitOptions) { o.smtpPort = port }
}

// MailpitArgs passes more command-line flags to Mailpit, such as
// "--smtp-allowed-recipients" to have it refuse some recipients, or
// "--smtp-auth-accept-any" with "--smtp-auth-allow-insecure" to have it ask for AUTH.
func MailpitArgs(args ...string) MailpitOption {
	return func(o *mailpitOptions) { o.args = append(o.args, args...) }
}

// MailpitServer is a Mailpit process owned by one test.
type MailpitServer struct {
	// SMTPAddr is the SMTP listener, 127.0.0.1:port.
	SMTPAddr string
	// APIURL is the base of its HTTP API, http://127.0.0.1:port.
	APIURL string

	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// MailpitMessage is a mail as Mailpit received it.
type MailpitMessage struct {
	// ID is Mailpit's own id; MessageID is the mail's Message-ID header, without brackets.
	ID        string
	MessageID string
	From      string
	// To holds the bare addresses of the To header.
	To      []string
	Subject string
	Date    time.Time
	// Text is the plain-text body with CRLF line ends made LF; HTML is the HTML body.
	// Both are filled by Message and WaitFor, not by MessagesTo.
	Text string
	HTML string
}

// Mailpit builds Mailpit from its module once per machine, starts it on free loopback ports
// with its database in t.TempDir(), waits until both its SMTP listener and its HTTP API
// answer, and stops it when the test ends.
func Mailpit(t testing.TB, opts ...MailpitOption) *MailpitServer {
	t.Helper()
	var o mailpitOptions
	for _, opt := range opts {
		opt(&o)
	}
	bin := mailpitBinary(t)
	dir := t.TempDir()
	// A port found free may be taken before Mailpit binds it: start again on others.
	var lastErr error
	for try := 1; try <= 3; try++ {
		smtpPort := o.smtpPort
		if smtpPort == 0 {
			smtpPort = FreePort(t)
		}
		m, err := startMailpit(t, bin, dir, try, smtpPort, FreePort(t), o.args)
		if err == nil {
			return m
		}
		lastErr = err
		if o.smtpPort != 0 {
			break
		}
	}
	t.Fatalf("testkit: Mailpit did not start: %v", lastErr)
	return nil
}

func startMailpit(t testing.TB, bin, dir string, try, smtpPort, httpPort int, extra []string) (*MailpitServer, error) {
	m := &MailpitServer{
		SMTPAddr: "127.0.0.1:" + strconv.Itoa(smtpPort),
		APIURL:   "http://127.0.0.1:" + strconv.Itoa(httpPort),
		done:     make(chan struct{}),
		log:      filepath.Join(dir, fmt.Sprintf("mailpit-%d.log", try)),
	}
	logFile, err := os.Create(m.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := append([]string{
		"--smtp", m.SMTPAddr,
		"--listen", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--database", filepath.Join(dir, fmt.Sprintf("mailpit-%d.db", try)),
		// No network here: no update check, no reverse DNS of each client.
		"--disable-version-check",
		"--smtp-disable-rdns",
	}, extra...)
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	// Killed with the test binary, even when a test timeout ends it without cleanups.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(m.stop)
	deadline := time.Now().Add(mailpitWait)
	for {
		select {
		case <-m.done:
			return nil, fmt.Errorf("mailpit exited at start:\n%s", m.logTail())
		default:
		}
		err := m.ready()
		if err == nil {
			return m, nil
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("mailpit not ready within %s: %v\n%s", mailpitWait, err, m.logTail())
		}
		time.Sleep(pollInterval)
	}
}

// ready checks that the HTTP API answers and the SMTP listener accepts connections: Mailpit
// opens them concurrently, so one being up says nothing of the other. (Only the connection:
// with --smtp-require-tls the greeting comes after a TLS handshake.)
func (m *MailpitServer) ready() error {
	resp, err := http.Get(m.APIURL + "/readyz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	conn, err := net.DialTimeout("tcp", m.SMTPAddr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (m *MailpitServer) stop() {
	select {
	case <-m.done:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

func (m *MailpitServer) logTail() string {
	b, _ := os.ReadFile(m.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// SMTPURL is the URL a sender is configured with: smtp://127.0.0.1:port.
func (m *MailpitServer) SMTPURL() string { return "smtp://" + m.SMTPAddr }

// WaitFor waits until a mail to the address to (a bare address, or one with a display name)
// has arrived and returns it whole; if several have, the newest. It fails the test, listing
// what Mailpit did receive, when none arrives within 30 seconds.
func (m *MailpitServer) WaitFor(t testing.TB, to string) MailpitMessage {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		got, err := m.messagesTo(to)
		if err == nil && len(got) > 0 {
			return m.Message(t, got[0].ID)
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("none arrived; Mailpit holds: %s", m.describeAll())
			}
			t.Fatalf("testkit: no mail to %s in Mailpit within %s: %v", to, mailWait, err)
			return MailpitMessage{}
		}
		time.Sleep(pollInterval)
	}
}

// MessagesTo lists the mails to the address to, newest first, without their bodies. Mailpit
// searches by substring; this keeps the exact address only (case aside), so a mail to
// malice@example.org is not one to alice@example.org.
func (m *MailpitServer) MessagesTo(t testing.TB, to string) []MailpitMessage {
	t.Helper()
	got, err := m.messagesTo(to)
	if err != nil {
		t.Fatalf("testkit: mailpit search: %v", err)
	}
	return got
}

// Message fetches one mail with its bodies by Mailpit's id.
func (m *MailpitServer) Message(t testing.TB, id string) MailpitMessage {
	t.Helper()
	var raw mailpitJSON
	if err := m.get("/api/v1/message/"+url.PathEscape(id), &raw); err != nil {
		t.Fatalf("testkit: mailpit message %s: %v", id, err)
	}
	msg := raw.message()
	// Mailpit keeps the wire's CRLF; a link cut out of the text must not end in '\r'.
	msg.Text = strings.ReplaceAll(raw.Text, "\r\n", "\n")
	msg.HTML = strings.ReplaceAll(raw.HTML, "\r\n", "\n")
	return msg
}

func (m *MailpitServer) messagesTo(to string) ([]MailpitMessage, error) {
	want := to
	if a, err := mail.ParseAddress(to); err == nil {
		want = a.Address
	}
	var res struct {
		Messages []mailpitJSON `json:"messages"`
	}
	q := url.Values{"query": {"to:" + want}, "limit": {"1000"}}
	if err := m.get("/api/v1/search?"+q.Encode(), &res); err != nil {
		return nil, err
	}
	var out []MailpitMessage
	for _, r := range res.Messages {
		msg := r.message()
		for _, a := range msg.To {
			if strings.EqualFold(a, want) {
				out = append(out, msg)
				break
			}
		}
	}
	return out, nil
}

func (m *MailpitServer) describeAll() string {
	var res struct {
		Messages []mailpitJSON `json:"messages"`
	}
	if err := m.get("/api/v1/messages?limit=50", &res); err != nil {
		return err.Error()
	}
	if len(res.Messages) == 0 {
		return "no mail at all"
	}
	var parts []string
	for _, r := range res.Messages {
		msg := r.message()
		parts = append(parts, fmt.Sprintf("%q to %v", msg.Subject, msg.To))
	}
	return strings.Join(parts, "; ")
}

func (m *MailpitServer) get(path string, into any) error {
	resp, err := http.Get(m.APIURL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, into)
}

// mailpitJSON is the part of Mailpit's message and message-summary JSON the tests read.
type mailpitJSON struct {
	ID        string
	MessageID string
	From      *mailpitAddress
	To        []mailpitAddress
	Subject   string
	Date      time.Time
	Created   time.Time
	Text      string
	HTML      string
}

type mailpitAddress struct {
	Name    string
	Address string
}

func (r mailpitJSON) message() MailpitMessage {
	msg := MailpitMessage{ID: r.ID, MessageID: r.MessageID, Subject: r.Subject, Date: r.Date}
	if msg.Date.IsZero() {
		msg.Date = r.Created
	}
	if r.From != nil {
		msg.From = r.From.Address
	}
	for _, a := range r.To {
		msg.To = append(msg.To, a.Address)
	}
	return msg
}

// mailpitBinary returns the path of the Mailpit binary, building it on the first call on
// this machine: go install of the pinned module into a cache directory that outlives test
// runs. A file lock makes test processes running at once (go test runs packages in
// parallel) build it once between them.
func mailpitBinary(t testing.TB) string {
	t.Helper()
	mailpitOnce.Do(func() { mailpitPath, mailpitErr = buildMailpit() })
	if mailpitErr != nil {
		t.Fatalf("testkit: building Mailpit %s@%s: %v", MailpitModule, MailpitVersion, mailpitErr)
	}
	return mailpitPath
}

var (
	mailpitOnce sync.Once
	mailpitPath string
	mailpitErr  error
)

func buildMailpit() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "copnet", "bin", "mailpit-"+MailpitVersion)
	bin := filepath.Join(dir, "mailpit")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // released on close anyway
	if isExecutable(bin) {
		return bin, nil // another process built it while this one waited
	}
	// Built into a directory of its own and renamed into place, so that bin, when it
	// exists, is whole.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), mailpitBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", MailpitModule+"@"+MailpitVersion)
	// Outside any workspace, with the module's own go.mod; GOFLAGS such as -mod=mod do
	// not apply to it.
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install: %w\n%s", err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "mailpit"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
