package console_test

// The network reports driven through pages in real Chromium: the north hub opens its
// region page (each CoP's health with its trend and declining flag), opens the printable
// report (also as printed), downloads its CSV, and opens a CoP's report; national opens
// the national report. At a phone's width and a desktop's, every page checked by axe-core
// and for sideways scrolling, with screenshots in testdata/artifacts.

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/copnet/copnet/pkg/httpx"
	chromium "github.com/copnet/copnet/pkg/testkit/browser"
	"github.com/copnet/copnet/services/console/internal/ports"
)

// reportPage screenshots the page, fails on sideways scrolling and axe-core's serious or
// critical findings, then screenshots it again as printed.
func reportPage(t *testing.T, ctx context.Context, axe, name string, width int, printed bool) {
	t.Helper()
	what := fmt.Sprintf("%s at %d px", name, width)
	screenshot(t, ctx, fmt.Sprintf("report-%s-%d", name, width))
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowCheck))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
	chromium.CheckAccessibility(t, ctx, axe, what)
	if !printed {
		return
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatalf("emulate print: %v", err)
	}
	// On paper: no navigation, no buttons, the scope and date in the header.
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`["header.top", "#print", "footer"].every(s => {
		const el = document.querySelector(s); return !el || el.getClientRects().length === 0; })`))
	if err != nil || !hidden {
		t.Errorf("%s printed still shows the navigation or the print button (%v)", what, err)
	}
	screenshot(t, ctx, fmt.Sprintf("report-%s-%d-print", name, width))
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""}); err != nil {
		t.Fatalf("end print emulation: %v", err)
	}
}

// download fetches the link sel points to as the browser would, with its cookies.
func download(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const a = document.querySelector(`+"`"+sel+"`"+`);
		const r = await fetch(a.href);
		if (!r.ok || !r.headers.get("content-type").startsWith("text/csv")) throw new Error("download: " + r.status);
		return await r.text(); })()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download %s: %v", sel, err)
	}
	return body
}

func TestNetworkReportJourneyInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: real Chromium")
	}
	n := startConsole(t)
	evs := scenario(time.Now())
	n.Publish(t, evs...)
	settled(t, n, len(evs))
	axe := chromium.AxeSource(t)

	for _, width := range []int{chromium.PhoneWidth, chromium.DesktopWidth} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			hubB := chromium.New(t, width)
			withAccess(t, hubB, n.URL, hub(t, n, "north"))
			if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/regions/north"), chromedp.WaitVisible(`#health tr[data-cop="n1"]`)); err != nil {
				t.Fatalf("region page: %v", err)
			}
			row := text(t, hubB, `#health tr[data-cop="n1"]`)
			for _, want := range []string{"Nurses North", "Active", "Coalescing", "Version 1", "rising, 50% to 80% over 2 sessions", "Declining"} {
				if !strings.Contains(row, want) {
					t.Errorf("n1's health row %q lacks %q", row, want)
				}
			}
			reportPage(t, hubB, axe, "region", width, false)

			if err := chromedp.Do(hubB, chromedp.Click(`#region-report`), chromedp.WaitVisible(`#report-cops`)); err != nil {
				t.Fatalf("open the region's report: %v", err)
			}
			if scope := text(t, hubB, `#report-scope`); !strings.Contains(scope, "region Northland (north)") || !strings.Contains(scope, "As of") {
				t.Errorf("report header %q lacks the scope or the date", scope)
			}
			reportPage(t, hubB, axe, "region-report", width, true)

			raw := download(t, hubB, `#report-csv`)
			rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
			if err != nil {
				t.Fatalf("the CSV does not parse: %v\n%s", err, raw)
			}
			h := ports.ReportCSVHeader()
			if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(h, ",") || rows[1][1] != "north" ||
				cell(t, h, rows[1], "requests_answered") != "1" || cell(t, h, rows[1], "overlaps_coordinated") != "1" {
				t.Errorf("downloaded CSV = %q", rows)
			}

			if err := chromedp.Do(hubB, chromedp.Navigate(n.URL+"/cops/n1/report"), chromedp.WaitVisible(`#report-sessions`)); err != nil {
				t.Fatalf("open n1's report: %v", err)
			}
			reportPage(t, hubB, axe, "cop-report", width, true)

			nat := chromium.New(t, width)
			withAccess(t, nat, n.URL, national(t, n))
			if err := chromedp.Do(nat, chromedp.Navigate(n.URL+"/"), chromedp.WaitVisible(`#national-report`),
				chromedp.Click(`#national-report`), chromedp.WaitVisible(`#coordination`)); err != nil {
				t.Fatalf("open the national report: %v", err)
			}
			if got := text(t, nat, `#report-totals [data-figure="requests_answered"]`); got != "2 of 3" {
				t.Errorf("national requests answered = %q, want 2 of 3", got)
			}
			reportPage(t, nat, axe, "national-report", width, true)
		})
	}
}

// withAccess gives the browser ctx the access cookie of token, as after a sign-in.
func withAccess(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: httpx.AccessCookie, Value: token, URL: base}); err != nil {
		t.Fatalf("set the access cookie: %v", err)
	}
}
