package ports

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// FuzzProjectForm: whatever is posted to /cops/{id}/projects/new, parseProjectForm refuses
// it naming the form's fields, or yields UTF-8 text within each field's size, methods from
// the list, and a JSON body.
func FuzzProjectForm(f *testing.F) {
	for _, body := range []string{
		"title=Youth+voice&topics=youth%2C+wellbeing&place=au.vic.geelong&group=young+people&starts_on=2026-03-01&ends_on=2026-04-30&methods=Survey&methods=Workshop&contact=team%40example.org",
		"title=%00", "starts_on=1%2F3%2F2026", "methods=Hacking", "methods=Survey&methods=Survey", "%zz", "", "group=%ff",
		"title=" + strings.Repeat("x", 201), "other_methods=a,,b",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/cops/c/projects/new", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := parseProjectForm(r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
				t.Fatalf("parseProjectForm(%q) = %v, want invalid input naming fields", body, err)
			}
			for _, fe := range ae.Fields {
				if _, ok := projectLimits[fe.Field]; !ok && fe.Field != "methods" {
					t.Fatalf("names field %q, which the form does not have", fe.Field)
				}
			}
			return
		}
		for _, v := range []string{form.Title, form.Organisation, form.Topics, form.Place, form.Group, form.StartsOn, form.EndsOn, form.OtherMethods, form.Contact} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("passed %q", v)
			}
		}
		for _, m := range form.Methods {
			if !form.Has(m) || !containsString(methodChoices, m) {
				t.Fatalf("method %q passed", m)
			}
		}
		if !json.Valid(form.body("c")) {
			t.Fatal("body is not JSON")
		}
	})
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzResourceForm: whatever multipart body is posted to /cops/{id}/resources,
// parseResourceForm answers a 4xx problem or a form with UTF-8 fields, a known visibility,
// and a file of at most 10 MiB or a link.
func FuzzResourceForm(f *testing.F) {
	var good bytes.Buffer
	mw := multipart.NewWriter(&good)
	_ = mw.SetBoundary("b0undary")
	_ = mw.WriteField("title", "Plan template")
	_ = mw.WriteField("topics", "planning")
	_ = mw.WriteField("visibility", "cop")
	fw, _ := mw.CreateFormFile("file", "plan.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4"))
	_ = mw.Close()
	f.Add(good.Bytes(), "multipart/form-data; boundary=b0undary")
	f.Add([]byte("title=a&topics=b&visibility=national&url=https%3A%2F%2Fexample.org"), "application/x-www-form-urlencoded")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n\xff\r\n--x--"), "multipart/form-data; boundary=x")
	f.Add([]byte("visibility=everyone"), "application/x-www-form-urlencoded")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest(http.MethodPost, "/cops/c/resources", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		form, err := parseResourceForm(r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || (ae.Kind != apperr.KindInvalid && ae.Kind != apperr.KindTooLarge) {
				t.Fatalf("parseResourceForm = %v, want a 4xx problem", err)
			}
			return
		}
		if form.Visibility != "cop" && form.Visibility != "region" && form.Visibility != "national" {
			t.Fatalf("visibility %q passed", form.Visibility)
		}
		if len(form.File) > maxResourceFile || (form.File == nil && form.URL == "") {
			t.Fatalf("file of %d bytes, link %q", len(form.File), form.URL)
		}
		for _, v := range []string{form.Title, form.Topics, form.URL, form.Licence, form.FileName} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("passed %q", v)
			}
		}
	})
}
