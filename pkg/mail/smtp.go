package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sender hands one composed mail to whatever delivers it. An error wrapped by Permanent
// means trying again cannot help (the recipient is refused, the address is malformed); any
// other error is retried later.
type Sender interface {
	Send(ctx context.Context, from string, m Mail) error
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure no retry can mend: the worker gives the mail up at once.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// SMTPConfig is a parsed COPNET_SMTP_URL.
type SMTPConfig struct {
	// Host and Port are where the server listens (Port defaults to 25 for smtp://, 465
	// for smtps://).
	Host string
	Port string
	// ImplicitTLS is smtps://: TLS from the first byte. With smtp:// the connection is
	// upgraded with STARTTLS whenever the server offers it.
	ImplicitTLS bool
	// Username and Password, when given, authenticate with AUTH PLAIN, which net/smtp
	// sends only over TLS or to a server on the loopback interface.
	Username string
	Password string
}

// Addr is host:port.
func (c SMTPConfig) Addr() string { return net.JoinHostPort(c.Host, c.Port) }

// ParseSMTPURL reads smtp://[user[:password]@]host[:port] or smtps://... . Its errors never
// repeat the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the whole input, password included.
		return SMTPConfig{}, errors.New("is not a URL such as smtp://user:password@mail.example.org:587")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = "25"
	case "smtps":
		c.ImplicitTLS, c.Port = true, "465"
	default:
		return SMTPConfig{}, errors.New("must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || u.Host == "" {
		return SMTPConfig{}, errors.New("must name a host, as in smtp://mail.example.org:587")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return SMTPConfig{}, errors.New("must be scheme, credentials, host and port only")
	}
	c.Host = u.Hostname()
	if c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n%/") {
		return SMTPConfig{}, errors.New("must name a host, as in smtp://mail.example.org:587")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, errors.New("has a port outside 1-65535")
		}
		c.Port = strconv.Itoa(n)
	} else if strings.HasSuffix(u.Host, ":") {
		return SMTPConfig{}, errors.New("has an empty port")
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return SMTPConfig{}, errors.New("has a password without a user name")
		}
		if strings.ContainsAny(c.Username+c.Password, "\x00\r\n") {
			return SMTPConfig{}, errors.New("has control characters in its credentials")
		}
	}
	return c, nil
}

// SMTP sends through the server at URL (COPNET_SMTP_URL), one connection per mail: a
// transactional mail is rare enough that a pool of connections is not worth its failure
// modes.
type SMTP struct {
	URL string
	// Timeout bounds one whole delivery when ctx has no earlier deadline (default 30s).
	Timeout time.Duration
	// TLSConfig, when set, is used for STARTTLS and smtps:// (its ServerName is filled in
	// from the URL when empty); tests trust their own server's certificate with it.
	TLSConfig *tls.Config
	// HelloName is the name given in EHLO (default "localhost").
	HelloName string
}

// Send delivers m. A refusal of the recipient or of the message itself (a 5xx reply to
// RCPT TO or to the data) is Permanent; a server that cannot be reached, or a 4xx reply, is
// not.
func (s SMTP) Send(ctx context.Context, from string, m Mail) error {
	h, err := s.Begin(ctx, from, m)
	if err != nil {
		return err
	}
	return h.Finish()
}

// Handover is a mail whose data the server has, all but its end: the server takes the
// mail only when Finish ends the data, and drops it if Abort (or a crash) closes the
// connection first.
type Handover interface {
	// Finish ends the data and returns the server's answer (see Send for which errors are
	// Permanent).
	Finish() error
	// Abort closes the connection without ending the data.
	Abort()
}

// HandOverSender is a Sender that can stop just before the point of no return, so that the
// Worker records a mail sent before the server has it (Worker.HandOverFirst).
type HandOverSender interface {
	Sender
	Begin(ctx context.Context, from string, m Mail) (Handover, error)
}

type smtpHandover struct {
	c      *smtp.Client
	conn   net.Conn
	data   io.WriteCloser
	cancel context.CancelFunc
	stop   func() bool
}

func (h *smtpHandover) Finish() error {
	defer h.close()
	if err := h.data.Close(); err != nil {
		return permanentIf5xx(fmt.Errorf("smtp: end of DATA: %w", err))
	}
	// The server has the mail once it answered the data; a failed QUIT changes nothing.
	_ = h.c.Quit()
	return nil
}

func (h *smtpHandover) Abort() { h.close() }

func (h *smtpHandover) close() {
	h.stop()
	h.cancel()
	_ = h.c.Close()
	_ = h.conn.Close()
}

// Begin connects, names the sender and recipient and writes the whole mail but the end of
// its data.
func (s SMTP) Begin(ctx context.Context, from string, m Mail) (_ Handover, err error) {
	cfg, err := ParseSMTPURL(s.URL)
	if err != nil {
		return nil, fmt.Errorf("COPNET_SMTP_URL %w", err)
	}
	msg, err := Compose(from, m)
	if err != nil {
		return nil, err
	}
	fromAddr, _ := envelopeAddress(from) // Compose checked both
	toAddr, _ := envelopeAddress(m.To)

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("smtp: %w", err)
	}
	// net/smtp takes no context: cancelling ours ends any read or write in flight.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	h := &smtpHandover{conn: conn, cancel: cancel, stop: stop}
	defer func() {
		if err != nil {
			stop()
			cancel()
			if h.c != nil {
				_ = h.c.Close()
			}
			_ = conn.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}

	tlsConfig := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tlsConfig = s.TLSConfig.Clone()
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = cfg.Host
		}
	}
	c2 := conn
	if cfg.ImplicitTLS {
		c2 = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(c2, cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("smtp: greeting: %w", err)
	}
	h.c = c
	if s.HelloName != "" {
		if err := c.Hello(s.HelloName); err != nil {
			return nil, fmt.Errorf("smtp: EHLO: %w", err)
		}
	}
	if !cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return nil, fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		}
	}
	if cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, errors.New("smtp: COPNET_SMTP_URL has credentials but the server offers no AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)); err != nil {
			return nil, fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(fromAddr); err != nil {
		// The sender refused is the operator's to fix (COPNET_MAIL_FROM); retried.
		return nil, fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(toAddr); err != nil {
		return nil, permanentIf5xx(fmt.Errorf("smtp: RCPT TO: %w", err))
	}
	w, err := c.Data()
	if err != nil {
		return nil, permanentIf5xx(fmt.Errorf("smtp: DATA: %w", err))
	}
	if _, err := w.Write(msg); err != nil {
		return nil, fmt.Errorf("smtp: DATA: %w", err)
	}
	h.data = w
	return h, nil
}

// permanentIf5xx marks a permanent negative reply (RFC 5321 4.2.1) as such.
func permanentIf5xx(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return Permanent(err)
	}
	return err
}
