package notify_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/notify"
)

// Membership shares a person's address with notify on the node-private stream, never on
// the federated event stream; erasing the person in membership removes the address from
// notify's tables and from the private stream.
func TestMembershipSharesContactsPrivatelyAndErasureScrubsThem(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{}, membership.Factory, notify.Factory)
	var person struct{ ID string }
	if st := n.JSON(t, "POST", "/v1/people", n.National(t), map[string]string{"name": "Aroha Ngata", "email": "aroha@example.org"}, &person); st != http.StatusCreated {
		t.Fatalf("register: %d", st)
	}
	e := &env{n: n, db: n.Pool("notify")}
	e.waitCount(t, 1, `SELECT count(*) FROM contacts WHERE person_id = $1 AND address = 'aroha@example.org' AND name = 'Aroha Ngata'`, person.ID)

	nc := n.NATS.Connect(t)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	// The federated stream (what a parent sources) holds no address; the private one does.
	for _, m := range n.Messages(t, "cop.>") {
		if strings.Contains(string(m.Data), "aroha@example.org") {
			t.Fatalf("the address went on the event stream: %s %s", m.Subject, m.Data)
		}
	}
	private := func() (string, error) {
		m, err := js.GetLastMsg(n.Bus.PrivateStreamName(), n.Bus.PrivateSubject("contact", person.ID))
		if err != nil {
			return "", err
		}
		return string(m.Data), nil
	}
	if data, err := private(); err != nil || !strings.Contains(data, "aroha@example.org") {
		t.Fatalf("private stream: %q %v", data, err)
	}

	if st := n.JSON(t, "DELETE", "/v1/people/"+person.ID, n.National(t), nil, nil); st != http.StatusNoContent {
		t.Fatalf("erase: %d", st)
	}
	e.waitCount(t, 0, `SELECT count(*) FROM contacts WHERE person_id = $1`, person.ID)
	testkit.Eventually(t, 20*time.Second, func() error {
		data, err := private()
		if err != nil {
			return err
		}
		if strings.Contains(data, "aroha") || strings.Contains(data, "Ngata") {
			return fmt.Errorf("private stream still holds %s", data)
		}
		info, err := js.StreamInfo(n.Bus.PrivateStreamName())
		if err != nil {
			return err
		}
		if info.State.Msgs != 1 {
			return fmt.Errorf("private stream holds %d messages, want the erasure only", info.State.Msgs)
		}
		return nil
	})
	if occurrences(t, e, "aroha@example.org") != 0 {
		t.Fatal("the address is still in notify's tables")
	}
}
