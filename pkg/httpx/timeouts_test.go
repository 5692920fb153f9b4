package httpx_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
)

// serveWith runs app behind NewHandler and NewServer with cfg, as a node does, and returns
// the listening address.
func serveWith(t *testing.T, cfg httpx.ServerConfig, app http.Handler) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	ln, err := httpx.Listen(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httpx.NewServer(cfg, httpx.NewHandler(cfg, app, nil, nil))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, srv, ln, time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return ln.Addr().String()
}

// dial opens a raw connection with a safety deadline: reaching it means the server kept a
// connection open that it should have closed, and the test says so rather than hanging.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

func decodingApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /meetings", func(w http.ResponseWriter, r *http.Request) {
		var in meetingInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, in)
	})
	return mux
}

// A client that trickles its body a byte at a time would hold the connection and the
// handler for as long as it likes; the read timeout ends it, as a 408 problem, while the
// client is still sending.
func TestSlowBodyIsCutOff(t *testing.T) {
	cfg := httpx.ServerConfig{ReadHeaderTimeout: 100 * time.Millisecond, ReadTimeout: 200 * time.Millisecond}
	addr := serveWith(t, cfg, decodingApp())
	conn := dial(t, addr)

	const bodyLen = 500 // at one byte per 20ms, ten seconds: fifty read timeouts
	if _, err := fmt.Fprintf(conn, "POST /meetings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", bodyLen); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	sent.Store(1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for sent.Load() < bodyLen {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte(" ")); err != nil {
				return // the server hung up, as it should
			}
			sent.Add(1)
		}
	}()

	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body trickled: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if n := sent.Load(); n >= bodyLen {
		t.Fatalf("the server read the whole trickled body (%d bytes) before answering %d", n, res.StatusCode)
	}
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("answer %d %s %s, want a 408 problem", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
}

// An idle keep-alive connection is closed once the idle timeout passes: waiting for the
// close is the test, however long the server takes.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	cfg := httpx.ServerConfig{IdleTimeout: 100 * time.Millisecond}
	addr := serveWith(t, cfg, http.NotFoundHandler())
	conn := dial(t, addr)

	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("first answer %d (close %v), want 200 on a kept-alive connection", res.StatusCode, res.Close)
	}
	// Now idle: the next read ends when the server closes the connection.
	_, err = rd.ReadByte()
	if err != io.EOF {
		t.Fatalf("idle connection: read gave %v, want EOF (closed by the server)", err)
	}
}

// A streaming route outlives the write timeout by extending its own deadline; without the
// extension the same response is cut off, which shows the deadline was real.
func TestExtendWriteDeadline(t *testing.T) {
	const writeTimeout = 100 * time.Millisecond
	mux := http.NewServeMux()
	stream := func(extend bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			deadline := time.Now().Add(writeTimeout)
			if extend {
				if err := httpx.ExtendWriteDeadline(w, time.Minute); err != nil {
					t.Errorf("ExtendWriteDeadline through the middleware: %v", err)
				}
			}
			// Let the server's own deadline pass before writing.
			<-time.After(time.Until(deadline) + 2*writeTimeout)
			_, _ = io.WriteString(w, "late event")
		}
	}
	mux.HandleFunc("GET /extended", stream(true))
	mux.HandleFunc("GET /plain", stream(false))
	addr := serveWith(t, httpx.ServerConfig{WriteTimeout: writeTimeout}, mux)

	if body, err := get("http://" + addr + "/extended"); err != nil || body != "late event" {
		t.Errorf("extended stream = %q, %v; want the late event", body, err)
	}
	if body, err := get("http://" + addr + "/plain"); err == nil {
		t.Errorf("stream without extension = %q, want it cut off by the write timeout", body)
	}
}
