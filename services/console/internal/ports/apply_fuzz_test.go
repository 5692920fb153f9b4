package ports

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
)

// FuzzApplicationForm: whatever is posted to /apply or /applications/{id}, parseApplication
// either refuses it naming form fields, or yields text the registry can be sent: valid
// UTF-8 without NUL, within each field's size, and a body that is JSON.
func FuzzApplicationForm(f *testing.F) {
	for _, body := range []string{
		"region=vic&name=Carers&scope=local&purpose=Share%0Amore&topics=carers%2C+respite&host_organisations=A%0D%0AB" +
			"&meeting_frequency=Monthly&meeting_when=Tue+10%3A00&meeting_duration=90&meeting_format=Share%2C+Discuss" +
			"&contact_name=Mia&contact_email=mia%40example.org",
		"name=%00", "meeting_duration=ninety", "meeting_duration=-5", "meeting_duration=99999999999999999999",
		"purpose=" + strings.Repeat("x", 4001), "name=%ff", "contact_role=a%09b", "%zz", "",
		"topics=,,,", "region=vic&region=wa",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/apply", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, err := parseApplication(r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) == 0 {
				t.Fatalf("parseApplication(%q) = %v, want invalid input naming fields", body, err)
			}
			for _, fe := range ae.Fields {
				if _, ok := formLimits[fe.Field]; !ok {
					t.Fatalf("parseApplication(%q) names field %q, which the form does not have", body, fe.Field)
				}
			}
			return
		}
		for _, v := range []string{form.Region, form.Name, form.Scope, form.Purpose, form.Topics, form.Hosts, form.Frequency,
			form.When, form.Duration, form.Format, form.ContactName, form.ContactEmail, form.ContactRole} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || utf8.RuneCountInString(v) > 5200 {
				t.Fatalf("parseApplication(%q) accepted %q", body, v)
			}
		}
		for _, withRegion := range []bool{true, false} {
			var in map[string]any
			if err := json.Unmarshal(form.body(withRegion), &in); err != nil {
				t.Fatalf("the registry body of %q is not JSON: %v", body, err)
			}
			if _, has := in["region"]; has != withRegion {
				t.Fatalf("region in the body = %v, want %v", has, withRegion)
			}
		}
	})
}
