package console_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/feedback"
)

// liveNode starts the console with the feedback service and a CoP the feedback service
// knows, and returns a deck of it (id, room code) made by its coordinator.
func liveNode(t *testing.T, cop string) (*testkit.Node, string, string) {
	t.Helper()
	n := startConsole(t, feedback.Factory)
	n.Publish(t, events.CoPApproved{CoPID: cop, Region: "vic"})
	var deck struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	body := map[string]any{"cop_id": cop, "title": "Session", "questions": []map[string]any{
		{"kind": "scale", "question": "Confidence?", "scale": map[string]any{"min": 1, "max": 5}},
		{"kind": "words", "question": "A word?"},
	}}
	testkit.Eventually(t, waitFor, func() error {
		if st := n.JSON(t, "POST", "/v1/decks", n.Coordinator(t, cop), body, &deck); st != http.StatusCreated {
			return fmt.Errorf("create deck: %d (feedback may not know %s yet)", st, cop)
		}
		return nil
	})
	return n, deck.ID, deck.Code
}

var pollField = regexp.MustCompile(`name="poll" value="([A-Z0-9]+)"`)

// answerForm is the room page's form, filled in.
func answerForm(t *testing.T, b *browser, page string, fields ...string) url.Values {
	t.Helper()
	m := pollField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no answer form on the page:\n%s", page)
	}
	form := url.Values{"csrf": {b.cookie(httpx.CSRFCookie)}, "poll": {m[1]}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Add(fields[i], fields[i+1])
	}
	return form
}

// TestRoomWithoutJavaScript: a phone without JavaScript joins by the code box, answers with
// a plain form post (its device cookie makes it one phone), sees "Thanks — recorded", is
// told so again if it answers twice, gets its mistakes named, and is not let through
// without the form's CSRF token or with a question the presenter has left.
func TestRoomWithoutJavaScript(t *testing.T) {
	n, deckID, code := liveNode(t, "cop-room")
	phone := newBrowser(t, n.URL)

	if r := phone.get("/join?code=" + strings.ToLower(code)); r.status != http.StatusSeeOther || r.header.Get("Location") != "/join/"+code {
		t.Fatalf("the code box sends to %d %s", r.status, r.header.Get("Location"))
	}
	if r := phone.get("/join?code=no%20such!"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "letters and digits") {
		t.Errorf("a malformed code: %d", r.status)
	}
	if r := phone.get("/join/ZZZZZZ"); r.status != http.StatusNotFound || !strings.Contains(r.body, "No session is running with the code ZZZZZZ") {
		t.Errorf("an unknown code: %d", r.status)
	}
	page := phone.get("/join/" + code)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Confidence?") || strings.Contains(page.body, "cop-room") {
		t.Fatalf("room page %d:\n%s", page.status, page.body)
	}
	if !strings.Contains(strings.Join(page.header.Values("Set-Cookie"), "\n"), "copnet_device=") {
		t.Fatal("the phone got no device token")
	}

	// Mistakes are named and record nothing.
	if r := phone.post("/join/"+code, answerForm(t, phone, page.body, "answer", "9"), nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Choose a point of the scale") {
		t.Errorf("an answer off the scale: %d", r.status)
	}
	noCSRF := answerForm(t, phone, page.body, "answer", "4")
	noCSRF.Del("csrf")
	if r := phone.post("/join/"+code, noCSRF, nil); r.status != http.StatusForbidden {
		t.Errorf("an answer without the CSRF token: %d", r.status)
	}

	r := phone.post("/join/"+code, answerForm(t, phone, page.body, "answer", "4"), nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/join/"+code+"?answered=") {
		t.Fatalf("answering: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if thanks := phone.get(r.header.Get("Location")); !strings.Contains(thanks.body, "Thanks — recorded") {
		t.Errorf("after answering the phone sees:\n%s", thanks.body)
	}
	if again := phone.post("/join/"+code, answerForm(t, phone, page.body, "answer", "2"), nil); again.status != http.StatusOK ||
		!strings.Contains(again.body, "already answered") {
		t.Errorf("a second answer from the phone: %d", again.status)
	}
	var d struct {
		Questions []struct {
			Answers int `json:"answers"`
		} `json:"questions"`
	}
	coord := n.Coordinator(t, "cop-room")
	n.JSON(t, "GET", "/v1/decks/"+deckID, coord, nil, &d)
	if d.Questions[0].Answers != 1 {
		t.Errorf("%d answers recorded, want 1", d.Questions[0].Answers)
	}

	// The presenter moves on: an answer to the old question is not recorded, and the page
	// shows the question now (once the console's feed of the room has heard of the move).
	other := newBrowser(t, n.URL)
	old := other.get("/join/" + code)
	n.JSON(t, "POST", "/v1/decks/"+deckID+"/current", coord, map[string]int{"position": 1}, nil)
	testkit.Eventually(t, waitFor, func() error {
		if r := other.get("/join/" + code); !strings.Contains(r.body, "A word?") {
			return fmt.Errorf("the room page still shows the first question")
		}
		return nil
	})
	if r := other.post("/join/"+code, answerForm(t, other, old.body, "answer", "3"), nil); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "moved on") || !strings.Contains(r.body, "A word?") {
		t.Errorf("an answer to the question left: %d", r.status)
	}
	now := other.get("/join/" + code)
	if r := other.post("/join/"+code, answerForm(t, other, now.body, "word", " Hopeful ", "word", "", "word", "ready"), nil); r.status != http.StatusSeeOther {
		t.Errorf("words: %d\n%s", r.status, r.body)
	}
}

