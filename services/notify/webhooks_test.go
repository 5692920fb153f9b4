package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/notify"
)

// received is one POST a receiver got.
type received struct {
	ID, Timestamp, Signature, ContentType string
	Body                                  []byte
}

// receiver is a webhook endpoint started by the test: it records every request and answers
// with status (200 unless the test changes it).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{status: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), ContentType: req.Header.Get("Content-Type"), Body: body})
		status := r.status
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor waits until the receiver has got n requests, and returns them.
func (r *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	testkit.Eventually(t, 20*time.Second, func() error {
		if got := len(r.requests()); got < n {
			return fmt.Errorf("receiver got %d of %d requests", got, n)
		}
		return nil
	})
	return r.requests()
}

// verify checks a request's signature as a receiver following the Standard Webhooks
// specification would, written here independently of the service's code: HMAC-SHA256 keyed
// with the base64-decoded secret after "whsec_", over "id.timestamp.body", in one of the
// space-separated "v1,<base64>" signatures.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	if !signatureOK(t, secret, r) {
		t.Fatalf("signature %q of %s does not verify", r.Signature, r.Body)
	}
}

func signatureOK(t *testing.T, secret string, r received) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q is not whsec_<base64>", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.ID + "." + r.Timestamp + "."))
	mac.Write(r.Body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.Signature) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// cloudEvent is the structured-mode body a receiver parses.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

func parse(t *testing.T, r received) cloudEvent {
	t.Helper()
	if !strings.HasPrefix(r.ContentType, "application/cloudevents+json") {
		t.Fatalf("Content-Type %q, want application/cloudevents+json", r.ContentType)
	}
	var ce cloudEvent
	if err := json.Unmarshal(r.Body, &ce); err != nil {
		t.Fatalf("body is not a CloudEvent: %v\n%s", err, r.Body)
	}
	if ce.SpecVersion != "1.0" || ce.ID == "" || ce.ID != r.ID || ce.Source != "urn:copnet:node:national" ||
		ce.DataContentType != "application/json" || ce.Time.IsZero() || len(ce.Data) == 0 {
		t.Fatalf("CloudEvent lacks its attributes (or webhook-id %q is not its id): %s", r.ID, r.Body)
	}
	return ce
}

type webhook struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Region         string   `json:"region"`
	EventTypes     []string `json:"event_types"`
	Status         string   `json:"status"`
	Failures       int      `json:"failures"`
	Secret         string   `json:"secret"`
	DisabledReason string   `json:"disabled_reason"`
}

