package ports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/knowledge/internal/app"
)

// OverlapDetailView is one overlap with both its projects, as GET /v1/overlaps/{id} shows it.
type OverlapDetailView struct {
	app.Overlap
	Projects []ProjectView `json:"projects"`
}

func (h *HTTP) overlap(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	d, err := h.app.OverlapDetail(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	out := OverlapDetailView{Overlap: d.Overlap, Projects: []ProjectView{}}
	for _, p := range d.Projects {
		out.Projects = append(out.Projects, view(p))
	}
	return http.StatusOK, out, nil
}

// maxUploadBody is the largest upload request: the file and its few form fields.
const maxUploadBody = app.MaxFileBytes + 64<<10

// maxUploadField bounds each text field of an upload.
const maxUploadField = 8 << 10

// Upload is an asset upload as POST /v1/assets/files takes it.
type Upload struct {
	Asset   app.NewAsset
	Name    string
	Content []byte
}

// ParseUpload reads a multipart/form-data upload: the text fields cop_id, title, topics
// (comma-separated), licence and visibility, and one file part "file" of at most
// app.MaxFileBytes. A file over the limit is a 413 before anything is stored; a body
// that is not such a form is a 400 naming what is wrong.
func ParseUpload(r *http.Request) (Upload, error) {
	var up Upload
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return up, apperr.Invalid("Content-Type", "must be multipart/form-data with a boundary")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return up, bodyError(err)
		}
		name := part.FormName()
		if seen[name] {
			return up, apperr.Invalid(name, "is given twice")
		}
		seen[name] = true
		if name == "file" {
			up.Name = part.FileName()
			if up.Content, err = io.ReadAll(io.LimitReader(part, app.MaxFileBytes+1)); err != nil {
				return up, bodyError(err)
			}
			if len(up.Content) > app.MaxFileBytes {
				return up, apperr.TooLarge("file", "is larger than 10 MiB")
			}
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(part, maxUploadField+1))
		if err != nil {
			return up, bodyError(err)
		}
		v := string(raw)
		if len(raw) > maxUploadField || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return up, apperr.Invalid(name, fmt.Sprintf("must be UTF-8 text of at most %d bytes", maxUploadField))
		}
		switch name {
		case "cop_id":
			up.Asset.CoPID = v
		case "title":
			up.Asset.Title = v
		case "licence":
			up.Asset.Licence = v
		case "visibility":
			up.Asset.Visibility = v
		case "topics":
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					up.Asset.Topics = append(up.Asset.Topics, t)
				}
			}
		default:
			return up, apperr.Invalid(name, "is not a field of an upload")
		}
	}
	if !seen["file"] {
		return up, apperr.Invalid("file", "is required")
	}
	return up, nil
}

// bodyError names a body that ran over the limit (413) or is not a readable form (400).
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.TooLarge("body", fmt.Sprintf("is larger than %d bytes", mbe.Limit))
	}
	return apperr.Invalid("body", "is not a readable multipart form")
}

func (h *HTTP) uploadAsset(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	if err := httpx.Authorize(c, c.Signed(), "upload assets"); err != nil {
		return 0, nil, err
	}
	httpx.RaiseBodyLimit(r, maxUploadBody)
	up, err := ParseUpload(r)
	if err != nil {
		return 0, nil, err
	}
	a, err := h.app.ShareFile(ctx, c, up.Asset, up.Name, up.Content)
	return http.StatusCreated, a, err
}

// downloadAsset serves an uploaded file as an attachment, with its sniffed type and
// nosniff, so that a browser never renders it as a page of this origin.
func (h *HTTP) downloadAsset(ctx context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
	f, err := h.app.AssetContent(ctx, c, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, httpx.Raw{Header: FileHeader(f.Name, f.ContentType, f.Size), Data: f.Content}, nil
}

// FileHeader is the header an uploaded file is served with.
func FileHeader(name, contentType string, size int64) http.Header {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return http.Header{
		"Content-Type":            {contentType},
		"Content-Disposition":     {fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))},
		"Content-Length":          {fmt.Sprint(size)},
		"X-Content-Type-Options":  {"nosniff"},
		"Content-Security-Policy": {"default-src 'none'; sandbox"},
		"Cache-Control":           {"private, no-store"},
	}
}
