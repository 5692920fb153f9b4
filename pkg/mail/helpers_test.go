package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

// schema is the service schema the tests' pools are confined to, as a service's pool is.
const schema = "membership"

// outboxPool is a pool on a fresh database, confined to schema, with the outbox table.
func outboxPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testkit.PostgresURL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := mail.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// enqueue commits m on its own transaction.
func enqueue(t *testing.T, pool *pgxpool.Pool, m mail.Mail) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return mail.Enqueue(ctx, tx, m) }); err != nil {
		t.Fatal(err)
	}
}

// row is what the tests read back of an outbox row.
type row struct {
	ID        int64
	MessageID string
	To        string
	Text      string
	HTML      *string
	Attempts  int
	NextAt    *time.Time
	LastError *string
	SentAt    *time.Time
	FailedAt  *time.Time
}

func rows(t *testing.T, pool *pgxpool.Pool) []row {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT id, message_id, to_addr, text_body, html_body, attempts,
		nullif(next_attempt_at, '-infinity'), last_error, sent_at, failed_at FROM mail_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.ID, &x.MessageID, &x.To, &x.Text, &x.HTML, &x.Attempts, &x.NextAt, &x.LastError, &x.SentAt, &x.FailedAt)
		return x, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func onlyRow(t *testing.T, pool *pgxpool.Pool) row {
	t.Helper()
	rs := rows(t, pool)
	if len(rs) != 1 {
		t.Fatalf("%d outbox rows, want 1", len(rs))
	}
	return rs[0]
}

// logBuffer captures a logger's output, to prove what it never says.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func capturedLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// assertNoSecrets fails when the logs hold a body's secret or a recipient's local part.
func assertNoSecrets(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and returns a TLS config
// that trusts it (and only it).
func selfSignedCert(t *testing.T) (certFile, keyFile string, trust *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}
