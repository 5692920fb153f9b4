package ports

import (
	"fmt"
	"html/template"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// qrSVG draws the QR code of link as an SVG, server-side: one path of dark modules on a
// white square with its quiet zone, named by the link for screen readers.
func qrSVG(link string) template.HTML {
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return "" // a link too long for a QR code: the page shows the link and code anyway
	}
	bm := q.Bitmap() // includes the quiet zone
	var path strings.Builder
	for y, row := range bm {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	n := len(bm)
	name := template.HTMLEscapeString("QR code of " + link)
	return template.HTML(fmt.Sprintf(`<svg class="qr" role="img" aria-label="%s" viewBox="0 0 %d %d" shape-rendering="crispEdges">`+
		`<title>%s</title><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`, name, n, n, name, n, n, path.String()))
}
