package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Dir keeps each mail as an .eml file in Path, for an all-in-one with no SMTP server: the
// operator reads them on LoopbackPage (or with any mail client). The files hold sign-in
// links, so the directory is private to the process's user (0700, files 0600).
type Dir struct {
	Path string
}

// Send writes m to its file. The file name comes from the Message-ID, so a mail the worker
// sends twice (see the package documentation) is written over, not doubled.
func (d Dir) Send(_ context.Context, from string, m Mail) error {
	msg, err := Compose(from, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	// MkdirAll leaves an existing directory's mode alone; the links inside are secrets.
	if err := os.Chmod(d.Path, 0o700); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	key := m.MessageID
	if key == "" {
		key = string(msg)
	}
	sum := sha256.Sum256([]byte(key))
	name := date.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(sum[:8]) + ".eml"
	// Written whole or not at all: a reader never sees half a mail.
	f, err := os.CreateTemp(d.Path, ".tmp-*")
	if err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("mail dir: %w", err)
	}
	if _, err := f.Write(msg); err != nil {
		f.Close()
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(d.Path, name)); err != nil {
		return fmt.Errorf("mail dir: %w", err)
	}
	return nil
}

// Stored is a mail read back from a Dir.
type Stored struct {
	// File is the file's name within the directory.
	File      string
	MessageID string
	From      string
	To        string
	Subject   string
	Date      time.Time
	// Text and HTML are the decoded bodies, with LF line ends.
	Text string
	HTML string
}

// maxStored bounds how much of one file List reads: far more than any mail Compose writes.
const maxStored = 4 << 20

// List reads every mail in the directory, newest first. A file it cannot read is left out
// and named in the returned error, beside the mails it could read. A directory that does
// not exist yet holds no mail.
func (d Dir) List() ([]Stored, error) {
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail dir: %w", err)
	}
	var out []Stored
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s, err := readFile(filepath.Join(d.Path, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
			continue
		}
		s.File = e.Name()
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.After(out[j].Date)
		}
		return out[i].File > out[j].File
	})
	return out, errors.Join(errs...)
}

func readFile(path string) (Stored, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stored{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStored+1))
	if err != nil {
		return Stored{}, err
	}
	if len(b) > maxStored {
		return Stored{}, fmt.Errorf("larger than %d bytes", maxStored)
	}
	return ReadMessage(b)
}

// maxParts bounds the parts of a multipart body ReadMessage looks at.
const maxParts = 16

// ReadMessage decodes an RFC 5322 message as Compose writes it (and the common shapes of
// others): headers with RFC 2047 words decoded, a text/plain and an optional text/html
// body, in quoted-printable, base64, 7bit or 8bit, directly or in a multipart/alternative
// or multipart/mixed. Files in a data directory are outside input, so nothing here trusts
// them beyond what it checks.
func ReadMessage(raw []byte) (Stored, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Stored{}, err
	}
	var dec mime.WordDecoder
	word := func(k string) string {
		v := msg.Header.Get(k)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	s := Stored{
		MessageID: strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>"),
		From:      word("From"),
		To:        word("To"),
		Subject:   word("Subject"),
	}
	if d, err := msg.Header.Date(); err == nil {
		s.Date = d
	}
	if err := readBody(&s, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return Stored{}, err
	}
	return s, nil
}

func readBody(s *Stored, contentType, encoding string, body io.Reader, depth int) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	typ, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type: %w", err)
	}
	if strings.HasPrefix(typ, "multipart/") {
		if depth > 2 {
			return errors.New("multipart nested too deep")
		}
		boundary := params["boundary"]
		if boundary == "" {
			return errors.New("multipart without a boundary")
		}
		mr := multipart.NewReader(body, boundary)
		for i := 0; ; i++ {
			if i == maxParts {
				return fmt.Errorf("more than %d parts", maxParts)
			}
			// NextPart decodes a quoted-printable part itself and drops the header.
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			err = readBody(s, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1)
			p.Close()
			if err != nil {
				return err
			}
		}
	}
	if typ != "text/plain" && typ != "text/html" {
		return nil // an attachment or an image: not shown
	}
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "us-ascii":
	default:
		return fmt.Errorf("charset %q", cs)
	}
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	case "", "7bit", "8bit", "binary":
		r = body
	default:
		return fmt.Errorf("transfer encoding %q", encoding)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxStored+1))
	if err != nil {
		return fmt.Errorf("%s body: %w", typ, err)
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	if typ == "text/plain" && s.Text == "" {
		s.Text = text
	} else if typ == "text/html" && s.HTML == "" {
		s.HTML = text
	}
	return nil
}

// newlineStripper drops CR and LF, which base64 bodies are broken into lines with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		// Only a read of nothing but line ends is retried, so a source that returns
		// nothing (0, nil) cannot make this spin.
		if j > 0 || err != nil || k == 0 {
			return j, err
		}
	}
}
