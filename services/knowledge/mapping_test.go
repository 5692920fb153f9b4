package knowledge_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// detail is GET /v1/overlaps/{id} as the tests read it.
type detail struct {
	ID       string
	Status   string
	CoPIDs   []string `json:"cop_ids"`
	Projects []struct {
		ID, Title, Contact string
		CoPID              string `json:"cop_id"`
	}
}

// TestMembersMapTheirOwnWorkAndSeeItsOverlaps is acceptance scenario 4 through the API:
// two LPHU officers, members of two CoPs, each map an engagement with the same community;
// each sees the overlap with the other's contact, and not the other's CoP's map; one
// records that it was coordinated, which a member of a third CoP may not do.
func TestMembersMapTheirOwnWorkAndSeeItsOverlaps(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-west", "vic", "cop-south", "vic", "cop-nsw", "nsw")
	e.joined(t, "cop-west", "vic", "officer-west", "other-west")
	e.joined(t, "cop-south", "vic", "officer-south")
	e.joined(t, "cop-nsw", "nsw", "officer-nsw")
	west, south, nsw, otherWest := e.member(t, "officer-west"), e.member(t, "officer-south"), e.member(t, "officer-nsw"), e.member(t, "other-west")

	a := project("cop-west", "Youth voice survey", []string{"youth"}, "au.vic.geelong", "young people", "2026-03-01", "2026-04-30")
	a["contact"] = "health.planning@west.example"
	var pa struct {
		ID       string
		MappedBy string `json:"mapped_by"`
	}
	e.must(t, http.StatusCreated, "POST", "/v1/projects", west, a, &pa)
	if pa.MappedBy != "officer-west" {
		t.Fatalf("mapped_by %q", pa.MappedBy)
	}
	b := project("cop-south", "Young people's wellbeing forum", []string{"wellbeing"}, "au.vic.geelong", "young people", "2026-04-01", "2026-05-15")
	b["contact"] = "engage@south.example"
	e.must(t, http.StatusCreated, "POST", "/v1/projects", south, b, nil)
	// A member maps only in a CoP they belong to.
	e.must(t, http.StatusForbidden, "POST", "/v1/projects", nsw, project("cop-west", "x", []string{"x"}, "au.vic", "carers", "2026-01-01", "2026-01-02"), nil)

	var overlap string
	testkit.Eventually(t, waitFor, func() error {
		var list struct{ Overlaps []overlapView }
		e.must(t, http.StatusOK, "GET", "/v1/overlaps?cop=cop-west", west, nil, &list)
		if len(list.Overlaps) != 1 {
			return fmt.Errorf("overlaps seen by the west officer: %+v", list.Overlaps)
		}
		overlap = list.Overlaps[0].ID
		return nil
	})
	var list struct{ Overlaps []overlapView }
	e.must(t, http.StatusOK, "GET", "/v1/overlaps?cop=cop-south", south, nil, &list)
	if len(list.Overlaps) != 1 || list.Overlaps[0].ID != overlap {
		t.Fatalf("the south officer sees %+v", list.Overlaps)
	}
	// Another member of the west CoP mapped nothing: no overlap of theirs, no project.
	e.must(t, http.StatusOK, "GET", "/v1/overlaps?cop=cop-west", otherWest, nil, &list)
	if len(list.Overlaps) != 0 {
		t.Fatalf("a member who mapped nothing sees %+v", list.Overlaps)
	}
	var projects struct{ Projects []struct{ ID string } }
	e.must(t, http.StatusOK, "GET", "/v1/projects?cop=cop-west", otherWest, nil, &projects)
	if len(projects.Projects) != 0 {
		t.Fatalf("a member sees another member's projects: %+v", projects.Projects)
	}
	e.must(t, http.StatusOK, "GET", "/v1/projects?cop=cop-west", e.coordinator(t, "cop-west"), nil, &projects)
	if len(projects.Projects) != 1 || projects.Projects[0].ID != pa.ID {
		t.Fatalf("the coordinator sees %+v", projects.Projects)
	}
	// The other CoP's map is not a member's to read.
	e.must(t, http.StatusForbidden, "GET", "/v1/projects?cop=cop-south", west, nil, nil)

	// Both officers see the overlap with the other side's contact; others do not see it.
	for who, tok := range map[string]string{"west": west, "south": south} {
		var d detail
		e.must(t, http.StatusOK, "GET", "/v1/overlaps/"+overlap, tok, nil, &d)
		contacts := map[string]string{}
		for _, p := range d.Projects {
			contacts[p.CoPID] = p.Contact
		}
		if contacts["cop-west"] != "health.planning@west.example" || contacts["cop-south"] != "engage@south.example" {
			t.Fatalf("%s reads contacts %v", who, contacts)
		}
	}
	e.must(t, http.StatusNotFound, "GET", "/v1/overlaps/"+overlap, nsw, nil, nil)
	e.must(t, http.StatusNotFound, "GET", "/v1/overlaps/"+overlap, otherWest, nil, nil)

	// A member of a third CoP cannot mark it coordinated; nor can a member who mapped
	// neither project; the south officer can.
	coordinated := map[string]string{"status": "coordinated", "note": "We will run one joint session."}
	e.must(t, http.StatusForbidden, "PUT", "/v1/overlaps/"+overlap, nsw, coordinated, nil)
	e.must(t, http.StatusForbidden, "PUT", "/v1/overlaps/"+overlap, otherWest, coordinated, nil)
	e.must(t, http.StatusOK, "PUT", "/v1/overlaps/"+overlap, south, coordinated, nil)
	var d detail
	e.must(t, http.StatusOK, "GET", "/v1/overlaps/"+overlap, west, nil, &d)
	if d.Status != "coordinated" {
		t.Fatalf("status %q", d.Status)
	}

	// A member who left can no longer act on it.
	e.Publish(t, events.MemberLeft{CoPID: "cop-south", Region: "vic", PersonID: "officer-south", Reason: "left"})
	testkit.Eventually(t, waitFor, func() error {
		if code, _ := e.Do(t, "GET", "/v1/overlaps/"+overlap, south, nil); code != http.StatusNotFound {
			return fmt.Errorf("a former member still reads the overlap: %d", code)
		}
		return nil
	})
}

