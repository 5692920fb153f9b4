package webhooks

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// In production settings only https to public hosts is accepted; loopback http only where
// the node allows it (tests, a node serving this machine alone).
func TestURLPolicy(t *testing.T) {
	prod, loop := URLPolicy{}, URLPolicy{AllowLoopback: true}
	for _, c := range []struct {
		url        string
		prod, loop bool
	}{
		{"https://hooks.example.org/copnet", true, true},
		{"https://hooks.example.org:8443/x?y=1", true, true},
		{"http://hooks.example.org/x", false, false},
		{"http://127.0.0.1:8080/x", false, true},
		{"http://localhost/x", false, true},
		{"https://[::1]/x", false, true},
		{"https://10.1.2.3/x", false, false},
		{"https://192.168.0.1/x", false, false},
		{"https://172.16.5.4/x", false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://100.64.0.1/x", false, false},
		{"https://[fd00::1]/x", false, false},
		{"https://[::ffff:10.0.0.1]/x", false, false},
		{"https://0.0.0.0/x", false, false},
		{"https://intranet/x", false, false},
		{"https://user:pw@hooks.example.org/x", false, false},
		{"ftp://hooks.example.org/x", false, false},
		{"/relative", false, false},
		{"https://hooks.example.org/x#frag", false, false},
		{"https://" + strings.Repeat("a", 2050) + ".org", false, false},
	} {
		if got := prod.Check(c.url) == nil; got != c.prod {
			t.Errorf("production %q: accepted %v, want %v", c.url, got, c.prod)
		}
		if got := loop.Check(c.url) == nil; got != c.loop {
			t.Errorf("loopback node %q: accepted %v, want %v", c.url, got, c.loop)
		}
	}
}

// A name that resolves to a private address is refused when dialled, after DNS.
func TestDialRefusesNonPublicAddresses(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34:443": true, "[2606:2800:220:1::]:443": true,
		"127.0.0.1:443": false, "10.0.0.1:443": false, "169.254.169.254:80": false, "[::1]:443": false,
	} {
		if got := (URLPolicy{}).dialControl("tcp", addr) == nil; got != want {
			t.Errorf("dial %s: allowed %v, want %v", addr, got, want)
		}
	}
	if (URLPolicy{AllowLoopback: true}).dialControl("tcp", "127.0.0.1:8080") != nil {
		t.Error("a loopback node refuses to dial loopback")
	}
}

// The signature is the one in the Standard Webhooks specification's own example.
func TestSignMatchesTheSpecificationExample(t *testing.T) {
	// From standard-webhooks/spec: secret, msg_id, timestamp and payload, and the signature.
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("signature %s, want %s", sig, want)
	}
}

func TestBackoffDoublesUpToTheCeiling(t *testing.T) {
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, Backoff(time.Minute, 10*time.Minute, n))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("back-off %v, want %v", got, want)
		}
	}
}

// Regions come from region fields and from the CoPs an event names.
func TestRegionsOf(t *testing.T) {
	copRegions := map[string]string{"cop-a": "vic", "cop-b": "nsw"}
	lookup := func(id string) (string, error) { return copRegions[id], nil }
	for payload, want := range map[string]string{
		`{"cop_id":"cop-a"}`:                              "vic",
		`{"cop_id":"cop-z"}`:                              "",
		`{"region":"qld","cop_id":"cop-a"}`:               "qld,vic",
		`{"region_id":"wa"}`:                              "wa",
		`{"cop_ids":["cop-a","cop-b"],"regions":["vic"]}`: "nsw,vic",
		`{"poll_id":"p"}`:                                 "",
	} {
		got, err := regionsOf(json.RawMessage(payload), lookup)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("regions of %s: %v %v, want %q", payload, got, err, want)
		}
	}
}

// FuzzDecodeRegistration: any body either decodes to a registration that keeps every rule
// (an allowed URL, known event types) or is refused with an error; it never panics.
func FuzzDecodeRegistration(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://hooks.example.org/x","event_types":["registry.cop_approved.v1"]}`,
		`{"url":"http://127.0.0.1:9/x","event_types":["feedback.poll_opened.v1"],"region":"vic"}`,
		`{"url":"https://10.0.0.1/","event_types":[]}`,
		`{"url":1}`, `[]`, `{"url":"https://a.b/\u0000"}`, ``, `{"event_types":["x","y"],"extra":true}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, loopback bool) {
		p := URLPolicy{AllowLoopback: loopback}
		r := httptest.NewRequest(http.MethodPost, "/v1/webhooks", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		reg, err := DecodeRegistration(r, p)
		if err != nil {
			return
		}
		if p.Check(reg.URL) != nil || len(reg.EventTypes) == 0 || len(reg.EventTypes) > maxEventTypes || len(reg.Region) > 64 {
			t.Fatalf("accepted a registration that breaks a rule: %+v", reg)
		}
		for _, et := range reg.EventTypes {
			if !knownTypes[et] {
				t.Fatalf("accepted unknown event type %q", et)
			}
		}
	})
}
