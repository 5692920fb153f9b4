package notify_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/notify"
)

// clock is a test's movable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a node running notify with mail going to a real Mailpit.
type env struct {
	n     *testkit.Node
	mp    *testkit.MailpitServer
	clock *clock
	// db is notify's schema, as its own process sees it.
	db *pgxpool.Pool
}

// start runs notify on a node whose clock starts at now, sending through Mailpit.
func start(t *testing.T, now time.Time) *env {
	t.Helper()
	mp := testkit.Mailpit(t)
	t.Setenv("COPNET_SMTP_URL", mp.SMTPURL())
	t.Setenv("COPNET_MAIL_FROM", "copnet <no-reply@cop.example.org>")
	t.Setenv("COPNET_NOTIFY_SWEEP_INTERVAL", "100ms")
	t.Setenv("COPNET_NOTIFY_MAIL_POLL", "100ms")
	c := &clock{t: now}
	n := testkit.StartNode(t, testkit.NodeOptions{Now: c.Now}, notify.Factory)
	return &env{n: n, mp: mp, clock: c, db: n.Pool("notify")}
}

// contact shares a person's address with notify as membership does, on the node-private
// channel, and waits until notify has it.
func (e *env) contact(t *testing.T, person, name, address string) {
	t.Helper()
	e.share(t, map[string]any{"person_id": person, "name": name, "address": address})
	testkit.Eventually(t, 20*time.Second, func() error {
		var n int
		if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM contacts WHERE person_id = $1 AND address = $2`, person, address).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("contact of %s not there yet", person)
		}
		return nil
	})
}

func (e *env) share(t *testing.T, c map[string]any) {
	t.Helper()
	nc, err := e.n.Bus.Connect("test-contacts")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	data, _ := json.Marshal(c)
	if err := e.n.Bus.PublishPrivate(nc, e.n.Bus.PrivateSubject("contact", c["person_id"].(string)), data, ""); err != nil {
		t.Fatal(err)
	}
}

// waitRow waits until query counts want rows in notify's schema.
func (e *env) waitCount(t *testing.T, want int, query string, args ...any) {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		var n int
		if err := e.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%d rows, want %d: %s", n, want, query)
		}
		return nil
	})
}

func (e *env) publish(t *testing.T, evs ...events.Event) { t.Helper(); e.n.Publish(t, evs...) }

// raw is a message's source from Mailpit.
func (e *env) raw(t *testing.T, id string) []byte {
	t.Helper()
	resp, err := http.Get(e.mp.APIURL + "/api/v1/message/" + id + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("raw %s: %d %s", id, resp.StatusCode, b)
	}
	return b
}

// attachment returns the first part of type typ in a raw message, decoded.
func attachment(t *testing.T, raw []byte, typ string) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var find func(ct string, body io.Reader, enc string) []byte
	find = func(ct string, body io.Reader, enc string) []byte {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := find(p.Header.Get("Content-Type"), p, p.Header.Get("Content-Transfer-Encoding")); got != nil {
					return got
				}
			}
		}
		if mt != typ {
			return nil
		}
		b, _ := io.ReadAll(body)
		if strings.EqualFold(enc, "base64") {
			d, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		return b
	}
	return find(msg.Header.Get("Content-Type"), msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
}

// header returns a header of a raw message.
func header(t *testing.T, raw []byte, key string) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header.Get(key)
}

// schemaPool opens notify's schema in the database at url, for a notify in another process.
func schemaPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "notify"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