// upload posts a multipart upload of content as file name to cop with visibility.
func upload(t *testing.T, e *env, token, cop, visibility, name string, content []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"cop_id": cop, "title": "Engagement plan template", "topics": "community engagement, planning",
		"licence": "CC-BY-4.0", "visibility": visibility} {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.URL+"/v1/assets/files", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// TestTheLibraryKeepsFilesToThoseTheirVisibilityAllows: a member uploads a file visible to
// the CoP; another member lists and downloads it (as an attachment, its type sniffed,
// nosniff); a member of another CoP neither sees nor downloads it; a file over 10 MiB is a
// 413 and nothing is stored.
func TestTheLibraryKeepsFilesToThoseTheirVisibilityAllows(t *testing.T) {
	e := start(t)
	e.approve(t, "cop-west", "vic", "cop-south", "vic")
	e.joined(t, "cop-west", "vic", "officer-west", "other-west")
	e.joined(t, "cop-south", "vic", "officer-south")
	west, otherWest, south := e.member(t, "officer-west"), e.member(t, "other-west"), e.member(t, "officer-south")

	pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("x"), 2000)...)
	code, raw := upload(t, e, west, "cop-west", "cop", "plan <b>\"template\".pdf", pdf)
	if code != http.StatusCreated {
		t.Fatalf("upload → %d %s", code, raw)
	}
	var list struct {
		Assets []struct {
			ID, Visibility string
			File           *struct {
				Name        string
				ContentType string `json:"content_type"`
				Size        int
			}
		}
	}
	e.must(t, http.StatusOK, "GET", "/v1/assets?cop=cop-west", otherWest, nil, &list)
	if len(list.Assets) != 1 || list.Assets[0].File == nil || list.Assets[0].File.ContentType != "application/pdf" || list.Assets[0].File.Size != len(pdf) {
		t.Fatalf("another member lists %+v", list.Assets)
	}
	id := list.Assets[0].ID

	req, _ := http.NewRequest("GET", e.URL+"/v1/assets/"+id+"/file", nil)
	req.Header.Set("Authorization", "Bearer "+otherWest)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, pdf) {
		t.Fatalf("download → %d, %d bytes", res.StatusCode, len(got))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || strings.Contains(cd, `"template"`) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("headers %v", res.Header)
	}

	// A member of another CoP: not listed, not downloadable.
	e.must(t, http.StatusOK, "GET", "/v1/assets?cop=cop-west", south, nil, &list)
	if len(list.Assets) != 0 {
		t.Fatalf("a member of another CoP lists %+v", list.Assets)
	}
	e.must(t, http.StatusNotFound, "GET", "/v1/assets/"+id+"/file", south, nil, nil)
	// Nor may they upload into a CoP they do not belong to.
	if code, raw := upload(t, e, south, "cop-west", "cop", "x.txt", []byte("hello")); code != http.StatusForbidden {
		t.Fatalf("upload into another CoP → %d %s", code, raw)
	}

	// Over the limit: 413, and nothing is stored.
	code, raw = upload(t, e, west, "cop-west", "cop", "big.bin", bytes.Repeat([]byte{1}, 10<<20+1))
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "application/problem") && !strings.Contains(string(raw), "too-large") {
		t.Fatalf("an upload over 10 MiB → %d %s", code, raw)
	}
	var n int
	if err := e.Pool("knowledge").QueryRow(context.Background(), "SELECT count(*) FROM assets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d assets stored, want the first one only", n)
	}
}
