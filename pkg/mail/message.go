package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// Compose renders m from from as an RFC 5322 message with CRLF line ends: From, To,
// Subject (RFC 2047-encoded when not ASCII), Date, Message-ID, MIME-Version, and a
// quoted-printable text body, or a multipart/alternative of text and HTML. Every line is
// 7-bit ASCII, so any SMTP server carries it unchanged. An error means the mail can never
// be sent (Permanent).
func Compose(from string, m Mail) ([]byte, error) {
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, Permanent(fmt.Errorf("sender address: %w", err))
	}
	if _, err := envelopeAddress(from); err != nil {
		return nil, Permanent(fmt.Errorf("sender address %s", err))
	}
	if err := m.Validate(); err != nil {
		return nil, Permanent(err)
	}
	toAddr, _ := mail.ParseAddress(m.To) // Validate parsed it
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := m.MessageID
	if id == "" {
		id = newToken() + "@" + domainOf(fromAddr.Address)
	}
	if strings.ContainsAny(id, "<>\r\n \t") {
		return nil, Permanent(fmt.Errorf("message id %q is not a msg-id", id))
	}

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	// net/mail's Address.String encodes a non-ASCII display name as RFC 2047 words.
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", encodeText(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+id+">")
	// RFC 3834: a machine wrote this, so auto-responders (out of office) stay quiet.
	header("Auto-Submitted", "auto-generated")
	if m.ListUnsubscribe != "" {
		// RFC 2369 and RFC 8058: mail clients offer a one-click unsubscribe.
		header("List-Unsubscribe", "<"+m.ListUnsubscribe+">")
		header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	header("MIME-Version", "1.0")
	if len(m.Attachments) > 0 {
		return composeMixed(&b, m)
	}
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// Least preferred first (RFC 2046 5.1.4): clients that can show HTML pick the last part.
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// writeQP writes s quoted-printable, its line ends (LF, CRLF or a lone CR) as CRLF, ending
// with one.
func writeQP(w io.Writer, s string) error {
	s = normalizeNewlines(s)
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(s)); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	if !strings.HasSuffix(s, "\n") {
		_, err := w.Write([]byte("\r\n"))
		return err
	}
	return nil
}

// domainOf is the part of an address after its last '@': all the logs say of a recipient.
func domainOf(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "?"
}

// normalizeNewlines makes every line end of s (CRLF, or a lone CR, which quoted-printable
// turns into a line break too) an LF: what a reader of the mail gets back.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// encodeText is an unstructured header value (the subject) as it goes on the wire: as it is
// when it is printable ASCII that no reader would change, or else as RFC 2047 encoded words
// of at most 75 characters on folded lines. mime.QEncoding is not enough: it leaves an
// ASCII value alone even when it holds "=?" (which readers would decode) or spaces at its
// ends (which they strip), and it puts every word on one line, past 998 characters for a
// long subject.
func encodeText(s string) string {
	plain := s == strings.TrimSpace(s) && !strings.Contains(s, "=?")
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= ' ' && s[i] <= '~'
	}
	if plain {
		return s
	}
	const prefix, suffix = "=?utf-8?q?", "?="
	const room = 75 - len(prefix) - len(suffix)
	var words []string
	var cur strings.Builder
	for _, r := range s {
		var enc strings.Builder
		var buf [utf8.UTFMax]byte
		for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
			switch {
			case b == ' ':
				enc.WriteByte('_')
			case b > ' ' && b <= '~' && b != '=' && b != '?' && b != '_':
				enc.WriteByte(b)
			default:
				fmt.Fprintf(&enc, "=%02X", b)
			}
		}
		// Words end between characters, never inside one (RFC 2047 5).
		if cur.Len()+enc.Len() > room {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
		}
		cur.WriteString(enc.String())
	}
	words = append(words, prefix+cur.String()+suffix)
	return strings.Join(words, "\r\n ")
}

// composeMixed writes the body of a mail with attachments: a multipart/mixed of the text (or
// the alternative of text and HTML) and each attachment in base64.
func composeMixed(b *bytes.Buffer, m Mail) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}) + "\r\n\r\n")
	if m.HTML == "" {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {"text/plain; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, m.Text); err != nil {
			return nil, err
		}
	} else {
		var alt bytes.Buffer
		aw := multipart.NewWriter(&alt)
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": aw.Boundary()})}})
		if err != nil {
			return nil, err
		}
		for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			pw, err := aw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {part.typ + "; charset=utf-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, err
			}
			if err := writeQP(pw, part.body); err != nil {
				return nil, err
			}
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		if _, err := w.Write(alt.Bytes()); err != nil {
			return nil, err
		}
	}
	for _, a := range m.Attachments {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {a.ContentType},
			"Content-Transfer-Encoding": {"base64"},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(a.Data)
		for len(enc) > 76 {
			w.Write([]byte(enc[:76] + "\r\n")) //nolint:errcheck // a bytes.Buffer
			enc = enc[76:]
		}
		w.Write([]byte(enc + "\r\n")) //nolint:errcheck // a bytes.Buffer
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}
