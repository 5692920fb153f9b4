package ports

import (
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
)

// FuzzParseNotificationForm: any form body is refused as a 400, or gives plain kind names
// with offered cadences only.
func FuzzParseNotificationForm(f *testing.F) {
	for _, s := range []string{"pref-gap=weekly&pref-rotation=off&csrf=x", "pref-=daily", "pref-GAP=daily", "pref-gap=sometimes",
		"pref-gap=daily&pref-gap=off", "csrf=x", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		prefs, err := parseNotificationForm(form)
		if err != nil {
			if k, ok := apperr.KindOf(err); !ok || k != apperr.KindInvalid {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		for k, v := range prefs {
			if k == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") != "" || !validCadence(v) {
				t.Fatalf("accepted %q=%q", k, v)
			}
		}
	})
}
