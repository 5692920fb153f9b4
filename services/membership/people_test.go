package membership_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestRegistrationRules: e-mails are unique whatever their case, bad input names each
// field, and registering without a token is rate-limited.
func TestRegistrationRules(t *testing.T) {
	e := start(t)
	e.register("Aroha Smith", "Aroha@Example.org")
	e.do(e.national(), "POST", "/v1/people", `{"name":"Someone Else","email":"aroha@example.ORG"}`).problem(t, http.StatusConflict)

	p := e.do(e.national(), "POST", "/v1/people", `{"name":"","email":"not an address","organisation":"`+strings.Repeat("x", 201)+`"}`).problem(t, http.StatusBadRequest)
	if !slices.Equal(p.fields(), []string{"name", "email", "organisation"}) {
		t.Errorf("fields %v, want name, email, organisation", p.fields())
	}
	if p := e.do(e.national(), "POST", "/v1/people", `{"name":"A","email":"a@example.org","employer":"X"}`).problem(t, http.StatusBadRequest); !slices.Equal(p.fields(), []string{"employer"}) {
		t.Errorf("an unknown field names %v", p.fields())
	}
	// An organisation is never a person's stand-in: members register themselves, and
	// other roles may not register anyone.
	e.do(e.person("someone"), "POST", "/v1/people", `{"name":"B","email":"b@example.org"}`).problem(t, http.StatusForbidden)

	// Without a token the answer names no id (see TestAnonymousRegistrationRevealsNoAddress);
	// the people are found by e-mail here.
	registered := 0
	for i := 0; ; i++ {
		r := e.do("", "POST", "/v1/people", fmt.Sprintf(`{"name":"Self %d","email":"self%d@example.org"}`, i, i))
		if r.status == http.StatusTooManyRequests {
			r.problem(t, http.StatusTooManyRequests)
			break
		}
		if r.status != http.StatusAccepted {
			t.Fatalf("%s", r)
		}
		registered++
		if i > 20 {
			t.Fatal("registrations without a token are not rate-limited")
		}
	}
	if registered != 5 {
		t.Errorf("%d registrations before 429, want the burst of 5", registered)
	}
	ids := []string{personByEmail(t, e, "self0@example.org")}
	// National is not paced.
	e.register("After Limit", "after@example.org")
	var me struct{ Name, Email string }
	e.must(http.StatusOK, &me, e.person(ids[0]), "GET", "/v1/people/"+ids[0], "")
	if me.Name != "Self 0" || me.Email != "self0@example.org" {
		t.Errorf("GET self = %+v", me)
	}
	for _, ev := range published[events.PersonRegistered](e, "person_registered") {
		if ev.PersonID == "" {
			t.Errorf("person_registered without an id")
		}
	}
}

// TestImportRoster: every bad row is reported by line and nothing is imported; a good file
// invites everyone who is not a member (nobody is joined by it), a second import invites
// nobody twice, and people join by accepting.
func TestImportRoster(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a")
	known := e.register("Known Person", "known@example.org")
	csv := func(tok, body string) *response {
		return e.send(tok, "POST", "/v1/cops/cop-a/members:import", "text/csv", body)
	}
	bad := "name,email,organisation\nAna,ana@example.org,Health\n,nobody@example.org,\nCarl,not-an-email,\n"
	p := csv(e.hub("vic"), bad).problem(t, http.StatusUnprocessableEntity)
	if !slices.Equal(p.fields(), []string{"line 3: name", "line 4: email"}) {
		t.Errorf("fields %v, want every bad row by line", p.fields())
	}
	// Nothing half-written: no person, no invitation, no mail, and nothing in the outbox
	// beyond the one registration.
	counts := func() (people, invitations, mails, outbox int) {
		t.Helper()
		if err := e.n.Pool("membership").QueryRow(context.Background(), `SELECT (SELECT count(*) FROM people),
			(SELECT count(*) FROM invitations), (SELECT count(*) FROM mail_outbox),
			(SELECT count(*) FROM watermill_outbox WHERE payload->'metadata'->>'ce-type' = 'membership.person_registered.v1')`).Scan(&people, &invitations, &mails, &outbox); err != nil {
			t.Fatal(err)
		}
		return
	}
	if people, invitations, mails, outbox := counts(); people != 1 || invitations != 0 || mails != 0 || outbox != 1 {
		t.Errorf("after a refused import: %d people, %d invitations, %d mails, %d person_registered in the outbox; want 1, 0, 0, 1",
			people, invitations, mails, outbox)
	}
	if m := e.members("cop-a"); len(m) != 0 {
		t.Errorf("a refused import left members %v", m)
	}
	csv(e.hub("wa"), bad).problem(t, http.StatusForbidden)
	csv(e.hub("vic"), `{"json":true}`).problem(t, http.StatusUnprocessableEntity)
	e.send(e.hub("vic"), "POST", "/v1/cops/cop-a/members:import", "application/json", "name,email\n").problem(t, http.StatusBadRequest)

	type result struct {
		Rows           int `json:"rows"`
		Invited        int `json:"invited"`
		AlreadyInvited int `json:"already_invited"`
		AlreadyMembers int `json:"already_members"`
	}
	good := "name,email,organisation\nAna,ana@example.org,Health\nKnown Person,KNOWN@example.org,\nBen,ben@example.org\n"
	var first, again, third result
	r := csv(e.hub("vic"), good)
	decode(t, r, &first)
	if r.status != http.StatusOK || first != (result{Rows: 3, Invited: 3}) {
		t.Fatalf("%s: want 3 rows, 3 invited (the person registered before too: nobody is joined without consent)", r)
	}
	if m := e.members("cop-a"); len(m) != 0 {
		t.Errorf("an import joined %v without their consent", m)
	}
	// Invited, mailed, and registered only when they arrive: nobody new is registered yet.
	if people, invitations, mails, _ := counts(); people != 1 || invitations != 3 || mails != 3 {
		t.Errorf("after the import: %d people, %d invitations, %d mails; want 1, 3, 3", people, invitations, mails)
	}
	r = csv(e.national(), good)
	decode(t, r, &again)
	if again != (result{Rows: 3, AlreadyInvited: 3}) {
		t.Errorf("%s: a re-import invited someone twice", r)
	}
	// The known person accepts (any member may also join themselves): then the file
	// matches them as a member.
	var inv struct {
		Received []struct{ ID string } `json:"received"`
	}
	e.must(http.StatusOK, &inv, e.person(known), "GET", "/v1/invitations", "")
	if len(inv.Received) != 1 {
		t.Fatalf("the known person sees %d invitations, want 1", len(inv.Received))
	}
	e.must(http.StatusOK, nil, e.person(known), "POST", "/v1/invitations/"+inv.Received[0].ID+"/accept", `{"code_of_practice_version":1}`)
	if _, ok := e.members("cop-a")[known]; !ok {
		t.Error("accepting did not make the known person a member")
	}
	r = csv(e.hub("vic"), good)
	decode(t, r, &third)
	if third != (result{Rows: 3, AlreadyInvited: 2, AlreadyMembers: 1}) {
		t.Errorf("%s: want the member matched by e-mail and the other two still invited", r)
	}
}