// TestPresenterPages: the presenter's pages and stream are the CoP's coordinator's (and
// its hub's, national's); the stream speaks text/event-stream and starts with the screen's
// results part; the deck builder names what is wrong.
func TestPresenterPages(t *testing.T) {
	n, deckID, code := liveNode(t, "cop-show")
	n.Publish(t, events.CoPApproved{CoPID: "cop-else", Region: "nsw"})
	anon := newBrowser(t, n.URL)
	if r := anon.get("/present/" + deckID); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin") {
		t.Errorf("anonymous presenter: %d %s", r.status, r.header.Get("Location"))
	}
	if r := anon.get("/present/" + deckID + "/events"); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous stream: %d", r.status)
	}
	for name, tok := range map[string]string{"a member": n.Member(t, "p-1"), "another CoP's coordinator": n.Coordinator(t, "cop-else"),
		"another region's hub": n.Hub(t, "nsw")} {
		b := newBrowser(t, n.URL)
		b.signIn(tok)
		if r := b.get("/present/" + deckID); r.status != http.StatusForbidden {
			t.Errorf("%s opening the presenter: %d", name, r.status)
		}
	}
	for name, tok := range map[string]string{"coordinator": n.Coordinator(t, "cop-show"), "hub": n.Hub(t, "vic"), "national": n.National(t)} {
		b := newBrowser(t, n.URL)
		b.signIn(tok)
		if r := b.get("/present/" + deckID); r.status != http.StatusOK || !strings.Contains(r.body, code) || !strings.Contains(r.body, `class="qr"`) {
			t.Errorf("%s opening the presenter: %d", name, r.status)
		}
	}

	// An open poll shown alone is presented too, and closed from there.
	var poll struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	n.JSON(t, "POST", "/v1/polls", n.Coordinator(t, "cop-show"), map[string]any{"cop_id": "cop-show", "kind": "words",
		"question": "One word for today?", "audience": "open"}, &poll)
	solo := newBrowser(t, n.URL)
	solo.signIn(n.Coordinator(t, "cop-show"))
	if r := solo.get("/present/" + poll.ID); r.status != http.StatusOK || !strings.Contains(r.body, poll.Code) || !strings.Contains(r.body, "One word for today?") ||
		strings.Contains(r.body, `id="next"`) {
		t.Errorf("presenting a poll alone: %d\n%s", r.status, r.body)
	}
	if r := solo.post("/present/"+poll.ID+"/close", url.Values{"csrf": {solo.cookie(httpx.CSRFCookie)}}, nil); r.status != http.StatusSeeOther {
		t.Errorf("closing a poll alone: %d", r.status)
	}
	if r := solo.get("/present/" + poll.ID); !strings.Contains(r.body, `id="final"`) {
		t.Errorf("a closed poll alone shows no final tally:\n%s", r.body)
	}
	if r := solo.get("/present/no-such-thing"); r.status != http.StatusNotFound {
		t.Errorf("presenting nothing: %d", r.status)
	}

	// The stream, read as the browser would until its first event.
	coord := newBrowser(t, n.URL)
	coord.signIn(n.Coordinator(t, "cop-show"))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", n.URL+"/present/"+deckID+"/events", nil)
	res, err := coord.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, ct)
	}
	var event []string
	for sc := bufio.NewScanner(res.Body); sc.Scan() && (len(event) == 0 || sc.Text() != ""); {
		if line := sc.Text(); strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "data:") || strings.HasPrefix(line, "id:") {
			event = append(event, line)
		}
	}
	joined := strings.Join(event, "\n")
	if !strings.Contains(joined, "event: live") || !strings.Contains(joined, "Results appear at 5 answers") || !strings.Contains(joined, "id: ") {
		t.Errorf("the stream's first event:\n%s", joined)
	}
	cancel()

	// The deck builder: a deck of no question, and one the feedback service refuses.
	builder := newBrowser(t, n.URL)
	builder.signIn(n.Coordinator(t, "cop-show"))
	page := builder.get("/cops/cop-show/decks/new")
	if page.status != http.StatusOK {
		t.Fatalf("deck builder: %d", page.status)
	}
	csrf := builder.cookie(httpx.CSRFCookie)
	if r := builder.post("/cops/cop-show/decks/new", url.Values{"csrf": {csrf}, "title": {"Empty"}}, nil); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "Choose a kind for at least one question") {
		t.Errorf("an empty deck: %d", r.status)
	}
	if r := builder.post("/cops/cop-show/decks/new", url.Values{"csrf": {csrf}, "title": {"One"}, "q0_kind": {"choice"},
		"q0_prompt": {"Which?"}, "q0_options": {"only one"}, "q0_min_responses": {"5"}}, nil); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, "questions[0].options") || !strings.Contains(r.body, "Which?") {
		t.Errorf("a choice of one option: %d\n%s", r.status, r.body)
	}
	if r := builder.post("/cops/cop-show/decks/new", url.Values{"csrf": {csrf}, "title": {"One"}, "q2_kind": {"words"},
		"q2_prompt": {"A word?"}, "q2_min_responses": {"3"}}, nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/present/") {
		t.Errorf("a deck of one question: %d %s", r.status, r.header.Get("Location"))
	}
	if r := builder.get("/cops/cop-show/decks/new"); !strings.Contains(r.body, `href="/present/`+deckID+`"`) || !strings.Contains(r.body, "room "+code) {
		t.Errorf("the deck builder does not list the CoP's deck:\n%s", r.body)
	}
	member := newBrowser(t, n.URL)
	member.signIn(n.Member(t, "p-1"))
	if r := member.get("/cops/cop-show/decks/new"); r.status != http.StatusForbidden {
		t.Errorf("a member opening the deck builder: %d", r.status)
	}
}

