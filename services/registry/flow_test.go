package registry_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestOnboardingAcceptance is the onboarding story end to end through the real node:
// national adds a region, its hub proposes and approves a CoP and publishes its charter
// twice, and the events land in JetStream with their envelope.
func TestOnboardingAcceptance(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	e.createRegion("wa")

	var proposed cop
	e.must(http.StatusCreated, &proposed, e.hub("vic"), "POST", "/v1/cops",
		proposalBody("vic", "Youth mental health", "Youth", "early intervention", "youth"))
	if proposed.Status != "proposed" || proposed.Stage != "potential" || proposed.ID == "" {
		t.Fatalf("proposed CoP = %+v, want status proposed at stage potential", proposed)
	}
	if want := []string{"youth", "early intervention"}; !slices.Equal(proposed.Topics, want) {
		t.Errorf("topics = %v, want %v (lower-cased, de-duplicated)", proposed.Topics, want)
	}
	copPath := "/v1/cops/" + proposed.ID

	// Another region's hub may not decide, and trying must not change anything.
	p := e.do(e.hub("wa"), "POST", copPath+"/decision", `{"decision":"approve"}`).problem(t, http.StatusForbidden)
	if !strings.Contains(p.Detail, "decide") {
		t.Errorf("403 detail %q does not say what was refused", p.Detail)
	}
	var still cop
	e.must(http.StatusOK, &still, e.hub("vic"), "GET", copPath, "")
	if still.Status != "proposed" {
		t.Fatalf("after the other hub's refused decision the CoP is %s", still.Status)
	}

	var approved cop
	e.must(http.StatusOK, &approved, e.hub("vic"), "POST", copPath+"/decision", `{"decision":"approve","reason":"fits the region"}`)
	if approved.Status != "approved" {
		t.Fatalf("approved CoP = %+v", approved)
	}
	// Deciding twice is a conflict, not a silent overwrite.
	e.do(e.hub("vic"), "POST", copPath+"/decision", `{"decision":"decline","reason":"changed my mind"}`).problem(t, http.StatusConflict)
	e.do(e.hub("vic"), "POST", copPath+"/decision", `{"decision":"approve"}`).problem(t, http.StatusConflict)

	for v := 1; v <= 2; v++ {
		var ch charter
		e.must(http.StatusOK, &ch, e.hub("vic"), "PUT", copPath+"/charter", fmt.Sprintf(charterBody, v))
		if ch.Version != v || ch.CoPID != proposed.ID {
			t.Fatalf("publication %d stored %+v", v, ch)
		}
	}
	var v1, current charter
	e.must(http.StatusOK, &v1, e.hub("vic"), "GET", copPath+"/charter?version=1", "")
	if v1.Version != 1 || v1.Aims != "Aims 1" {
		t.Errorf("charter?version=1 = %+v, want version 1's text", v1)
	}
	e.must(http.StatusOK, &current, e.hub("vic"), "GET", copPath+"/charter", "")
	if current.Version != 2 || current.Aims != "Aims 2" {
		t.Errorf("current charter = %+v, want version 2", current)
	}
	e.do(e.hub("vic"), "GET", copPath+"/charter?version=3", "").problem(t, http.StatusNotFound)
	if p := e.do(e.hub("vic"), "GET", copPath+"/charter?version=first", "").problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"version"}) {
		t.Errorf("bad version names %v, want [version]", p.fields())
	}

	// The events reach the node's stream through the outbox, each under the node's own
	// subject space with its envelope, and with Nats-Msg-Id = ce-id so that a re-driven
	// outbox row is stored once.
	want := []string{"region_created", "region_created", "cop_proposed", "cop_approved", "charter_published", "charter_published"}
	testkit.Eventually(t, waitFor, func() error {
		evs, err := e.streamEvents()
		if err != nil {
			return err
		}
		var got []string
		for _, ev := range evs {
			got = append(got, ev.subject)
		}
		if len(evs) != len(want) {
			return fmt.Errorf("stream holds %v, want %d events", got, len(want))
		}
		for i, ev := range evs {
			if err := checkEnvelope(ev, want[i]); err != nil {
				return fmt.Errorf("message %d (%s): %w", ev.seq, ev.subject, err)
			}
		}
		return nil
	})
}