// TestErasureLeavesNoPersonalData: after DELETE /v1/people/{id} no table of membership's
// schema holds the name or e-mail, no event ever carried them, and every membership ended.
func TestErasureLeavesNoPersonalData(t *testing.T) {
	e := start(t)
	e.approve("vic", "cop-a", "cop-b")
	const name, email, org = "Zephyrine Quillfeather", "Zephyrine.Q@example.org", "Quillfeather Trust"
	e.must(http.StatusAccepted, nil, "", "POST", "/v1/people", fmt.Sprintf(`{"name":%q,"email":%q,"organisation":%q}`, name, email, org))
	id := personByEmail(t, e, email)
	wg := e.register("Working Member", "wm@example.org")
	for _, cop := range []string{"cop-a", "cop-b"} {
		e.join(cop, id)
		e.join(cop, wg)
		e.workingGroup(cop, wg)
	}
	// Free text written about them may name them too.
	e.must(http.StatusCreated, nil, e.person(wg), "POST", "/v1/cops/cop-a/removals",
		fmt.Sprintf(`{"person_id":%q,"reason":"%s keeps interrupting"}`, id, name))

	e.do(e.person("someone-else"), "DELETE", "/v1/people/"+id, "").problem(t, http.StatusForbidden)
	if r := e.do(e.person(id), "DELETE", "/v1/people/"+id, ""); r.status != http.StatusNoContent {
		t.Fatalf("%s", r)
	}
	if r := e.do(e.national(), "DELETE", "/v1/people/"+id, ""); r.status != http.StatusNoContent {
		t.Fatalf("erasing again: %s", r)
	}
	e.do(e.national(), "GET", "/v1/people/"+id, "").problem(t, http.StatusNotFound)
	awaitEvent(e, "person_erased", func(ev events.PersonErased) bool { return ev.PersonID == id })
	testkit.Eventually(t, waitFor, func() error {
		n := 0
		for _, ev := range published[events.MemberLeft](e, "member_left") {
			if ev.PersonID == id && ev.Reason == "erased" {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d member_left erased, want one per CoP", n)
		}
		return nil
	})
	if len(published[events.PersonErased](e, "person_erased")) != 1 {
		t.Error("erasing twice published person_erased twice")
	}
	for _, cop := range []string{"cop-a", "cop-b"} {
		if _, ok := e.members(cop)[id]; ok {
			t.Errorf("still a member of %s", cop)
		}
	}

	// Every table of the schema, every row as text: the outbox is a table here too.
	ctx := context.Background()
	pool := e.n.Pool("membership")
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'membership' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 5 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	for _, table := range tables {
		for _, secret := range []string{name, "Zephyrine", email, org} {
			var n int
			q := fmt.Sprintf("SELECT count(*) FROM membership.%s t WHERE t::text ILIKE '%%' || $1 || '%%'", pgx.Identifier{table}.Sanitize())
			if err := pool.QueryRow(ctx, q, secret).Scan(&n); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			if n > 0 {
				t.Errorf("table %s still holds %q in %d rows", table, secret, n)
			}
		}
	}
	msgs := e.n.Messages(t, "cop.>")
	if len(msgs) == 0 {
		t.Fatal("no events to scan")
	}
	for _, m := range msgs {
		text := strings.ToLower(string(m.Data) + fmt.Sprint(m.Header))
		for _, secret := range []string{"zephyrine", strings.ToLower(email), "quillfeather"} {
			if strings.Contains(text, secret) {
				t.Errorf("event %s carried %q: %s", m.Subject, secret, m.Data)
			}
		}
	}
}

// personByEmail finds the id of a person registered without a token, who is not told it.
func personByEmail(t *testing.T, e *env, email string) string {
	t.Helper()
	var id string
	if err := e.n.Pool("membership").QueryRow(context.Background(), "SELECT id FROM people WHERE lower(email) = lower($1)", email).Scan(&id); err != nil {
		t.Fatalf("%s: %v", email, err)
	}
	return id
}
