package domain_test

import (
	"testing"

	"github.com/copnet/copnet/services/notify/domain"
)

// FuzzUnsubscribeCheck: no token but one this node signed names a person and kind, and a
// token names exactly what it was signed for.
func FuzzUnsubscribeCheck(f *testing.F) {
	u, err := domain.NewUnsubscriber([]byte("a node secret of enough length for tests"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(u.Token("ana", domain.KindGap), "ana", "gap")
	f.Add("x.y.z", "bo", "digest")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, token, person, kind string) {
		if p, k, err := u.Check(token); err == nil && u.Token(p, k) != token {
			t.Fatalf("token %q accepted for %q/%q but that signs as %q", token, p, k, u.Token(p, k))
		}
		k, err := domain.ParseKind(kind)
		if err != nil || person == "" || len(person) > 200 { // person ids are at most 200 bytes (contacts)
			return
		}
		p, k2, err := u.Check(u.Token(person, k))
		if err != nil || p != person || k2 != k {
			t.Fatalf("round trip of %q/%q: %q/%q %v", person, k, p, k2, err)
		}
	})
}
