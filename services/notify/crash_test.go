package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

var (
	buildOnce sync.Once
	notifyBin string
	buildErr  error
)

// binary builds cmd/notify once per test run: the crash test kills a real OS process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "notify-bin-")
		if err != nil {
			buildErr = err
			return
		}
		notifyBin = filepath.Join(dir, "notify")
		out, err := exec.Command("go", "build", "-o", notifyBin, "./cmd/notify").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build notify: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return notifyBin
}

// startNotify runs the notify binary as an operator would and waits until it is ready.
func startNotify(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	cmd := exec.Command(binary(t))
	cmd.Env = append(os.Environ(), append([]string{"COPNET_HTTP_ADDR=" + addr, "COPNET_LOG_LEVEL=warn"}, env...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone already
			cmd.Wait()                          //nolint:errcheck // exit status after SIGTERM
		}
	})
	testkit.Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return cmd
}

// Killing the notify process in the middle of delivering a batch, and starting it again,
// sends each mail exactly once. The kill lands where a naive sender duplicates a mail: the
// SMTP server holds the whole mail and the worker is about to record it sent. The test
// holds a lock on that row, so the worker waits there (a state the test observes, not a
// moment it races), and kills the process then. Because notify records a mail sent before
// it ends the data (mail.Worker.HandOverFirst), the server drops the unfinished mail with
// the connection, and the restarted worker sends it once.
func TestKilledMidDeliverySendsEachMailOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds, kills and restarts the notify binary")
	}
	ctx := context.Background()
	mp := testkit.Mailpit(t)
	ns := testkit.NATS(t)
	dbURL := testkit.PostgresURL(t)
	// A node with no services of its own shares the broker and database: the test
	// publishes through it, as the other services would.
	n := testkit.StartNode(t, testkit.NodeOptions{NATS: ns, DatabaseURL: dbURL})
	settings := []string{"COPNET_NATS_URL=" + ns.URL(), "DATABASE_URL=" + dbURL, "COPNET_AUTH_SECRET=" + string(n.Secret),
		"COPNET_SMTP_URL=" + mp.SMTPURL(), "COPNET_MAIL_FROM=copnet <no-reply@cop.example.org>",
		"COPNET_NOTIFY_SWEEP_INTERVAL=100ms", "COPNET_NOTIFY_MAIL_POLL=100ms"}
	p := startNotify(t, settings)

	pool := schemaPool(t, dbURL)
	e := &env{n: n, mp: mp, db: pool}
	const members = 8
	var people []string
	for i := 1; i <= members; i++ {
		people = append(people, fmt.Sprintf("m%d", i))
	}
	n.Publish(t, events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Youth mental health", Scope: "regional", Topics: []string{"youth"}, HostOrganisations: []string{"Headspace"}, Stage: "potential"})
	for _, person := range people {
		n.Publish(t, events.MemberJoined{CoPID: "c1", Region: "vic", PersonID: person, CodeOfPracticeVersion: 1})
		e.contact(t, person, "Member "+person, person+"@example.org")
	}
	e.waitCount(t, members, `SELECT count(*) FROM members WHERE cop_id = 'c1'`)

	// Hold every mail back (the worker skips rows whose advisory lock another session
	// holds), and lock the fifth mail's row against its update.
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	const lockKey = `hashtext('copnet_mail_outbox.' || current_schema())`
	for id := 1; id <= members; id++ {
		if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(`+lockKey+`, $1)`, id); err != nil {
			t.Fatal(err)
		}
	}
	n.Publish(t, events.CheckinDue{CoPID: "c1", SessionID: "s1", Number: 3})
	e.waitCount(t, members, `SELECT count(*) FROM mail_outbox`)
	e.waitCount(t, members, `SELECT count(*) FROM mail_outbox WHERE id BETWEEN 1 AND $1`, members)
	rowLock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rowLock.Rollback(ctx) //nolint:errcheck // rolled back below
	if _, err := rowLock.Exec(ctx, `SELECT id FROM mail_outbox WHERE id = 5 FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
		t.Fatal(err)
	}
	// Mails 1-4 go; the worker has written mail 5 to the server and waits to record it.
	e.waitCount(t, 4, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL`)
	e.waitCount(t, 1, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE mail_outbox SET sent_at%'`)
	p.Process.Kill() //nolint:errcheck // killed on purpose
	p.Wait()         //nolint:errcheck // killed on purpose
	if err := rowLock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for i, person := range people {
		want := 0
		if i < 4 {
			want = 1
		}
		if got := mp.MessagesTo(t, person+"@example.org"); len(got) != want {
			t.Fatalf("before the restart %s has %d mails, want %d", person, len(got), want)
		}
	}

	startNotify(t, settings)
	e.waitCount(t, members, `SELECT count(*) FROM mail_outbox WHERE confirmed_at IS NOT NULL`)
	for _, person := range people {
		mp.WaitFor(t, person+"@example.org")
		if got := mp.MessagesTo(t, person+"@example.org"); len(got) != 1 {
			t.Fatalf("%s got %d mails, want exactly one", person, len(got))
		}
	}
}
