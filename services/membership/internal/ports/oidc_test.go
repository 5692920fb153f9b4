package ports_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/copnet/copnet/services/membership/internal/ports"
)

// TestReadOIDCCallback: what a provider sends back is read only when it is one state and
// exactly one of a code or an error, each once, short and printable.
func TestReadOIDCCallback(t *testing.T) {
	cases := []struct {
		query string
		ok    bool
	}{
		{"code=abc&state=xyz", true},
		{"error=access_denied&state=xyz", true},
		{"error=access_denied&error_description=The+user+said+no&state=xyz", true},
		{"code=abc&state=xyz&iss=http%3A%2F%2F127.0.0.1", true},
		{"code=abc", false},
		{"state=xyz", false},
		{"code=abc&error=access_denied&state=xyz", false},
		{"code=abc&state=xyz&state=other", false},
		{"code=abc&code=def&state=xyz", false},
		{"code=abc&state=", false},
		{"code=abc&state=" + strings.Repeat("s", 129), false},
		{"code=" + strings.Repeat("c", 4097) + "&state=xyz", false},
		{"code=a%0Ab&state=xyz", false},
		{"code=abc&state=%C3%A9", false},
	}
	for _, c := range cases {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		cb, ok := ports.ReadOIDCCallback(q)
		if ok != c.ok {
			t.Errorf("%.80s: read %v, want %v", c.query, ok, c.ok)
			continue
		}
		if ok && (cb.State != q.Get("state") || cb.Code != q.Get("code") || cb.Error != q.Get("error")) {
			t.Errorf("%.80s: read %+v", c.query, cb)
		}
	}
}

// FuzzReadOIDCCallback: any query a browser can be sent back with is read without panic,
// and what is read is bounded, printable and has a state and exactly one of code or error.
func FuzzReadOIDCCallback(f *testing.F) {
	for _, s := range []string{"code=abc&state=xyz", "error=access_denied&state=xyz", "code=a&code=b&state=x",
		"state=%00&code=1", "code=abc&state=xyz&error=", "%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // keeps what parses, as net/http does for r.URL.Query
		cb, ok := ports.ReadOIDCCallback(q)
		if !ok {
			if cb.State != "" || cb.Code != "" || cb.Error != "" {
				t.Fatalf("refused but returned %+v", cb)
			}
			return
		}
		if cb.State == "" || (cb.Code == "") == (cb.Error == "") {
			t.Fatalf("read %+v from %q", cb, raw)
		}
		if len(cb.State) > 128 || len(cb.Code) > 4096 || len(cb.Error) > 256 {
			t.Fatalf("read values too long from %q", raw)
		}
		for _, v := range []string{cb.State, cb.Code, cb.Error} {
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] > 0x7e {
					t.Fatalf("read a byte %#x that is not printable ASCII from %q", v[i], raw)
				}
			}
		}
	})
}
