package ports

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseAddressesKeepsNamesAndNamesBadOnes(t *testing.T) {
	got, err := parseAddresses("Ana Ruiz <Ana@Example.org>, ben@example.org\nben@EXAMPLE.org; cai@example.org dee@example.org")
	if err != nil {
		t.Fatal(err)
	}
	want := []invitee{{"Ana Ruiz", "ana@example.org"}, {"", "ben@example.org"}, {"", "cai@example.org"}, {"", "dee@example.org"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("address %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseAddresses("ok@example.org\nnot-an-address"); err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Errorf("a bad address gives %v, want it named", err)
	}
	if _, err := parseAddresses(" \n "); err == nil {
		t.Error("an empty box was accepted")
	}
}

// FuzzParseAddresses: whatever is pasted into the invite box, each address returned is
// one lower-case address with an @ and no spaces, at most once, and the name is UTF-8.
func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{"a@b.org", "Ana <a@b.org>, b@c.org", "x\n\n;,", "\"Q, R\" <q@r.org>", "<>@", "a@b\x00c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseAddresses(text)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range got {
			if !strings.Contains(p.Email, "@") || strings.ContainsAny(p.Email, " <>") || p.Email != strings.ToLower(p.Email) || seen[p.Email] {
				t.Fatalf("%q gave the address %q (%+v)", text, p.Email, got)
			}
			if !utf8.ValidString(p.Name) {
				t.Fatalf("%q gave the name %q", text, p.Name)
			}
			seen[p.Email] = true
		}
		if len(got) == 0 || len(got) > maxInvitees {
			t.Fatalf("%q accepted with %d addresses", text, len(got))
		}
	})
}

// FuzzCharterAndAcceptForms: the charter editor's and the acceptance form's fields, whatever
// is posted, are either refused naming a field or valid for the services.
func FuzzCharterAndAcceptForms(f *testing.F) {
	f.Add("Aims", "We meet monthly.", "Be kind.", "1", "yes", "yes")
	f.Add("", " ", "\x00", "0", "no", "maybe")
	f.Add(strings.Repeat("é", 10), "a\r\nb", "\tc", "-3", "", "no")
	f.Fuzz(func(t *testing.T, aims, terms, code, version, consent, wg string) {
		form := url.Values{"aims": {aims}, "terms_of_reference": {terms}, "code_of_practice": {code},
			"code_of_practice_version": {version}, "accept_code_of_practice": {consent}, "working_group": {wg}}
		if c, err := parseCharterForm(form.Get); err == nil {
			for _, s := range []string{c.Aims, c.TermsOfReference, c.CodeOfPractice} {
				if !utf8.ValidString(s) || strings.TrimSpace(s) == "" || strings.ContainsRune(s, 0) || utf8.RuneCountInString(s) > maxCharterText {
					t.Fatalf("accepted the charter text %q", s)
				}
			}
		} else if fields, _ := refusal(err); len(fields) == 0 {
			t.Fatalf("refused without naming a field: %v", err)
		}
		if a, err := parseAcceptForm(form.Get); err == nil && (a.Version < 1 || !a.Consent) {
			t.Fatalf("accepted %+v", a)
		}
		if _, err := parseRolesForm(form.Get); err == nil && wg != "yes" && wg != "no" {
			t.Fatalf("accepted working_group=%q", wg)
		}
	})
}

// FuzzReadRosterFile: whatever file is uploaded as the roster, it is refused with a reason
// or forwarded as non-empty UTF-8 text of at most 1 MB.
func FuzzReadRosterFile(f *testing.F) {
	f.Add([]byte("name,email\nAna,ana@example.org\n"))
	f.Add([]byte{0xff, 0xfe, 0})
	f.Add([]byte("   \n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("roster", "roster.csv")
		_, _ = fw.Write(content)
		_ = mw.Close()
		r := httptest.NewRequest("POST", "/cops/c/roster/import", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		raw, err := readRosterFile(r.FormFile("roster"))
		if err != nil {
			return
		}
		if len(raw) == 0 || len(raw) > maxRoster || !utf8.Valid(raw) || bytes.IndexByte(raw, 0) >= 0 {
			t.Fatalf("forwarded %q", raw)
		}
	})
}