// TestARoomBehindOneProxyIsManyPhones: seventy phones answer through the console from
// behind a reverse proxy on this machine (each request carries its phone's address in
// X-Forwarded-For, as the proxy adds it). The console forwards each phone's address to the
// feedback service, whose room limit (a burst of 60 per address) then counts phones, not
// the console: without that, the sixty-first answer of a full room was refused.
func TestARoomBehindOneProxyIsManyPhones(t *testing.T) {
	n, deckID, code := liveNode(t, "cop-crowd")
	const phones = 70
	for i := range phones {
		phone := newBrowser(t, n.URL)
		from := map[string]string{httpx.ForwardedFor: fmt.Sprintf("198.51.100.%d", i+1)}
		page := phone.send("GET", "/join/"+code, nil, from)
		if page.status != http.StatusOK {
			t.Fatalf("phone %d: room page %d", i, page.status)
		}
		r := phone.post("/join/"+code, answerForm(t, phone, page.body, "answer", fmt.Sprint(1+i%5)), from)
		if r.status != http.StatusSeeOther {
			t.Fatalf("phone %d: answering: %d\n%s", i, r.status, r.body)
		}
	}
	var d struct {
		Questions []struct {
			Answers int `json:"answers"`
		} `json:"questions"`
	}
	n.JSON(t, "GET", "/v1/decks/"+deckID, n.Coordinator(t, "cop-crowd"), nil, &d)
	if d.Questions[0].Answers != phones {
		t.Errorf("%d answers recorded, want %d", d.Questions[0].Answers, phones)
	}
}