// checkEnvelope verifies one stream message is registry event name from this node with a
// complete envelope.
func checkEnvelope(ev event, name string) error {
	if want := "cop." + nodeID + ".registry." + name; ev.subject != want {
		return fmt.Errorf("subject %s, want %s", ev.subject, want)
	}
	if want := "registry." + name + ".v1"; ev.header[events.HeaderType] != want {
		return fmt.Errorf("ce-type %q, want %q", ev.header[events.HeaderType], want)
	}
	if ev.header[events.HeaderSource] != events.SourceURI(nodeID) {
		return fmt.Errorf("ce-source %q, want %q", ev.header[events.HeaderSource], events.SourceURI(nodeID))
	}
	id := ev.header[events.HeaderID]
	if len(id) != 26 {
		return fmt.Errorf("ce-id %q is not a ULID", id)
	}
	if got := ev.header["Nats-Msg-Id"]; got != id {
		return fmt.Errorf("Nats-Msg-Id %q, want ce-id %q", got, id)
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.header[events.HeaderTime]); err != nil {
		return fmt.Errorf("ce-time: %w", err)
	}
	return nil
}

// TestBadInputNamesTheField covers the problem+json answers to malformed bodies: a syntax
// error names the body, a type error names the nested field, and missing fields are all
// listed at once so a client fixes them in one round trip.
func TestBadInputNamesTheField(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	hub := e.hub("vic")

	p := e.do(hub, "POST", "/v1/cops", `{"name": "Youth", "region": "vic",`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"body"}) {
		t.Errorf("truncated JSON names %v, want [body]", p.fields())
	}
	p = e.do(hub, "POST", "/v1/cops", `{"name": "Youth" "region": "vic"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"body"}) {
		t.Errorf("syntax error names %v, want [body]", p.fields())
	}

	body := strings.Replace(proposalBody("vic", "Youth"), `"duration_minutes":90`, `"duration_minutes":"long"`, 1)
	p = e.do(hub, "POST", "/v1/cops", body).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"meeting.duration_minutes"}) {
		t.Errorf("type error names %v, want [meeting.duration_minutes]", p.fields())
	}

	p = e.do(hub, "POST", "/v1/cops", `{"region":"vic","colour":"blue"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"colour"}) {
		t.Errorf("unknown field names %v, want [colour]", p.fields())
	}

	wantMissing := []string{"name", "scope", "purpose", "meeting.frequency", "meeting.duration_minutes"}
	p = e.do(hub, "POST", "/v1/cops", `{"region":"vic"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), wantMissing) {
		t.Errorf("missing fields named %v, want %v", p.fields(), wantMissing)
	}
	p = e.do(e.national(), "POST", "/v1/cops", `{}`).problem(t, http.StatusBadRequest)
	if want := append([]string{"name", "region"}, wantMissing[1:]...); !slices.Equal(p.fields(), want) {
		t.Errorf("empty proposal names %v, want %v", p.fields(), want)
	}

	// A hub proposes in its own region only; a region that does not exist is 422.
	e.do(hub, "POST", "/v1/cops", proposalBody("nowhere", "Youth")).problem(t, http.StatusForbidden)
	p = e.do(e.national(), "POST", "/v1/cops", proposalBody("nowhere", "Youth")).problem(t, http.StatusUnprocessableEntity)
	if !slices.Equal(p.fields(), []string{"region"}) {
		t.Errorf("unknown region names %v, want [region]", p.fields())
	}

	c := e.propose("vic", "Youth")
	p = e.do(hub, "POST", "/v1/cops/"+c.ID+"/decision", `{"decision":"decline"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"reason"}) {
		t.Errorf("decline without reason names %v, want [reason]", p.fields())
	}
	p = e.do(hub, "PUT", "/v1/cops/"+c.ID+"/charter", `{"aims":" "}`).problem(t, http.StatusBadRequest)
	if got := slices.Sorted(slices.Values(p.fields())); !slices.Equal(got, []string{"aims", "code_of_practice", "terms_of_reference"}) {
		t.Errorf("empty charter names %v, want aims, code_of_practice, terms_of_reference", got)
	}
	p = e.do(hub, "PUT", "/v1/cops/"+c.ID+"/stage", `{"stage":"adolescent"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"stage"}) {
		t.Errorf("unknown stage names %v, want [stage]", p.fields())
	}
	p = e.do(e.national(), "POST", "/v1/regions", `{"id":"Not A Token","name":""}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"id", "name"}) {
		t.Errorf("bad region names %v, want [id name]", p.fields())
	}
	e.do(e.national(), "POST", "/v1/regions", `{"id":"vic","name":"Victoria again"}`).problem(t, http.StatusConflict)

	// Nothing half-written stays: none of the refused proposals exists.
	var page struct {
		CoPs []cop `json:"cops"`
	}
	e.must(http.StatusOK, &page, e.national(), "GET", "/v1/cops", "")
	if len(page.CoPs) != 1 || page.CoPs[0].ID != c.ID {
		t.Errorf("after the refused proposals the registry holds %+v, want only %s", page.CoPs, c.ID)
	}
}

