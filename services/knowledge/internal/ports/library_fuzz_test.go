package ports_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/knowledge/internal/app"
	"github.com/copnet/copnet/services/knowledge/internal/ports"
)

// FuzzParseUpload: whatever body arrives, the upload parser answers an upload or a 4xx
// problem, never panics, and never returns a file over the limit or a text field that is
// not UTF-8.
func FuzzParseUpload(f *testing.F) {
	var good bytes.Buffer
	mw := multipart.NewWriter(&good)
	_ = mw.SetBoundary("b0undary")
	_ = mw.WriteField("cop_id", "cop-vic")
	_ = mw.WriteField("topics", "a, b,,c")
	fw, _ := mw.CreateFormFile("file", "plan.pdf")
	_, _ = fw.Write([]byte("%PDF-1.4"))
	_ = mw.Close()
	f.Add(good.Bytes(), "multipart/form-data; boundary=b0undary")
	f.Add([]byte("--b0undary--\r\n"), "multipart/form-data; boundary=b0undary")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n\xff\r\n--x--"), "multipart/form-data; boundary=x")
	f.Add([]byte("{}"), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest("POST", "/v1/assets/files", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		up, err := ports.ParseUpload(r)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not a problem: %v", err)
			}
			return
		}
		if len(up.Content) > app.MaxFileBytes {
			t.Fatalf("a file of %d bytes passed", len(up.Content))
		}
		for _, s := range append([]string{up.Asset.CoPID, up.Asset.Title, up.Asset.Licence, up.Asset.Visibility}, up.Asset.Topics...) {
			if !utf8.ValidString(s) {
				t.Fatalf("field %q is not UTF-8", s)
			}
		}
	})
}
