package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const statusHelp = `status asks the node for:
  readiness     GET /readyz: NATS and each service's PostgreSQL (postgres:<service>)
  stream, lag   straight from NATS (--nats or $COPNET_NATS_URL): the event stream's state
                and, per durable consumer, lag = pending (not yet delivered) + ack pending
                (delivered, not yet acknowledged). Without a NATS URL, lag is reported as
                unavailable and the rest is still shown.
  dead letters  GET /v1/ops/deadletters (national token)
  federation    GET /v1/federation: each child node's link
A section the node refuses or cannot answer shows its error; the exit code is 0 when the
node is ready and 1 when it is not ready or cannot be reached.

flags:
  --output table|json   a readable table (default) or one JSON document
  --stream NAME         the event stream (default COPNET)`

// StatusReport is what `copctl status` finds; --output json prints it as is.
type StatusReport struct {
	Node        string           `json:"node"`
	Ready       bool             `json:"ready"`
	Readiness   ReadinessStatus  `json:"readiness"`
	Stream      StreamStatus     `json:"stream"`
	DeadLetters DeadLetterStatus `json:"deadletters"`
	Federation  FederationStatus `json:"federation"`
}

// ReadinessStatus is the node's /readyz answer, by service.
type ReadinessStatus struct {
	Status   string            `json:"status"` // ready, unavailable or unreachable
	Error    string            `json:"error,omitempty"`
	Checks   map[string]string `json:"checks"`
	NATS     string            `json:"nats"`
	Services []ServiceReady    `json:"services"`
}

// ServiceReady is one service's database check.
type ServiceReady struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	Check string `json:"check"`
}

// StreamStatus is the event stream's state and its consumers' lag, from NATS.
type StreamStatus struct {
	Available bool          `json:"available"`
	Reason    string        `json:"reason,omitempty"`
	Name      string        `json:"name"`
	Messages  uint64        `json:"messages"`
	Bytes     uint64        `json:"bytes"`
	FirstSeq  uint64        `json:"first_seq"`
	LastSeq   uint64        `json:"last_seq"`
	Consumers []ConsumerLag `json:"consumers"`
}

