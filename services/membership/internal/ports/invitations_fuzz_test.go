package ports

import (
	"net/url"
	"testing"
)

// FuzzAcceptForm reads whatever a browser (or anyone posting to the accept route) sends as
// the invitation page's accept form: it never panics, and what it accepts is a version in
// range and a box either ticked with "yes" or not sent.
func FuzzAcceptForm(f *testing.F) {
	for _, s := range []string{"", "code_of_practice_version=1&accept_code_of_practice=yes", "code_of_practice_version=0",
		"code_of_practice_version=-3", "code_of_practice_version=99999999999999999999", "accept_code_of_practice=on",
		"code_of_practice_version=1e3", "code_of_practice_version=%00", "accept_code_of_practice=yes&accept_code_of_practice=no"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		form, err := parseAcceptForm(v)
		if err != nil {
			if form != (acceptForm{}) {
				t.Fatalf("%q: refused, yet read %+v", raw, form)
			}
			return
		}
		if form.Version < 0 || form.Version > maxVersion || (form.Version == 0 && v.Get("code_of_practice_version") != "") {
			t.Fatalf("%q: version %d", raw, form.Version)
		}
		if form.Consent != (v.Get("accept_code_of_practice") == "yes") {
			t.Fatalf("%q: consent %v", raw, form.Consent)
		}
	})
}
