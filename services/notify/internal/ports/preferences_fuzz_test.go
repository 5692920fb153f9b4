package ports_test

import (
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/notify/domain"
	"github.com/copnet/copnet/services/notify/internal/ports"
)

// FuzzDecodePreferences: any body is either refused as a 400 naming the problem, or gives
// known kinds with known cadences only.
func FuzzDecodePreferences(f *testing.F) {
	for _, s := range []string{`{"preferences":{"session_reminder":"weekly"}}`, `{"preferences":{"nope":"daily","gap":"sometimes"}}`,
		`{}`, `[]`, `{"preferences":null}`, `{"preferences":{"gap":1}}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		prefs, err := ports.DecodePreferences(body)
		if err != nil {
			if k, ok := apperr.KindOf(err); !ok || k != apperr.KindInvalid {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if len(prefs) == 0 {
			t.Fatal("accepted nothing")
		}
		for k, c := range prefs {
			if _, err := domain.ParseKind(string(k)); err != nil {
				t.Fatalf("kind %q accepted", k)
			}
			if _, err := domain.ParseCadence(string(c)); err != nil {
				t.Fatalf("cadence %q accepted", c)
			}
		}
	})
}
