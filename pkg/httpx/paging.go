package httpx

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
)

// MaxCursorLength bounds an opaque paging cursor; ours are far shorter, so anything longer
// is not one of ours.
const MaxCursorLength = 512

// Page is the paging parameters of a list route.
type Page struct {
	// Limit is the page size, within [1, max]; def when the client sent none.
	Limit int
	// Cursor is where the page starts: "" for the first page, otherwise the next_cursor
	// the previous page answered. It is opaque here; the route decodes it.
	Cursor string
}

// Paging reads the limit and cursor query parameters of a list route, the same way on every
// route: limit is a whole number from 1 to max (def when absent), cursor a printable string
// of at most MaxCursorLength bytes. Bad values are a KindInvalid error naming the parameter.
func Paging(q url.Values, def, max int) (Page, error) {
	p := Page{Limit: def}
	if q.Has("limit") {
		s := q.Get("limit")
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return Page{}, apperr.Invalid("limit", fmt.Sprintf("must be a whole number from 1 to %d", max))
		}
		p.Limit = n
	}
	p.Cursor = q.Get("cursor")
	if len(p.Cursor) > MaxCursorLength || strings.ContainsFunc(p.Cursor, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\uFFFD' }) {
		return Page{}, apperr.Invalid("cursor", "must be the next_cursor of a previous page")
	}
	return p, nil
}
