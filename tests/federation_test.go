package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/knowledge"
)

// tree is national ← vic ← geelong and national ← wa, vic's link running through a proxy
// that the test can cut.
type tree struct {
	national, vic, geelong, wa *fedNode
	vicLink                    *testkit.Proxy
}

func startTree(t *testing.T, services ...node.Factory) *tree {
	t.Helper()
	tr := &tree{}
	tr.national = startFedNode(t, "national", "national", "", true, services...)
	vicURL := tr.national.register("vic", "regional")
	waURL := tr.national.register("wa", "regional")
	tr.vicLink = newLeafProxy(t, tr.national.topo.LeafListen)
	tr.vic = startFedNode(t, "vic", "regional", viaProxy(vicURL, tr.national.topo.LeafListen, tr.vicLink.Addr), true, services...)
	tr.wa = startFedNode(t, "wa", "regional", waURL, false, services...)
	geelongURL := tr.vic.register("geelong", "local")
	tr.geelong = startFedNode(t, "geelong", "local", geelongURL, false, services...)
	return tr
}

// counts is what a node's probe applied, per origin node.
func waitCounts(t *testing.T, n *fedNode, timeout time.Duration, want map[string]int) {
	t.Helper()
	testkit.Eventually(t, timeout, func() error {
		got, dups := n.probe.bySource(t)
		if dups > 0 {
			t.Fatalf("%s applied %d events twice", n.id, dups)
		}
		for src, w := range want {
			if got[src] != w {
				return fmt.Errorf("%s has %d of %s's %d events (all: %v)", n.id, got[src], src, w, got)
			}
		}
		for src, g := range got {
			if _, ok := want[src]; !ok && g > 0 {
				return fmt.Errorf("%s sees %d events of %s, which it must not", n.id, g, src)
			}
		}
		return nil
	})
}

func TestFederationTreeDeliversUpwardsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a four-node federation tree")
	}
	tr := startTree(t)
	tr.geelong.produce("geelong", 3)
	tr.wa.produce("wa", 2)
	tr.vic.produce("vic", 1)
	tr.national.produce("national", 1)

	// An event produced at geelong reaches vic and, through vic, national; wa and vic
	// never see each other's events, and nothing flows downwards.
	waitCounts(t, tr.national, 30*time.Second, map[string]int{"geelong": 3, "wa": 2, "vic": 1, "national": 1})
	waitCounts(t, tr.vic, 10*time.Second, map[string]int{"geelong": 3, "vic": 1})
	waitCounts(t, tr.wa, 10*time.Second, map[string]int{"wa": 2})
	waitCounts(t, tr.geelong, 10*time.Second, map[string]int{"geelong": 3})
}

// A partition between vic and national: vic and geelong keep working, national keeps
// serving; when the link returns national converges exactly, and its federation view shows
// the link down and then the lag draining. National's server then restarts mid catch-up and
// still converges, quickly, with nothing lost or doubled.
func TestPartitionThenCatchUpThroughAParentRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a four-node federation tree through a partition and a restart")
	}
	tr := startTree(t)
	tr.vic.produce("warmup", 1)
	waitCounts(t, tr.national, 30*time.Second, map[string]int{"vic": 1})

	tr.vicLink.Cut()
	testkit.Eventually(t, 15*time.Second, func() error {
		if l := tr.national.links()["vic"]; l["up"] != false {
			return fmt.Errorf("vic link still reported up: %v", l)
		}
		return nil
	})
	tr.vic.produce("vic", 500)
	tr.geelong.produce("geelong", 500)
	waitCounts(t, tr.vic, 30*time.Second, map[string]int{"vic": 501, "geelong": 500})
	if got, _ := tr.national.probe.bySource(t); got["vic"] != 1 || got["geelong"] != 0 {
		t.Fatalf("events crossed a cut link: %v", got)
	}

	if err := tr.vicLink.Restore(); err != nil {
		t.Fatal(err)
	}
	sawLag := false
	testkit.Eventually(t, 30*time.Second, func() error {
		l := tr.national.links()["vic"]
		if l["up"] != true {
			return fmt.Errorf("vic link not back: %v", l)
		}
		if lag, _ := l["lag_messages"].(float64); lag > 0 {
			sawLag = true
		}
		got, _ := tr.national.probe.bySource(t)
		if got["vic"]+got["geelong"] < 200 {
			return fmt.Errorf("catch-up has not started: %v", got)
		}
		return nil
	})

	restarted := time.Now()
	tr.national.restartBroker()
	waitCounts(t, tr.national, 60*time.Second, map[string]int{"vic": 501, "geelong": 500})
	if took := time.Since(restarted); took > 15*time.Second {
		t.Errorf("national caught up %s after its restart; the stall after a parent restart must be undone, not waited out", took.Round(time.Second))
	}
	testkit.Eventually(t, 15*time.Second, func() error {
		if l := tr.national.links()["vic"]; l["lag_messages"].(float64) != 0 {
			return fmt.Errorf("lag not drained: %v", l)
		}
		return nil
	})
	t.Logf("lag observed during catch-up: %v", sawLag)
}

