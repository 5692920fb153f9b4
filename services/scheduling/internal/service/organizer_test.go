package service

import (
	"testing"

	"github.com/copnet/copnet/pkg/node"
)

// The ORGANIZER address is the configured one, else no-reply at the public URL's DNS
// name, else at a reserved .invalid name: never a request's host.
func TestOrganizerAddress(t *testing.T) {
	for _, c := range []struct {
		configured, public, want string
	}{
		{"", "https://cop.example.org/network", "no-reply@cop.example.org"},
		{"", "http://127.0.0.1:8080", "no-reply@vic.copnet.invalid"},
		{"", "http://localhost:8080", "no-reply@vic.copnet.invalid"},
		{"calendar@cop.example.org", "http://127.0.0.1:8080", "calendar@cop.example.org"},
	} {
		got, err := organizer(Config{OrganizerEmail: c.configured}, node.Deps{NodeID: "vic", PublicURL: c.public})
		if err != nil || got != c.want {
			t.Errorf("organizer(%q, %q) = %q, %v; want %q", c.configured, c.public, got, err, c.want)
		}
	}
	for _, bad := range []string{"Calendar <c@x.org>", "not an address", "a@b\r\nX:y"} {
		if _, err := organizer(Config{OrganizerEmail: bad}, node.Deps{}); err == nil {
			t.Errorf("organizer address %q accepted", bad)
		}
	}
}
