// Package webhooks forwards the node's events to HTTPS endpoints that national and hub
// administrators register: each event as a CloudEvent in structured JSON mode, signed as the
// Standard Webhooks specification says, once per endpoint, retried with a growing back-off,
// and the endpoint disabled (its owner mailed) after repeated failure. A hub's endpoint
// only ever receives its region's events.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

// Endpoint is a registered receiver of events.
type Endpoint struct {
	ID      string
	OwnerID string
	// Region is the hub's scope; "" means national: every event.
	Region         string
	URL            string
	Secret         string
	EventTypes     []string
	CreatedAt      time.Time
	Failures       int
	DisabledAt     *time.Time
	DisabledReason string
}

// Registration is what an administrator sends to register an endpoint.
type Registration struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	// Region scopes the endpoint to one region's events; a hub must give its own, the
	// national secretariat may leave it empty for every event.
	Region string `json:"region"`
}

// URLPolicy says which endpoint URLs may be registered and dialled. In production only
// https to public addresses: an endpoint must not make the node call into its own network
// (SSRF). Loopback http is for tests and nodes that serve only this machine.
type URLPolicy struct {
	AllowLoopback bool
}

// maxEventTypes bounds a registration; there are fewer event types than this.
const maxEventTypes = 100

// knownTypes are the CloudEvent types an endpoint may subscribe to.
var knownTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range events.All() {
		m[e.EventName().Type()] = true
	}
	return m
}()

// Validate checks a registration, naming every problem at once.
func (r Registration) Validate(p URLPolicy) error {
	var v apperr.Validator
	if err := p.Check(r.URL); err != nil {
		v.Check(false, "url", err.Error())
	}
	if v.Require(len(r.EventTypes) > 0, "event_types", "name at least one event type") &&
		v.Require(len(r.EventTypes) <= maxEventTypes, "event_types", fmt.Sprintf("at most %d event types", maxEventTypes)) {
		for i, t := range r.EventTypes {
			v.Check(knownTypes[t], fmt.Sprintf("event_types[%d]", i), fmt.Sprintf("%q is not an event type (e.g. registry.cop_approved.v1)", t))
		}
	}
	v.Check(len(r.Region) <= 64, "region", "at most 64 characters")
	return v.Err()
}

// Check refuses a URL the node must not call: not https (unless loopback is allowed and the
// host is loopback), credentials in it, or a host that is a private, loopback or link-local
// address. Names are resolved again when dialling (see dialControl), so a name that turns
// private later is refused then too.
func (p URLPolicy) Check(raw string) error {
	if len(raw) > 2048 {
		return fmt.Errorf("at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials")
	}
	if u.Fragment != "" {
		return fmt.Errorf("must not have a fragment")
	}
	host := u.Hostname()
	loopback := isLoopbackHost(host)
	switch {
	case loopback && p.AllowLoopback && (u.Scheme == "http" || u.Scheme == "https"):
		return nil
	case u.Scheme != "https":
		return fmt.Errorf("must be https")
	case loopback:
		return fmt.Errorf("must not be a loopback address")
	}
	if a, err := netip.ParseAddr(host); err == nil && !public(a) {
		return fmt.Errorf("must not be a private, loopback or link-local address")
	}
	if !strings.Contains(host, ".") {
		return fmt.Errorf("must name a public host")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// public says an address is routable on the Internet: not loopback, private, link-local,
// multicast, unspecified or the carrier-grade NAT range.
func public(a netip.Addr) bool {
	a = a.Unmap()
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a))
}

// dialControl refuses a connection to a non-public address at dial time, after DNS, so a
// name that resolves to the node's own network is never called.
func (p URLPolicy) dialControl(_, address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if public(a) || (p.AllowLoopback && a.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("webhook: refusing to dial non-public address %s", a)
}

// mayManage says whether c may register or see endpoints of region ("" = national).
func mayManage(c httpx.Claims, region string) bool {
	if c.IsNational() {
		return true
	}
	return region != "" && c.IsHubOf(region)
}

// NewSecret makes a per-endpoint signing secret in the Standard Webhooks form.
func NewSecret() (string, error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(buf), nil
}

// Sign returns the webhook-signature value for a message: "v1," and the base64 HMAC-SHA256,
// keyed with the secret's decoded bytes, of "id.timestamp.body".
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, timestamp.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// cloudEvent is the structured-mode JSON of an event (CloudEvents 1.0, JSON format).
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	TraceParent     string          `json:"traceparent,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// CloudEvent renders an event in structured mode, the body every attempt sends.
func CloudEvent(env events.Envelope, payload json.RawMessage) ([]byte, error) {
	return json.Marshal(cloudEvent{SpecVersion: "1.0", ID: env.ID, Source: events.SourceURI(env.Source),
		Type: env.Type, Time: env.Time.UTC().Format(time.RFC3339Nano), DataContentType: "application/json",
		TraceParent: env.TraceParent, Data: payload})
}

// regionsOf lists the regions an event concerns, from its payload: region fields, and the
// regions of the CoPs it names (cop returns a CoP's region, "" when unknown). An event that
// concerns no region reaches national endpoints only.
func regionsOf(payload json.RawMessage, cop func(string) (string, error)) ([]string, error) {
	var p struct {
		Region   string   `json:"region"`
		RegionID string   `json:"region_id"`
		Regions  []string `json:"regions"`
		CoPID    string   `json:"cop_id"`
		CoPIDs   []string `json:"cop_ids"`
	}
	// Payloads were checked against their schema; fields of other types are not these.
	_ = json.Unmarshal(payload, &p)
	out := append([]string{p.Region, p.RegionID}, p.Regions...)
	for _, id := range append([]string{p.CoPID}, p.CoPIDs...) {
		if id == "" {
			continue
		}
		r, err := cop(id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out), nil
}

// copRegion is the (CoP, region) pair an event names together, to remember.
func copRegion(payload json.RawMessage) (cop, region string) {
	var p struct {
		Region string `json:"region"`
		CoPID  string `json:"cop_id"`
	}
	_ = json.Unmarshal(payload, &p)
	if p.CoPID == "" || p.Region == "" {
		return "", ""
	}
	return p.CoPID, p.Region
}

// Backoff is the wait after attempt n (1-based) failed: base doubled each time, capped.
func Backoff(base, ceiling time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// unixString is a webhook-timestamp header value.
func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
