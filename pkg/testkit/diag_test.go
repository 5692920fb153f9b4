package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestDiagRestart(t *testing.T) {
	n := NATS(t)
	nc := n.Connect(t)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "O", Subjects: []string{"o"}}); err != nil {
		t.Fatal(err)
	}
	n.Restart(t)
	t0 := time.Now()
	t.Logf("status right after restart: %v", nc.Status())
	EventuallyTrue(t, 5*time.Second, func() bool { return nc.Status() == nats.CONNECTED }, "connected")
	t.Logf("reconnected after %v", time.Since(t0))
	time.Sleep(500 * time.Millisecond)
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := js.Stream(c, "O")
	t.Logf("first request: %v after %v", err, time.Since(t0))
}
