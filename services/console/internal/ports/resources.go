package ports

// Resources (issue 18): a CoP's library of links and uploaded files, by topic, each seen as
// far as its visibility says. Knowledge stores the files (in PostgreSQL) and decides who
// sees and downloads what; the console carries the multipart form to it and streams a
// download back as an attachment, never as a page of this origin.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// maxResourceFile is the largest file the library takes (knowledge's limit, said here so
// that the page refuses it before sending it on).
const maxResourceFile = 10 << 20

// maxResourceForm is the largest upload form: the file and its few fields.
const maxResourceForm = maxResourceFile + 64<<10

// kAsset is an asset as knowledge shows it.
type kAsset struct {
	ID         string   `json:"id"`
	CoPID      string   `json:"cop_id"`
	Title      string   `json:"title"`
	URL        string   `json:"url"`
	Topics     []string `json:"topics"`
	Licence    string   `json:"licence"`
	Visibility string   `json:"visibility"`
	SharedBy   string   `json:"shared_by"`
	File       *struct {
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
	} `json:"file"`
	CreatedAt time.Time `json:"created_at"`
}

// SizeWords says a file's size as people read it.
func (a kAsset) SizeWords() string {
	if a.File == nil {
		return ""
	}
	n := a.File.Size
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+1<<9)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// VisibilityWords says who sees an asset.
func (a kAsset) VisibilityWords() string {
	switch a.Visibility {
	case "cop":
		return "This CoP"
	case "region":
		return "CoPs of the region"
	}
	return "Everyone in the network"
}

// resourceForm is the library's form as posted; File is the uploaded file, if any.
type resourceForm struct {
	Title, Topics, URL, Licence, Visibility string
	FileName                                string
	File                                    []byte
}

var resourceLimits = map[string]int{"title": 200, "topics": 2000, "url": 2000, "licence": 100, "visibility": 10}

// parseResourceForm reads the library's multipart form (or a plain one, for a link): text
// fields as UTF-8 within their size, visibility one of cop, region, national, and either a
// link or a file of at most 10 MiB (413 over it, before anything is sent on).
func parseResourceForm(r *http.Request) (resourceForm, error) {
	var f resourceForm
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return f, apperr.TooLarge("file", "is larger than 10 MiB")
		}
		return f, apperr.Invalid("body", "is not a readable form")
	}
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f = resourceForm{Title: get("title"), Topics: get("topics"), URL: get("url"), Licence: get("licence"), Visibility: get("visibility")}
	var fields []apperr.FieldError
	for k, v := range map[string]string{"title": f.Title, "topics": f.Topics, "url": f.URL, "licence": f.Licence, "visibility": f.Visibility} {
		if msg := textProblem(v, resourceLimits[k]); msg != "" {
			fields = append(fields, apperr.FieldError{Field: k, Message: msg})
		}
	}
	if f.Visibility != "cop" && f.Visibility != "region" && f.Visibility != "national" {
		fields = append(fields, apperr.FieldError{Field: "visibility", Message: "must be cop, region or national"})
	}
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > maxResourceFile {
				return f, apperr.TooLarge("file", "is larger than 10 MiB")
			}
			file, err := fhs[0].Open()
			if err != nil {
				return f, apperr.Invalid("file", "could not be read")
			}
			defer file.Close()
			if f.File, err = io.ReadAll(io.LimitReader(file, maxResourceFile+1)); err != nil {
				return f, apperr.Invalid("file", "could not be read")
			}
			f.FileName = fhs[0].Filename
			if msg := textProblem(f.FileName, 200); msg != "" {
				fields = append(fields, apperr.FieldError{Field: "file", Message: "its name " + msg})
			}
		}
	}
	if f.File == nil && f.URL == "" {
		fields = append(fields, apperr.FieldError{Field: "file", Message: "choose a file to upload, or give a link"})
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// resourcesPageData is what resources.html shows.
type resourcesPageData struct {
	pageData
	CoPID, CoPName string
	Assets         []kAsset
	Form           resourceForm
	Fields         map[string]string
	// CanShare: the caller's grants let them share into this CoP's library (knowledge
	// decides; this only spares others a form that would be refused).
	CanShare bool
}

var resourceNotices = map[string]string{"shared": "Shared. It is in the library below for everyone its visibility allows."}

func (w *Web) resourcesPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderResources(rw, r, c, http.StatusOK, resourceForm{Visibility: "cop"}, resourceNotices[r.URL.Query().Get("notice")], "", nil)
}

func (w *Web) renderResources(rw http.ResponseWriter, r *http.Request, c caller, status int, f resourceForm, notice, problem string, fields map[string]string) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var list struct {
		Assets []kAsset `json:"assets"`
	}
	if err := w.readAPI(r, c, "/v1/assets?"+url.Values{"cop": {id}}.Encode(), &list); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	name := w.copName(r, id)
	canShare := c.claims.IsNational() || c.claims.IsCoordinatorOf(id) || c.claims.IsMemberOf(id)
	if !canShare {
		region, err := w.store.RegionOf(r.Context(), id)
		canShare = err == nil && c.claims.IsHubOf(region)
	}
	w.pages.render(rw, r, status, "resources", resourcesPageData{
		pageData: pageData{Title: "Resources · " + name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice, Error: problem},
		CoPID:    id, CoPName: name, Assets: list.Assets, Form: f, Fields: fields, CanShare: canShare})
}

