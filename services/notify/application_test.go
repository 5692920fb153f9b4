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