// ConsumerLag is one durable consumer's backlog: Lag = NumPending + AckPending.
type ConsumerLag struct {
	Name        string `json:"name"`
	NumPending  uint64 `json:"num_pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
	Lag         uint64 `json:"lag"`
}

// DeadLetterStatus counts the dead letters (at least Count when AtLeast).
type DeadLetterStatus struct {
	Available bool   `json:"available"`
	Error     string `json:"error,omitempty"`
	Count     int    `json:"count"`
	AtLeast   bool   `json:"at_least,omitempty"`
}

// FederationStatus is the node's federation links.
type FederationStatus struct {
	Available bool   `json:"available"`
	Error     string `json:"error,omitempty"`
	Node      string `json:"node,omitempty"`
	Tier      string `json:"tier,omitempty"`
	Links     []Link `json:"links"`
}

// NotReady is a status whose node is not ready or cannot be reached: exit 1.
type NotReady struct{ Why string }

func (e *NotReady) Error() string { return "the node is not ready: " + e.Why }

func cmdStatus(ctx context.Context, c *Client, args []string, out io.Writer) error {
	fs := flags("status")
	output := fs.String("output", "table", "table or json")
	stream := fs.String("stream", "COPNET", "the event stream")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *output != "table" && *output != "json" {
		return usagef("--output must be table or json")
	}
	r := collectStatus(ctx, c, *stream)
	if *output == "json" {
		err = writeJSON(out, r)
	} else {
		err = writeStatus(out, r)
	}
	if err != nil {
		return err
	}
	if !r.Ready {
		why := r.Readiness.Error
		if why == "" {
			var bad []string
			for _, name := range sortedKeys(r.Readiness.Checks) {
				if v := r.Readiness.Checks[name]; v != "ok" {
					bad = append(bad, name+": "+v)
				}
			}
			why = strings.Join(bad, "; ")
		}
		return &NotReady{Why: why}
	}
	return nil
}

func collectStatus(ctx context.Context, c *Client, stream string) StatusReport {
	r := StatusReport{Node: c.BaseURL}
	r.Readiness = readiness(ctx, c)
	r.Ready = r.Readiness.Status == "ready"
	r.Stream = streamStatus(ctx, c.NATSURL, stream)

	r.DeadLetters.Available = true
	dls, err := listDeadLetters(ctx, c, maxDeadLetters)
	if err != nil {
		r.DeadLetters = DeadLetterStatus{Error: oneLine(err.Error())}
	} else {
		r.DeadLetters.Count, r.DeadLetters.AtLeast = len(dls), len(dls) == maxDeadLetters
	}

	var fed struct {
		Node  string `json:"node"`
		Tier  string `json:"tier"`
		Links []Link `json:"links"`
	}
	if err := c.JSON(ctx, "GET", "/v1/federation", nil, &fed); err != nil {
		r.Federation = FederationStatus{Error: oneLine(err.Error()), Links: []Link{}}
	} else {
		if fed.Links == nil {
			fed.Links = []Link{}
		}
		r.Federation = FederationStatus{Available: true, Node: fed.Node, Tier: fed.Tier, Links: fed.Links}
	}
	return r
}

// readiness reads GET /readyz, which answers 200 or 503 with the same document.
func readiness(ctx context.Context, c *Client) ReadinessStatus {
	rs := ReadinessStatus{Checks: map[string]string{}, Services: []ServiceReady{}}
	fail := func(status, msg string) ReadinessStatus {
		rs.Status, rs.Error = status, msg
		return rs
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.BaseURL+"/readyz", nil)
	if err != nil {
		return fail("unreachable", err.Error())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fail("unreachable", fmt.Sprintf("cannot reach the copnet node at %s: %v", c.BaseURL, err))
	}
	defer resp.Body.Close()
	var doc struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.Status == "" {
		return fail("unavailable", fmt.Sprintf("GET /readyz answered %d without a readiness document", resp.StatusCode))
	}
	rs.Status = doc.Status
	if resp.StatusCode != http.StatusOK && rs.Status == "ready" {
		rs.Status = "unavailable"
	}
	for name, v := range doc.Checks {
		rs.Checks[name] = v
		if svc, ok := strings.CutPrefix(name, "postgres:"); ok {
			rs.Services = append(rs.Services, ServiceReady{Name: svc, Ready: v == "ok", Check: v})
		}
	}
	rs.NATS = doc.Checks["nats"]
	sort.Slice(rs.Services, func(i, j int) bool { return rs.Services[i].Name < rs.Services[j].Name })
	return rs
}

// streamStatus reads the stream and its durable consumers from NATS.
func streamStatus(ctx context.Context, natsURL, stream string) StreamStatus {
	st := StreamStatus{Name: stream, Consumers: []ConsumerLag{}}
	if natsURL == "" {
		st.Reason = "no NATS URL given (--nats or $COPNET_NATS_URL)"
		return st
	}
	nc, err := nats.Connect(natsURL, nats.Name("copctl"), nats.Timeout(5*time.Second), nats.MaxReconnects(0))
	if err != nil {
		st.Reason = fmt.Sprintf("cannot reach NATS at %s: %v", natsURL, err)
		return st
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		st.Reason = err.Error()
		return st
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		st.Reason = fmt.Sprintf("stream %s: %v", stream, err)
		return st
	}
	info, err := s.Info(ctx)
	if err != nil {
		st.Reason = fmt.Sprintf("stream %s: %v", stream, err)
		return st
	}
	st.Messages, st.Bytes, st.FirstSeq, st.LastSeq = info.State.Msgs, info.State.Bytes, info.State.FirstSeq, info.State.LastSeq
	list := s.ListConsumers(ctx)
	for ci := range list.Info() {
		if ci.Config.Durable == "" {
			continue // an ephemeral reader, not a service's consumer
		}
		st.Consumers = append(st.Consumers, ConsumerLag{
			Name: ci.Name, NumPending: ci.NumPending, AckPending: ci.NumAckPending, Redelivered: ci.NumRedelivered,
			Lag: ci.NumPending + uint64(max(ci.NumAckPending, 0)),
		})
	}
	if err := list.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		st.Reason = fmt.Sprintf("consumers of %s: %v", stream, err)
		return st
	}
	slices.SortFunc(st.Consumers, func(a, b ConsumerLag) int { return strings.Compare(a.Name, b.Name) })
	st.Available = true
	return st
}

func writeStatus(out io.Writer, r StatusReport) error {
	rd := r.Readiness
	fmt.Fprintf(out, "node %s: %s\n", r.Node, rd.Status)
	if rd.Error != "" {
		fmt.Fprintf(out, "  %s\n", rd.Error)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(rd.Checks) > 0 {
		fmt.Fprintln(tw, "SERVICE\tREADY\tCHECK")
		if rd.NATS != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", "(nats)", yesNo(rd.NATS == "ok"), oneLine(rd.NATS))
		}
		for _, s := range rd.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, yesNo(s.Ready), oneLine(s.Check))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	st := r.Stream
	if !st.Available {
		fmt.Fprintf(out, "stream %s and consumer lag: unavailable (%s)\n", st.Name, st.Reason)
	} else {
		fmt.Fprintf(out, "stream %s: %d message(s), %d byte(s), seq %d-%d, %d durable consumer(s)\n",
			st.Name, st.Messages, st.Bytes, st.FirstSeq, st.LastSeq, len(st.Consumers))
		if len(st.Consumers) > 0 {
			fmt.Fprintln(tw, "CONSUMER\tLAG\tPENDING\tACK PENDING\tREDELIVERED")
			for _, cl := range st.Consumers {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", cl.Name, cl.Lag, cl.NumPending, cl.AckPending, cl.Redelivered)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
		}
	}

	fmt.Fprintln(out)
	switch dl := r.DeadLetters; {
	case !dl.Available:
		fmt.Fprintf(out, "dead letters: unavailable (%s)\n", dl.Error)
	case dl.AtLeast:
		fmt.Fprintf(out, "dead letters: at least %d (copctl dlq list)\n", dl.Count)
	case dl.Count > 0:
		fmt.Fprintf(out, "dead letters: %d (copctl dlq list)\n", dl.Count)
	default:
		fmt.Fprintln(out, "dead letters: 0")
	}

	fmt.Fprintln(out)
	fed := r.Federation
	if !fed.Available {
		fmt.Fprintf(out, "federation: unavailable (%s)\n", fed.Error)
		return nil
	}
	fmt.Fprintf(out, "federation: node %s (%s), %d link(s)\n", fed.Node, fed.Tier, len(fed.Links))
	if len(fed.Links) == 0 {
		return nil
	}
	return writeLinks(out, fed.Links)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