// shareResource forwards a link (JSON) or a file (multipart) to knowledge.
func (w *Web) shareResource(rw http.ResponseWriter, r *http.Request) {
	// The form carries a file: its body may be larger than any other form's.
	httpx.RaiseBodyLimit(r, maxResourceForm)
	f, err := parseResourceForm(r)
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Kind == apperr.KindTooLarge {
		// A body over the limit was not read whole, its CSRF token included; nothing is
		// done with it, so the person is only told why, on the page they came from.
		if c, ok := w.whoIs(r); ok {
			if f.Visibility == "" {
				f.Visibility = "cop"
			}
			w.renderResources(rw, r, c, http.StatusRequestEntityTooLarge, f, "",
				"Not shared: the file is larger than 10 MB. Choose a smaller file (or share a link to it) and fill in the form again.", nil)
			return
		}
		httpx.WriteProblem(rw, r, err)
		return
	}
	c, ok := w.formCaller(rw, r, "sign in to share a resource")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err == nil {
		err = checkID("id", id)
	}
	if err != nil {
		if errors.As(err, &ae) && len(ae.Fields) > 0 {
			w.renderResources(rw, r, c, http.StatusBadRequest, f, "", "Please check the form.", fieldMap(ae.Fields))
			return
		}
		httpx.WriteProblem(rw, r, err)
		return
	}
	topics := list(f.Topics, ",")
	var status int
	var detail string
	if f.File != nil {
		status, detail, err = w.upload(r, c, id, f, topics)
	} else {
		body, _ := json.Marshal(map[string]any{"cop_id": id, "title": f.Title, "url": f.URL, "topics": topics,
			"licence": f.Licence, "visibility": f.Visibility})
		status, detail, err = w.callAPI(r, c.token, http.MethodPost, "/v1/assets", body, nil)
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a resource to knowledge", "cop", id, "error", err)
		w.renderResources(rw, r, c, http.StatusBadGateway, f, "", "The library could not be reached; nothing was shared. Try again in a moment.", nil)
		return
	}
	if status >= 300 {
		w.renderResources(rw, r, c, status, f, "", "Not shared: "+detail, nil)
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/resources?notice=shared", http.StatusSeeOther)
}

// upload sends a file to knowledge as the multipart form its API takes.
func (w *Web) upload(r *http.Request, c caller, cop string, f resourceForm, topics []string) (int, string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"cop_id": cop, "title": f.Title, "topics": strings.Join(topics, ","),
		"licence": f.Licence, "visibility": f.Visibility} {
		if err := mw.WriteField(k, v); err != nil {
			return 0, "", err
		}
	}
	fw, err := mw.CreateFormFile("file", f.FileName)
	if err != nil {
		return 0, "", err
	}
	if _, err := fw.Write(f.File); err != nil {
		return 0, "", err
	}
	if err := mw.Close(); err != nil {
		return 0, "", err
	}
	res, err := w.apiRequest(r, c, http.MethodPost, "/v1/assets/files", mw.FormDataContentType(), &body)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if res.StatusCode < 300 {
		return res.StatusCode, "", nil
	}
	var p httpx.Problem
	_ = json.Unmarshal(raw, &p)
	if p.Detail == "" {
		p.Detail = http.StatusText(res.StatusCode)
	}
	return res.StatusCode, p.Detail, nil
}

// apiRequest sends a request that is not JSON to the services with the caller's token and
// returns the answer unread.
func (w *Web) apiRequest(r *http.Request, c caller, method, path, contentType string, body io.Reader) (*http.Response, error) {
	base, err := w.apiBase(r)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		cancel()
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if id := httpx.CorrelationID(r.Context()); id != "" {
		req.Header.Set(httpx.CorrelationHeader, id)
	}
	req.Header.Set(httpx.ForwardedFor, httpx.ClientKey(r))
	res, err := w.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	res.Body = cancelOnClose{res.Body, cancel}
	return res, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// downloadResource streams an uploaded file from knowledge to the person, with the
// headers knowledge set (attachment, sniffed type, nosniff); a refusal is a page.
func (w *Web) downloadResource(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	asset := r.PathValue("asset")
	if err := checkID("asset", asset); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	res, err := w.apiRequest(r, c, http.MethodGet, "/v1/assets/"+url.PathEscape(asset)+"/file", "", nil)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var p httpx.Problem
		_ = json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(&p)
		w.pageError(rw, r, c, apiError(res.StatusCode, p.Detail, nil))
		return
	}
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length", "Content-Security-Policy"} {
		if v := res.Header.Get(k); v != "" {
			rw.Header().Set(k, v)
		}
	}
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Cache-Control", "private, no-store")
	if !strings.HasPrefix(rw.Header().Get("Content-Disposition"), "attachment") {
		rw.Header().Set("Content-Disposition", "attachment")
	}
	rw.WriteHeader(http.StatusOK)
	_, _ = io.Copy(rw, res.Body)
}
