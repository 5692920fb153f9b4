// Package browser starts real headless Chromium (Debian's chromium package) for tests that
// walk through pages as a person does, passkeys included: a DevTools virtual authenticator
// answers navigator.credentials.create and .get as a platform authenticator with a
// fingerprint reader would, so no human touches anything.
//
// It follows the console's browser test (services/console/browser_test.go): the same
// Chromium flags, a fresh profile per browser, page CSP bypassed so that scripts such as
// axe-core can be injected through the DevTools protocol.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Viewport widths the project's pages are checked at.
const (
	PhoneWidth   = 390
	DesktopWidth = 1280
)

// viewportHeight is a phone's and a laptop's visible height alike; full-page screenshots
// capture beyond it anyway.
const viewportHeight = 900

// budget bounds everything one browser does, so that a page that never shows what a test
// waits for fails the test instead of hanging it until go test's own timeout.
const budget = 3 * time.Minute

// installOnce keeps parallel tests from running apt-get at the same time.
var installOnce sync.Mutex

// ensureChromium installs Debian's chromium when it is missing and the test may (root);
// otherwise it fails saying what to do. A browser test that skips proves nothing.
func ensureChromium(t testing.TB) {
	t.Helper()
	installOnce.Lock()
	defer installOnce.Unlock()
	if _, err := os.Stat(ChromiumPath); err == nil {
		return
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is missing: install Debian's chromium package (apt-get install -y chromium) and run again", ChromiumPath)
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// New starts a headless Chromium with its own profile (so its own cookies and passkeys)
// for one person, with a viewport width pixels wide (PhoneWidth, DesktopWidth), and
// returns the context that chromedp actions run in. The browser is closed when the test
// ends; everything run in the context fails after three minutes.
func New(t testing.TB, width int) context.Context {
	t.Helper()
	ensureChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		// Tests run as root in a container, where Chromium's sandbox cannot start.
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		// Nothing but the tests' own servers is reachable: no update checks, no sync.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		// /dev/shm is small in containers; a full one crashes tabs.
		chromedp.Flag("disable-dev-shm-usage", true),
		// Phones draw no scrollbar beside the page: without this the page was laid out 15 px
		// narrower than the width asked for, and full-page screenshots lost their right edge.
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(width, viewportHeight),
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first action starts the browser, which then lives as long as the context of
	// that action (see chromedp.Run): it runs without the budget, which would otherwise
	// kill the browser itself rather than fail one action.
	// Bypassing the pages' CSP lets tests inject scripts (axe-core) through DevTools.
	if _, err := chromedp.Call(browserCtx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatalf("browser: start chromium: %v", err)
	}
	// The window size alone does not hold below Chromium's minimum window width; the
	// emulated viewport does, at any width.
	if err := chromedp.Do(browserCtx, chromedp.EmulateViewport(int64(width), viewportHeight)); err != nil {
		t.Fatalf("browser: set the viewport to %d px: %v", width, err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, budget)
	t.Cleanup(cancel)
	return ctx
}

// VirtualAuthenticator enables the WebAuthn domain on the browser's page and adds a virtual
// authenticator that behaves like a phone's or laptop's built-in one with biometrics:
// CTAP2 over the internal transport, discoverable credentials (passkeys), user verification
// that always succeeds, and presence confirmed without a touch. From then on the page's
// navigator.credentials.create and .get are answered by it; nothing is shown on screen.
func VirtualAuthenticator(ctx context.Context) (webauthn.AuthenticatorID, error) {
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		return "", fmt.Errorf("browser: enable WebAuthn: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("browser: add a virtual authenticator: %w", err)
	}
	return res.AuthenticatorID, nil
}

// Credentials lists the credentials the virtual authenticator id holds: what a person's
// device would have stored after signing up with a passkey.
func Credentials(ctx context.Context, id webauthn.AuthenticatorID) ([]*webauthn.Credential, error) {
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		return nil, fmt.Errorf("browser: credentials of authenticator %s: %w", id, err)
	}
	return res.Credentials, nil
}

// Screenshot writes a PNG of the whole page, beyond the viewport too, to path (creating its
// directory), for people to look at what a test saw.
func Screenshot(ctx context.Context, path string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("browser: screenshot: %w", err)
	}
	return nil
}

// ArtifactsDir is where a test package keeps the screenshots for people to look at,
// relative to the package (git ignores it).
var ArtifactsDir = filepath.Join("testdata", "artifacts")

// Shoot saves a full-page screenshot as ArtifactsDir/name.png and logs where.
func Shoot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	path := filepath.Join(ArtifactsDir, name+".png")
	if err := Screenshot(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// Fits fails the test when the page scrolls sideways at the browser's width.
func Fits(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if wide {
		t.Errorf("%s scrolls sideways", what)
	}
}
