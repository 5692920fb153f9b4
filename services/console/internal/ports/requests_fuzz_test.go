package ports

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// checkParsed: a form parser either refuses naming only fields the form has, or yields
// text knowledge can be sent: valid UTF-8 without NUL, each field within its size.
func checkParsed(t *testing.T, body string, err error, limits map[string]int, values map[string]string) {
	t.Helper()
	if err != nil {
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
			t.Fatalf("%q: %v, want invalid input naming fields", body, err)
		}
		for _, fe := range ae.Fields {
			if _, ok := limits[fe.Field]; !ok {
				t.Fatalf("%q names field %q, which the form does not have", body, fe.Field)
			}
		}
		return
	}
	for k, v := range values {
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || utf8.RuneCountInString(v) > limits[k] {
			t.Fatalf("%q: field %s = %q passed", body, k, v)
		}
	}
}

// FuzzAskForm: whatever is posted to /requests.
func FuzzAskForm(f *testing.F) {
	for _, s := range []string{"cop=cop-otago&topics=funding%2C+grants&question=How%3F%0ANext", "question=%00", "topics=%ff",
		"question=" + strings.Repeat("x", 4001), "cop=a%09b", "", "%zz", "topics=,,,"} {
		f.Add(s)
	}
	limits := map[string]int{"cop": maxID, "topics": maxTopics, "question": maxQuestion}
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body)
		a, err := parseAskForm(form)
		checkParsed(t, body, err, limits, map[string]string{"cop": a.CoP, "topics": a.Topics, "question": a.Question})
	})
}

// FuzzExpertiseForm: whatever is posted to /me/expertise.
func FuzzExpertiseForm(f *testing.F) {
	for _, s := range []string{"cop=cop-vic&topics=funding&level=expert&visibility=national&description=Grants%0Afor+years&name=Ana&organisation=VH",
		"description=" + strings.Repeat("é", 501), "name=%00", "level=%ff", "organisation=a%0Ab", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, _ := url.ParseQuery(body)
		e, err := parseExpertiseForm(form)
		checkParsed(t, body, err, expertiseLimits, map[string]string{"cop": e.CoP, "topics": e.Topics, "level": e.Level,
			"visibility": e.Visibility, "description": e.Description, "name": e.Name, "organisation": e.Organisation})
	})
}

// FuzzAnswerBody: whatever is posted to /requests/{id}/answers.
func FuzzAnswerBody(f *testing.F) {
	for _, s := range []string{"body=Talk+to+your+council%0Aearly.", "body=", "body=%00", "body=" + strings.Repeat("x", 8001), "body=%ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		form, _ := url.ParseQuery(raw)
		body, err := parseAnswerBody(form)
		checkParsed(t, raw, err, map[string]int{"body": maxAnswerBody}, map[string]string{"body": body})
		if err == nil && body == "" {
			t.Fatalf("%q: an empty answer passed", raw)
		}
	})
}