type delivery struct {
	EventID       string     `json:"event_id"`
	Status        string     `json:"status"`
	LastStatus    *int       `json:"last_status"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Attempts      []struct {
		At     time.Time `json:"at"`
		Status *int      `json:"status"`
	} `json:"attempts"`
}

func register(t *testing.T, n *testkit.Node, token string, body map[string]any) webhook {
	t.Helper()
	var w webhook
	if status := n.JSON(t, "POST", "/v1/webhooks", token, body, &w); status != http.StatusCreated {
		t.Fatalf("register %v: %d", body, status)
	}
	return w
}

func deliveries(t *testing.T, n *testkit.Node, token, id string) []delivery {
	t.Helper()
	var out struct {
		Deliveries []delivery `json:"deliveries"`
	}
	if status := n.JSON(t, "GET", "/v1/webhooks/"+id+"/deliveries", token, nil, &out); status != http.StatusOK {
		t.Fatalf("deliveries: %d", status)
	}
	return out.Deliveries
}

// startHooks runs notify (helpers_test.go's start: Mailpit, a clock at now) with a short
// poll for webhook retries; new events wake the worker anyway.
func startHooks(t *testing.T, now time.Time) *env {
	t.Helper()
	t.Setenv("COPNET_WEBHOOK_POLL", "50ms")
	return start(t, now)
}

func national(t *testing.T, n *testkit.Node, person string) string {
	return n.Token(t, httpx.Claims{Subject: person, Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
}

// A receiver started by the test gets each event it subscribed to exactly once, as a
// CloudEvent in structured mode whose Standard Webhooks signature verifies with the secret
// it was given; events of other types are not sent, and a redelivered event is not sent
// again. The deliveries route shows each delivered with the receiver's status.
func TestWebhookGetsEachSubscribedEventOnceSigned(t *testing.T) {
	n := startHooks(t, time.Now()).n
	rcv := newReceiver(t)
	token := national(t, n, "nat-1")
	w := register(t, n, token, map[string]any{"url": rcv.srv.URL + "/hooks",
		"event_types": []string{"registry.cop_approved.v1", "feedback.poll_opened.v1"}})
	if w.Status != "active" || !strings.HasPrefix(w.Secret, "whsec_") || w.Region != "" {
		t.Fatalf("registered %+v", w)
	}

	n.Publish(t,
		events.CoPApproved{CoPID: "cop-a", Region: "vic"},
		events.CoPDeclined{CoPID: "cop-b", Region: "vic", Reason: "not subscribed"},
		events.PollOpened{PollID: "poll-1", CoPID: "cop-a", Kind: "scale", Purpose: "poll"},
		events.CoPApproved{CoPID: "cop-c", Region: "nsw"},
	)
	got := rcv.waitFor(t, 3)

	var types []string
	seen := map[string]bool{}
	for _, r := range got {
		verify(t, w.Secret, r)
		ce := parse(t, r)
		if seen[ce.ID] {
			t.Fatalf("event %s delivered twice", ce.ID)
		}
		seen[ce.ID] = true
		types = append(types, ce.Type)
	}
	if want := []string{"registry.cop_approved.v1", "feedback.poll_opened.v1", "registry.cop_approved.v1"}; !slices.Equal(types, want) {
		t.Fatalf("received %v, want %v", types, want)
	}
	var first events.CoPApproved
	if err := json.Unmarshal(parse(t, got[0]).Data, &first); err != nil || first.CoPID != "cop-a" {
		t.Fatalf("data of the first event: %+v %v", first, err)
	}
	// A changed body, or another secret, does not verify: the check above is real.
	forged := got[0]
	forged.Body = []byte(strings.Replace(string(forged.Body), "cop-a", "cop-x", 1))
	if signatureOK(t, w.Secret, forged) || signatureOK(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret of 24 b")), got[0]) {
		t.Fatal("a changed body or another secret verified")
	}

	// A later event arrives after everything before it: nothing more came meanwhile.
	n.Publish(t, events.CoPApproved{CoPID: "cop-d", Region: "vic"})
	got = rcv.waitFor(t, 4)
	if len(got) != 4 {
		t.Fatalf("receiver got %d requests, want 4 (each event once)", len(got))
	}
	// The receiver answered before the outcome was recorded: wait for the record.
	testkit.Eventually(t, 20*time.Second, func() error {
		ds := deliveries(t, n, token, w.ID)
		if len(ds) != 4 {
			return fmt.Errorf("%d deliveries listed, want 4", len(ds))
		}
		for _, d := range ds {
			if d.Status != "delivered" || d.LastStatus == nil || *d.LastStatus != 200 || len(d.Attempts) != 1 {
				return fmt.Errorf("delivery %+v, want delivered at the first attempt with 200", d)
			}
		}
		return nil
	})
}

// A hub's endpoint receives only its region's events: those naming the region, and those
// naming only a CoP of the region; a national endpoint receives every one.
func TestHubWebhookNeverGetsAnotherRegionsEvent(t *testing.T) {
	n := startHooks(t, time.Now()).n
	hubRcv, natRcv := newReceiver(t), newReceiver(t)
	types := []string{"registry.cop_approved.v1", "feedback.poll_opened.v1"}
	hub := n.Token(t, httpx.Claims{Subject: "hub-vic", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}}})
	hw := register(t, n, hub, map[string]any{"url": hubRcv.srv.URL, "event_types": types})
	if hw.Region != "vic" {
		t.Fatalf("a hub's endpoint is scoped to %q, want its region vic", hw.Region)
	}
	nw := register(t, n, national(t, n, "nat-1"), map[string]any{"url": natRcv.srv.URL, "event_types": types})

	n.Publish(t,
		events.CoPApproved{CoPID: "cop-vic", Region: "vic"},
		events.CoPApproved{CoPID: "cop-nsw", Region: "nsw"},
		events.PollOpened{PollID: "p-nsw", CoPID: "cop-nsw", Kind: "scale", Purpose: "poll"},
		events.PollOpened{PollID: "p-unknown", CoPID: "cop-nowhere", Kind: "scale", Purpose: "poll"},
		events.PollOpened{PollID: "p-vic", CoPID: "cop-vic", Kind: "scale", Purpose: "poll"},
	)
	// The national endpoint gets all five; the hub's last one (p-vic) comes after everything
	// the hub could have been sent.
	natGot := natRcv.waitFor(t, 5)
	hubGot := hubRcv.waitFor(t, 2)
	for _, r := range natGot {
		verify(t, nw.Secret, r)
	}
	var hubData []string
	for _, r := range hubGot {
		verify(t, hw.Secret, r)
		hubData = append(hubData, string(parse(t, r).Data))
	}
	if len(hubGot) != 2 || !strings.Contains(hubData[0], `"cop-vic"`) || !strings.Contains(hubData[1], `"p-vic"`) {
		t.Fatalf("the hub of vic received %d events: %q; want cop-vic's approval and p-vic only", len(hubGot), hubData)
	}

	// The hub sees its endpoint only; another region's hub cannot see or manage it.
	var list struct {
		Endpoints []webhook `json:"endpoints"`
	}
	n.JSON(t, "GET", "/v1/webhooks", hub, nil, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].ID != hw.ID || list.Endpoints[0].Secret != "" {
		t.Fatalf("the hub's list: %+v", list.Endpoints)
	}
	nsw := n.Token(t, httpx.Claims{Subject: "hub-nsw", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "nsw"}}})
	if status, _ := n.Do(t, "GET", "/v1/webhooks/"+hw.ID+"/deliveries", nsw, nil); status != http.StatusNotFound {
		t.Fatalf("another region's hub reads the deliveries: %d", status)
	}
	if status, _ := n.Do(t, "POST", "/v1/webhooks", nsw, map[string]any{"url": hubRcv.srv.URL, "event_types": types, "region": "vic"}); status != http.StatusForbidden {
		t.Fatalf("a hub registers for another region: %d", status)
	}
	for name, token := range map[string]string{"coordinator": n.Coordinator(t, "cop-vic"), "member": n.Member(t, "p1")} {
		if status, _ := n.Do(t, "POST", "/v1/webhooks", token, map[string]any{"url": hubRcv.srv.URL, "event_types": types}); status != http.StatusForbidden {
			t.Fatalf("a %s registers a webhook: %d", name, status)
		}
	}

	// A hub cannot remove the national endpoint; it removes its own, and then it is gone.
	if status, _ := n.Do(t, "DELETE", "/v1/webhooks/"+nw.ID, hub, nil); status != http.StatusNotFound {
		t.Fatalf("a hub removes the national endpoint: %d", status)
	}
	if status, _ := n.Do(t, "DELETE", "/v1/webhooks/"+hw.ID, hub, nil); status != http.StatusNoContent {
		t.Fatalf("the hub removes its endpoint: %d", status)
	}
	if status, _ := n.Do(t, "GET", "/v1/webhooks/"+hw.ID+"/deliveries", hub, nil); status != http.StatusNotFound {
		t.Fatalf("a removed endpoint's deliveries: %d", status)
	}
	n.JSON(t, "GET", "/v1/webhooks", national(t, n, "nat-1"), nil, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].ID != nw.ID {
		t.Fatalf("after removal national lists %+v", list.Endpoints)
	}
}

// A receiver that keeps failing is retried with growing delays (the attempts' recorded times
// grow apart: base, twice, four, eight times), then, at the fifth failure, the endpoint is
// disabled and its owner mailed. Enabled again, it gets what waited.
func TestFailingWebhookBacksOffThenIsDisabledAndOwnerMailed(t *testing.T) {
	t.Setenv("COPNET_WEBHOOK_RETRY_BASE", "1m")
	t.Setenv("COPNET_WEBHOOK_MAX_FAILURES", "5")
	e := startHooks(t, time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	n, clk, mp := e.n, e.clock, e.mp
	// The owner's address, shared by membership on the node-private channel.
	e.contact(t, "owner-1", "Owner", "owner@example.org")
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusInternalServerError)
	token := national(t, n, "owner-1")
	w := register(t, n, token, map[string]any{"url": rcv.srv.URL, "event_types": []string{"registry.cop_approved.v1"}})

	n.Publish(t, events.CoPApproved{CoPID: "cop-a", Region: "vic"})
	for attempt := 1; attempt <= 5; attempt++ {
		rcv.waitFor(t, attempt)
		var d delivery
		testkit.Eventually(t, 20*time.Second, func() error {
			ds := deliveries(t, n, token, w.ID)
			if len(ds) != 1 || len(ds[0].Attempts) != attempt {
				return fmt.Errorf("attempt %d not recorded yet: %+v", attempt, ds)
			}
			d = ds[0]
			return nil
		})
		if d.Status != "retrying" || d.LastStatus == nil || *d.LastStatus != 500 || d.NextAttemptAt == nil {
			t.Fatalf("after attempt %d: %+v", attempt, d)
		}
		if attempt < 5 {
			clk.Set(*d.NextAttemptAt) // the next attempt is due: the worker finds it at its poll
		}
	}

	ds := deliveries(t, n, token, w.ID)
	var gaps []time.Duration
	for i := 1; i < len(ds[0].Attempts); i++ {
		gaps = append(gaps, ds[0].Attempts[i].At.Sub(ds[0].Attempts[i-1].At))
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] <= gaps[i-1] {
			t.Fatalf("delays between attempts %v do not grow", gaps)
		}
	}
	if gaps[0] != time.Minute {
		t.Fatalf("first retry after %s, want the base of 1m", gaps[0])
	}

	var list struct {
		Endpoints []webhook `json:"endpoints"`
	}
	n.JSON(t, "GET", "/v1/webhooks", token, nil, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].Status != "disabled" || !strings.Contains(list.Endpoints[0].DisabledReason, "5 failed attempts") {
		t.Fatalf("after five failures: %+v", list.Endpoints)
	}
	m := mp.WaitFor(t, "owner@example.org")
	if !strings.Contains(m.Subject, "webhook disabled") || !strings.Contains(m.Text, rcv.srv.URL) || !strings.Contains(m.Text, "/v1/webhooks/"+w.ID+"/enable") {
		t.Fatalf("owner's mail: %q\n%s", m.Subject, m.Text)
	}
	// Disabled, it is not tried again however late it gets, and events meanwhile are not
	// kept for it. A later event it would get, once enabled, proves the worker kept going.
	clk.Set(clk.Now().Add(24 * time.Hour))
	n.Publish(t, events.CoPApproved{CoPID: "cop-b", Region: "vic"})
	testkit.Eventually(t, 20*time.Second, func() error {
		// Consumed: the CoP's region is remembered in the same transaction.
		var region string
		return n.Pool("notify").QueryRow(t.Context(), `SELECT region FROM webhook_cop_regions WHERE cop_id = 'cop-b'`).Scan(&region)
	})

	// Fixed and enabled, it gets the delivery that failed, then the next event.
	rcv.setStatus(http.StatusNoContent)
	var enabled webhook
	if status := n.JSON(t, "POST", "/v1/webhooks/"+w.ID+"/enable", token, nil, &enabled); status != http.StatusOK || enabled.Status != "active" {
		t.Fatalf("enable: %d %+v", status, enabled)
	}
	rcv.waitFor(t, 6)
	n.Publish(t, events.CoPApproved{CoPID: "cop-c", Region: "vic"})
	got := rcv.waitFor(t, 7)
	if len(got) != 7 || got[5].ID != got[0].ID || !strings.Contains(string(got[6].Body), `"cop-c"`) {
		t.Fatalf("receiver got %d requests, want 5 failed, the same again, then cop-c's", len(got))
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, d := range deliveries(t, n, token, w.ID) {
			if d.Status != "delivered" {
				return fmt.Errorf("delivery %s is %s", d.EventID, d.Status)
			}
		}
		return nil
	})

	// Delivered deliveries are kept for 30 days, then deleted.
	clk.Set(clk.Now().Add(31 * 24 * time.Hour))
	testkit.Eventually(t, 20*time.Second, func() error {
		if ds := deliveries(t, n, token, w.ID); len(ds) != 0 {
			return fmt.Errorf("%d deliveries still listed a month on", len(ds))
		}
		return nil
	})
}

// Registration refuses what the node must not call or cannot send, naming each problem.
func TestWebhookRegistrationRefusesBadInput(t *testing.T) {
	n := startHooks(t, time.Now()).n
	token := national(t, n, "nat-1")
	for name, c := range map[string]struct {
		body  any
		field string
	}{
		"private address":  {map[string]any{"url": "https://10.0.0.7/hook", "event_types": []string{"registry.cop_approved.v1"}}, "url"},
		"metadata address": {map[string]any{"url": "https://169.254.169.254/latest", "event_types": []string{"registry.cop_approved.v1"}}, "url"},
		"plain http":       {map[string]any{"url": "http://hooks.example.org/x", "event_types": []string{"registry.cop_approved.v1"}}, "url"},
		"credentials":      {map[string]any{"url": "https://u:p@hooks.example.org/x", "event_types": []string{"registry.cop_approved.v1"}}, "url"},
		"no types":         {map[string]any{"url": "https://hooks.example.org/x", "event_types": []string{}}, "event_types"},
		"unknown type":     {map[string]any{"url": "https://hooks.example.org/x", "event_types": []string{"registry.nothing.v1"}}, "event_types[0]"},
		"unknown field":    {map[string]any{"url": "https://hooks.example.org/x", "event_types": []string{"registry.cop_approved.v1"}, "secret": "mine"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := n.Do(t, "POST", "/v1/webhooks", token, c.body)
			if status != http.StatusBadRequest || !strings.Contains(string(body), c.field) {
				t.Fatalf("%d %s, want 400 naming %q", status, body, c.field)
			}
		})
	}
	var list struct {
		Endpoints []webhook `json:"endpoints"`
	}
	n.JSON(t, "GET", "/v1/webhooks", token, nil, &list)
	if len(list.Endpoints) != 0 {
		t.Fatalf("refused registrations left endpoints: %+v", list.Endpoints)
	}
}

// A node people reach at a public URL refuses loopback and plain-http endpoints: they are
// only for tests and nodes that serve this machine alone.
func TestPublicNodeRefusesLoopbackEndpoints(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{PublicURL: "https://cop.example.org"}, notify.Factory)
	token := national(t, n, "nat-1")
	for _, u := range []string{"http://127.0.0.1:9/hook", "https://127.0.0.1:9/hook", "https://localhost/hook"} {
		status, body := n.Do(t, "POST", "/v1/webhooks", token, map[string]any{"url": u, "event_types": []string{"registry.cop_approved.v1"}})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "url") {
			t.Fatalf("%s on a public node: %d %s", u, status, body)
		}
	}
	if status, body := n.Do(t, "POST", "/v1/webhooks", token, map[string]any{"url": "https://hooks.example.org/copnet",
		"event_types": []string{"registry.cop_approved.v1"}}); status != http.StatusCreated {
		t.Fatalf("a public https endpoint: %d %s", status, body)
	}
}