// TestEventsMatchTheirSchemas runs every registry transition and validates every message
// the node's stream then holds against the JSON Schema of its ce-type, as consumers will.
func TestEventsMatchTheirSchemas(t *testing.T) {
	e := start(t)
	e.createRegion("vic")
	a := e.propose("vic", "Youth mental health", "youth")
	e.decide(a.ID, "approve")
	e.must(http.StatusOK, nil, e.hub("vic"), "PUT", "/v1/cops/"+a.ID+"/charter", fmt.Sprintf(charterBody, 1))
	e.must(http.StatusOK, nil, e.coordinator(a.ID), "PUT", "/v1/cops/"+a.ID+"/stage", `{"stage":"coalescing"}`)
	e.must(http.StatusOK, nil, e.hub("vic"), "POST", "/v1/cops/"+a.ID+"/retire", `{"reason":"merged"}`)
	b := e.propose("vic", "Aged care")
	e.decide(b.ID, "decline")
	var app application
	e.must(http.StatusCreated, &app, e.member(), "POST", "/v1/applications", applicationBody("vic", "Carers", "Carers share."))
	e.must(http.StatusOK, nil, e.hub("vic"), "POST", "/v1/cops/"+app.ID+"/decision", `{"decision":"request_changes","reason":"Say when."}`)
	e.must(http.StatusOK, nil, e.member(), "PUT", "/v1/applications/"+app.ID, applicationBody("", "Carers", "Carers share, monthly."))

	// Every registry event type must have been produced, so none escapes validation.
	var wantTypes []string
	for _, ev := range events.All() {
		if n := ev.EventName(); n.Service == "registry" {
			wantTypes = append(wantTypes, n.Type())
		}
	}
	var evs []event
	testkit.Eventually(t, waitFor, func() error {
		var err error
		if evs, err = e.streamEvents(); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			seen[ev.header[events.HeaderType]] = true
		}
		for _, typ := range wantTypes {
			if !seen[typ] {
				return fmt.Errorf("no %s in the stream yet (%d messages)", typ, len(evs))
			}
		}
		return nil
	})
	schemas := events.DefaultSchemas()
	for _, ev := range evs {
		typ := ev.header[events.HeaderType]
		if err := schemas.Validate(typ, ev.data); err != nil {
			t.Errorf("message %d %s: %v\n%s", ev.seq, ev.subject, err, ev.data)
		}
		if err := checkEnvelope(ev, strings.Split(typ, ".")[1]); err != nil {
			t.Errorf("message %d: %v", ev.seq, err)
		}
	}
}
