package mail

import (
	"errors"
	"fmt"
	"path/filepath"
)

// DefaultFrom is the sender when COPNET_MAIL_FROM is unset and no SMTP server is configured:
// mail then stays on the machine (Dir), so no real domain is needed.
const DefaultFrom = "copnet <copnet@localhost>"

// Settings say how a service sends mail; load them with config.Load, which calls Validate.
type Settings struct {
	// SMTPURL is the SMTP server: smtp://[user:password@]host[:port] (STARTTLS when the
	// server offers it) or smtps://... (TLS from the start). Empty means no server: the
	// all-in-one keeps mail in its data directory (Dir) and shows it on LoopbackPage;
	// split services refuse to start without one (RequireSMTP).
	SMTPURL string `envconfig:"COPNET_SMTP_URL"`
	// From is the sender of every mail, e.g. "copnet <no-reply@cop.example.org>";
	// required with an SMTP server, whose receivers judge mail by its sender's domain.
	From string `envconfig:"COPNET_MAIL_FROM"`
}

// Validate implements config.Validator. Its messages never repeat the SMTP password.
func (s Settings) Validate() error {
	var errs []error
	if s.SMTPURL != "" {
		if _, err := ParseSMTPURL(s.SMTPURL); err != nil {
			errs = append(errs, fmt.Errorf("COPNET_SMTP_URL %w", err))
		}
		if s.From == "" {
			errs = append(errs, errors.New("COPNET_MAIL_FROM is required when COPNET_SMTP_URL is set"))
		}
	}
	if s.From != "" {
		if _, err := envelopeAddress(s.From); err != nil {
			errs = append(errs, fmt.Errorf("COPNET_MAIL_FROM %q %s", s.From, err))
		}
	}
	return errors.Join(errs...)
}

// RequireSMTP reports a missing COPNET_SMTP_URL, for a service running as its own process,
// which has no page to show kept mail on.
func (s Settings) RequireSMTP() error {
	if s.SMTPURL == "" {
		return errors.New("COPNET_SMTP_URL is required (smtp://host:port or smtps://host:port)")
	}
	return nil
}

// Sender is the SMTP sender, or, with no SMTP server configured, a Dir at dataDir/mail. The
// all-in-one says which at start (Describe) so an operator knows where mail goes.
func (s Settings) Sender(dataDir string) Sender {
	if s.SMTPURL != "" {
		return SMTP{URL: s.SMTPURL}
	}
	return Dir{Path: MailDir(dataDir)}
}

// MailDir is where the all-in-one keeps mail without SMTP: "mail" in its data directory.
func MailDir(dataDir string) string {
	return filepath.Join(dataDir, "mail")
}

// FromAddress is From, or DefaultFrom when it is unset.
func (s Settings) FromAddress() string {
	if s.From != "" {
		return s.From
	}
	return DefaultFrom
}

// Describe is one line for the start-up log saying where mail goes, without credentials:
// "mail: SMTP smtp://mail.example.org:587" or "mail: no SMTP server (COPNET_SMTP_URL); kept
// in DIR and shown at PAGE to this machine only".
func (s Settings) Describe(dataDir, pageURL string) string {
	if s.SMTPURL != "" {
		c, err := ParseSMTPURL(s.SMTPURL)
		if err != nil {
			return "mail: COPNET_SMTP_URL is invalid"
		}
		scheme := "smtp"
		if c.ImplicitTLS {
			scheme = "smtps"
		}
		return fmt.Sprintf("mail: sent through %s://%s as %s", scheme, c.Addr(), s.FromAddress())
	}
	return fmt.Sprintf("mail: no SMTP server configured (COPNET_SMTP_URL), so outgoing mail is kept in %s and shown at %s to this machine only",
		MailDir(dataDir), pageURL)
}