// A child registered after the parent's stream was trimmed still delivers its backlog.
func TestChildRegisteredAfterTrimDeliversBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: federated nodes catching up a backlog")
	}
	national := startFedNode(t, "national", "national", "", true)
	national.produce("national", 5)
	// The node's own consumers take the events before the trim; what is tested is the
	// child's backlog, not national's.
	waitCounts(t, national, 30*time.Second, map[string]int{"national": 5})
	js := national.js()
	if err := js.PurgeStream("COPNET"); err != nil {
		t.Fatal(err)
	}
	if info, _ := js.StreamInfo("COPNET"); info.State.FirstSeq <= 1 {
		t.Fatalf("stream not trimmed: first seq %d", info.State.FirstSeq)
	}
	// wa runs on its own for a while, then registers.
	waURL := national.register("wa", "regional")
	wa := startFedNode(t, "wa", "regional", waURL, false)
	wa.produce("wa", 50)
	waitCounts(t, national, 30*time.Second, map[string]int{"wa": 50, "national": 5})
}

// wa's leaf credentials cannot write into another node's subjects, and a forged ce-source
// is dead-lettered where it is consumed.
func TestChildIsolationAndForgedSource(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a four-node federation tree")
	}
	tr := startTree(t)
	leafURL := tr.national.register("intruder", "regional")
	creds := strings.TrimPrefix(leafURL, "nats-leaf://")
	creds = creds[:strings.Index(creds, "@")]
	nc, err := nats.Connect("nats://" + creds + "@" + tr.national.topo.ClientListen)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"cop.vic.registry.region_created", "cop.national.registry.region_created"} {
		if _, err := js.Publish(subj, []byte(`{"region_id":"x","name":"x"}`)); err == nil {
			t.Errorf("a child's credentials published on %s", subj)
		}
	}

	// geelong publishes an event claiming to come from vic: it travels up, and the
	// consumers at vic and national park it in the dead-letter stream.
	msg, err := tr.geelong.probe.bus.NewMessage(t.Context(), events.RegionCreated{RegionID: "forged", Name: "forged"})
	if err != nil {
		t.Fatal(err)
	}
	m := nats.NewMsg("cop.geelong.registry.region_created")
	m.Data = msg.Payload
	for k, v := range msg.Metadata {
		m.Header.Set(k, v)
	}
	m.Header.Set(events.HeaderSource, "vic")
	if _, err := tr.geelong.js().PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*fedNode{tr.vic, tr.national} {
		testkit.Eventually(t, 30*time.Second, func() error {
			dls, err := n.probe.bus.DeadLetters(t.Context(), 10)
			if err != nil {
				return err
			}
			for _, d := range dls {
				if strings.Contains(d.Reason, "ce-source") {
					return nil
				}
			}
			return fmt.Errorf("%s has not dead-lettered the forged event (%d dead letters)", n.id, len(dls))
		})
		if got := n.probe.applied(t)["forged"]; got != 0 {
			t.Errorf("%s applied the forged event", n.id)
		}
	}
}

