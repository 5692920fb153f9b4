package notify_test

import (
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
)

// Every step of an application is mailed to whom it concerns: the hub's request for
// changes and its decision to the group that applied (with the link to their application),
// the resubmission to the region's hub officers — and to nobody else.
func TestApplicationStepsAreMailedToApplicantAndHub(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e)
	e.contact(t, "applicant", "Aroha", "applicant@example.org")
	e.waitCount(t, 1, `SELECT count(*) FROM contacts WHERE person_id = 'applicant'`)

	e.publish(t, events.CoPChangesRequested{CoPID: "c1", Region: "vic", ApplicantID: "applicant", Reason: "Name a second host organisation", Round: 1})
	m := e.mp.WaitFor(t, "applicant@example.org")
	text := strings.ReplaceAll(m.Text, "\r", "")
	if !strings.Contains(m.Subject, "needs changes") || !strings.Contains(text, "Name a second host organisation") || !strings.Contains(text, "/applications/c1") {
		t.Fatalf("changes requested: %q\n%s", m.Subject, text)
	}

	e.publish(t, events.CoPResubmitted{CoPID: "c1", Region: "vic", ApplicantID: "applicant", Round: 2, Name: "Youth mental health",
		Scope: "regional", Topics: []string{"youth"}, HostOrganisations: []string{"Headspace", "Orygen"}})
	h := e.mp.WaitFor(t, "hubvic@example.org")
	if !strings.Contains(h.Subject, "resubmitted") || !strings.Contains(strings.ReplaceAll(h.Text, "\r", ""), "/regions/vic") {
		t.Fatalf("resubmitted: %q\n%s", h.Subject, h.Text)
	}

	e.publish(t, events.CoPApproved{CoPID: "c1", Region: "vic", ApplicantID: "applicant"})
	e.waitCount(t, 2, `SELECT count(*) FROM notices WHERE person_id = 'applicant'`)
	e.waitCount(t, 2, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL AND to_addr LIKE '%applicant@example.org%'`)
	var approved bool
	for _, s := range e.mp.MessagesTo(t, "applicant@example.org") {
		approved = approved || strings.Contains(s.Subject, "was approved")
	}
	if !approved {
		t.Fatal("the applicant was not told of the approval")
	}
	if got := e.mp.MessagesTo(t, "hubnsw@example.org"); len(got) != 0 {
		t.Fatalf("another region's hub officer got %d mails", len(got))
	}
}

// A request goes to the experts knowledge routed it to (not to every expert on the topic,
// and never back to the asker), and its answer goes to the asker.
func TestRequestGoesToRoutedExpertsAndAnswerToAsker(t *testing.T) {
	e := start(t, t0)
	setUpCoP(t, e)
	for _, p := range []string{"asker", "expert1", "expert2"} {
		e.contact(t, p, "Person "+p, p+"@example.org")
	}
	e.publish(t, events.ExpertiseDeclared{ExpertiseID: "x2", PersonID: "expert2", Region: "vic", Topics: []string{"funding"}, Level: "practitioner", Visibility: "national"})
	e.waitCount(t, 3, `SELECT count(*) FROM contacts WHERE person_id IN ('asker', 'expert1', 'expert2')`)
	e.waitCount(t, 1, `SELECT count(*) FROM experts`)

	e.publish(t, events.RequestRaised{RequestID: "r1", CoPID: "c1", Region: "vic", Topics: []string{"funding"},
		AskerID: "asker", RoutedTo: []string{"expert1", "asker"}})
	// Each mail links to the question's own page, where the expert answers and the asker
	// reads the answer.
	if m := e.mp.WaitFor(t, "expert1@example.org"); !strings.Contains(m.Subject, "knowledge request on funding") || !strings.Contains(m.Text, "/requests/r1") {
		t.Fatalf("routed expert: %q %q", m.Subject, m.Text)
	}
	e.publish(t, events.RequestAnswered{RequestID: "r1", AnswerID: "a1", AskerID: "asker"})
	if m := e.mp.WaitFor(t, "asker@example.org"); !strings.Contains(m.Subject, "Your request was answered") || !strings.Contains(m.Text, "/requests/r1") {
		t.Fatalf("asker: %q %q", m.Subject, m.Text)
	}
	e.waitCount(t, 2, `SELECT count(*) FROM notices WHERE kind = 'knowledge_request'`)
	if got := e.mp.MessagesTo(t, "expert2@example.org"); len(got) != 0 {
		t.Fatalf("an expert knowledge did not route to got %d mails", len(got))
	}
}
