package app_test

import (
	"net/mail"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/notify/internal/app"
)

// FuzzDecodeContact: a contact message is refused whole or gives a person id and, unless
// erased, one bare e-mail address and a one-line name.
func FuzzDecodeContact(f *testing.F) {
	for _, s := range []string{`{"person_id":"p1","name":"Ana","address":"ana@example.org"}`, `{"person_id":"p1","erased":true}`,
		`{"person_id":"","address":"x"}`, `{"person_id":"p","address":"A <a@b.c>","name":"x\ny"}`, `{"person_id":"p","extra":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := app.DecodeContact(data)
		if err != nil {
			return
		}
		if c.PersonID == "" || strings.ContainsAny(c.PersonID, "/\x00") {
			t.Fatalf("person id %q", c.PersonID)
		}
		if c.Erased {
			return
		}
		a, err := mail.ParseAddress(c.Address)
		if err != nil || a.Address != c.Address || strings.ContainsAny(c.Name, "\r\n") {
			t.Fatalf("contact %+v", c)
		}
	})
}