// approvedCoP creates region and an approved CoP at node n through the registry's API and
// returns the CoP's id.
func approvedCoP(t *testing.T, n *fedNode, region string) string {
	t.Helper()
	natl := token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	if st, body := call(t, "POST", n.base+"/v1/regions", natl, map[string]string{"id": region, "name": region}); st != 201 {
		t.Fatalf("region at %s: %d %v", n.id, st, body)
	}
	st, cop := call(t, "POST", n.base+"/v1/cops", natl, map[string]any{"name": "Youth " + n.id, "region": region,
		"scope": "local", "purpose": "practice", "topics": []string{"youth"},
		"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 60}})
	if st != 201 {
		t.Fatalf("cop at %s: %d %v", n.id, st, cop)
	}
	id := cop["id"].(string)
	if st, body := call(t, "POST", n.base+"/v1/cops/"+id+"/decision", natl, map[string]string{"decision": "approve"}); st != 200 {
		t.Fatalf("approve at %s: %d %v", n.id, st, body)
	}
	return id
}

// mapProject maps a project for the young people of place, once the node's knowledge
// service knows the CoP (from cop_approved).
func mapProject(t *testing.T, n *fedNode, cop, place string) {
	t.Helper()
	natl := token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	testkit.Eventually(t, 30*time.Second, func() error {
		st, body := call(t, "POST", n.base+"/v1/projects", natl, map[string]any{"cop_id": cop, "title": "Listening to young people",
			"organisation": "Org " + n.id, "topics": []string{"youth"}, "communities": []map[string]string{{"place": place, "group": "young people"}},
			"starts_on": "2027-03-01", "ends_on": "2027-05-31", "methods": []string{"survey"}})
		if st != 201 {
			return fmt.Errorf("map project at %s: %d %v", n.id, st, body)
		}
		return nil
	})
}

func overlaps(t *testing.T, n *fedNode) int {
	t.Helper()
	st, body := call(t, "GET", n.base+"/v1/overlaps", token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}), nil)
	if st != 200 {
		t.Fatalf("overlaps at %s: %d %v", n.id, st, body)
	}
	list, _ := body["overlaps"].([]any)
	return len(list)
}

// A geelong project and a wa project ask the same young people: only national sees both,
// so only national detects the community-fatigue overlap.
func TestOverlapAcrossRegionsIsDetectedAtNational(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a four-node federation tree with knowledge")
	}
	tr := startTree(t, knowledge.Factory)
	mapProject(t, tr.geelong, approvedCoP(t, tr.geelong, "vic"), "au.vic.geelong")
	mapProject(t, tr.wa, approvedCoP(t, tr.wa, "wa"), "au")
	testkit.Eventually(t, 30*time.Second, func() error {
		if got := overlaps(t, tr.national); got != 1 {
			return fmt.Errorf("national has %d overlaps, want 1", got)
		}
		return nil
	})
	// vic has received geelong's project (its probe sees geelong's events), wa has its
	// own: neither can see the other region, so neither has an overlap.
	for _, n := range []*fedNode{tr.vic, tr.wa, tr.geelong} {
		if got := overlaps(t, n); got != 0 {
			t.Errorf("%s detected %d overlaps; it cannot see the other region", n.id, got)
		}
	}

	// vic maps its own project for the same young people: the pair with geelong's is
	// vic's to report (national sees it too, but reports only pairs across regions), and
	// the pair with wa's is national's.
	mapProject(t, tr.vic, approvedCoP(t, tr.vic, "vic"), "au.vic")
	testkit.Eventually(t, 30*time.Second, func() error {
		if got := overlaps(t, tr.vic); got != 1 {
			return fmt.Errorf("vic has %d overlaps, want 1 (geelong's and its own)", got)
		}
		if got := overlaps(t, tr.national); got != 2 {
			return fmt.Errorf("national has %d overlaps, want 2 (both with wa's)", got)
		}
		return nil
	})
}
