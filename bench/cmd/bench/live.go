package main

// The live room: a crowd answering one open poll by room code, each participant a phone of
// its own (its own loopback source address, so the room limit per client address sees what
// it would see from real phones), against the all-in-one binary as operators run it.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
)

// Live is the live-room section.
type Live struct {
	// Room: Participants arriving evenly over Seconds, each reading the question and answering.
	Participants int     `json:"participants"`
	Seconds      float64 `json:"seconds"`
	Accepted     int     `json:"accepted"`
	Refused      int     `json:"refused"`
	Answer       Latency `json:"answer_latency"`
	Question     Latency `json:"question_latency"`
	// Presenter: how far the presenter's live results were behind the answers, per step of
	// the poll's minimum count (the results move in such steps), and after the last answer.
	Presenter      Latency `json:"presenter_lag"`
	PresenterFinal float64 `json:"presenter_final_lag_ms"`
	PresenterVia   string  `json:"presenter_via"`
	// Burst: answers as fast as Concurrency phones can send them.
	Concurrency int     `json:"concurrency"`
	BurstN      int     `json:"burst_answers"`
	AcceptedPS  float64 `json:"burst_accepted_per_s"`
	Burst       Latency `json:"burst_answer_latency"`
	// RSS of the copnet process after the room (peak and now), in MB.
	HWMMB float64 `json:"peak_rss_mb"`
	RSSMB float64 `json:"rss_mb"`
}

// phone is one participant's device: its own source address and connection.
func phone(i int) *http.Client {
	ip := net.IPv4(127, 1, byte(i/250), byte(i%250+1))
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}}
}

// answer is one participant: read the room's question, then answer it on a scale of 1-5.
func answer(ctx context.Context, base, code string, i int) (q, a time.Duration, ok bool, err error) {
	c := phone(i)
	defer c.CloseIdleConnections()
	t := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/polls/by-code/"+code+"/question", nil)
	res, err := c.Do(req)
	if err != nil {
		return 0, 0, false, err
	}
	res.Body.Close()
	q = time.Since(t)
	if res.StatusCode != http.StatusOK {
		return q, 0, false, fmt.Errorf("question: %d", res.StatusCode)
	}
	body := fmt.Sprintf(`{"device_token":"bench-device-%012d","answer":%d}`, i, 1+i%5)
	t = time.Now()
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/v1/polls/by-code/"+code+"/responses", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err = c.Do(req)
	if err != nil {
		return q, 0, false, err
	}
	res.Body.Close()
	return q, time.Since(t), res.StatusCode == http.StatusCreated, nil
}

// openPoll creates an open scale poll in cop and returns its id and room code.
func openPoll(ctx context.Context, base, cop string, minResponses int) (id, code string, err error) {
	var p struct{ ID, Code string }
	err = await(ctx, 60*time.Second, http.StatusCreated, "POST", base+"/v1/polls", nationalToken, map[string]any{
		"cop_id": cop, "kind": "scale", "question": "How confident are you to run this with your community?",
		"scale":    map[string]any{"min": 1, "max": 5, "labels": map[string]string{"1": "Not at all", "5": "Very"}},
		"audience": "open", "min_responses": minResponses,
	}, &p)
	return p.ID, p.Code, err
}

func runLive(ctx context.Context, cfg runConfig) (*Live, error) {
	a, err := startAllInOne(ctx, cfg, "copnet-live")
	if err != nil {
		return nil, err
	}
	defer a.stop()
	p, base := a.process, a.url
	t := target{registry: base, knowledge: base, console: base}
	cops, err := setupCoPs(ctx, t, "live", 1)
	if err != nil {
		return nil, fmt.Errorf("live setup: %w", err)
	}
	const k = 5
	out := &Live{Participants: cfg.liveParticipants, Seconds: cfg.liveWindow.Seconds(), Concurrency: cfg.concurrencyN}

	// The room: participants arrive evenly over the window while the presenter follows.
	pollID, code, err := openPoll(ctx, base, cops[0], k)
	if err != nil {
		return nil, err
	}
	followCtx, stopFollow := context.WithCancel(ctx)
	seen := make(chan presenterView, 1024)
	via, err := follow(followCtx, base, pollID, seen)
	if err != nil {
		stopFollow()
		return nil, fmt.Errorf("presenter: %w", err)
	}
	out.PresenterVia = via
	var mu sync.Mutex
	var views []presenterView
	var viewsDone sync.WaitGroup
	viewsDone.Add(1)
	go func() {
		defer viewsDone.Done()
		for v := range seen {
			mu.Lock()
			views = append(views, v)
			mu.Unlock()
		}
	}()
	var qs, as []time.Duration
	var accepted []time.Time // when each accepted answer's 201 arrived
	var refused atomic.Int64
	var wg sync.WaitGroup
	gap := cfg.liveWindow / time.Duration(max(1, cfg.liveParticipants))
	bar := newProgress("live room", cfg.liveParticipants)
	start := time.Now()
	for i := range cfg.liveParticipants {
		if d := time.Until(start.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			q, a, ok, err := answer(ctx, base, code, i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !ok {
				refused.Add(1)
			} else {
				qs, as = append(qs, q), append(as, a)
				accepted = append(accepted, time.Now())
			}
			bar.add(1)
		}(i)
	}
	wg.Wait()
	bar.finish()
	out.Accepted, out.Refused = len(as), int(refused.Load())
	out.Question, out.Answer = summarise(qs), summarise(as)

	// The presenter's lag at each step: the n·k-th accepted answer against the first view
	// that showed n·k or more.
	final := (len(accepted) / k) * k
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && lastShown(&mu, &views) < final {
		time.Sleep(20 * time.Millisecond)
	}
	stopFollow()
	viewsDone.Wait()
	sort.Slice(accepted, func(i, j int) bool { return accepted[i].Before(accepted[j]) })
	var lags []time.Duration
	for step := k; step <= final; step += k {
		at := accepted[step-1]
		for _, v := range views {
			if v.responses >= step {
				lags = append(lags, max(0, v.at.Sub(at)))
				break
			}
		}
	}
	out.Presenter = summarise(lags)
	if final > 0 && len(lags) == final/k {
		out.PresenterFinal = ms(lags[len(lags)-1])
	} else {
		out.PresenterFinal = -1 // the presenter never showed the last step within 30 s
	}

	// The burst: a second poll answered as fast as concurrencyN phones can.
	_, code2, err := openPoll(ctx, base, cops[0], k)
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	var ok2 atomic.Int64
	lat := make([][]time.Duration, cfg.concurrencyN)
	bar = newProgress("live burst", cfg.liveBurst)
	start = time.Now()
	var bw sync.WaitGroup
	for w := range cfg.concurrencyN {
		bw.Add(1)
		go func(w int) {
			defer bw.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.liveBurst || time.Since(start) > cfg.phaseLimit {
					return
				}
				// Device numbers after the room's, so each phone is new to the limiter.
				_, a, ok, err := answer(ctx, base, code2, cfg.liveParticipants+i)
				if err == nil && ok {
					ok2.Add(1)
					lat[w] = append(lat[w], a)
				}
				bar.add(1)
			}
		}(w)
	}
	bw.Wait()
	bar.finish()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	out.BurstN = int(ok2.Load())
	out.AcceptedPS = round2(float64(out.BurstN) / elapsed.Seconds())
	out.Burst = summarise(all)
	if hwm, err := memKB(p.cmd.Process.Pid, "VmHWM"); err == nil {
		out.HWMMB = round2(float64(hwm) / 1024)
	}
	if rss, err := memKB(p.cmd.Process.Pid, "VmRSS"); err == nil {
		out.RSSMB = round2(float64(rss) / 1024)
	}
	return out, nil
}

func lastShown(mu *sync.Mutex, views *[]presenterView) int {
	mu.Lock()
	defer mu.Unlock()
	if len(*views) == 0 {
		return 0
	}
	return (*views)[len(*views)-1].responses
}

// presenterView is one update the presenter saw: how many answers its results counted.
type presenterView struct {
	at        time.Time
	responses int
}

// shownResponses is how many answers a presenter update's results count.
var shownResponses = regexp.MustCompile(`data-responses="(\d+)"`)

// follow opens the console's presenter stream of poll as its coordinator would (the access
// cookie of a national officer) and sends each update's counted answers to seen until ctx
// ends; it returns once the stream is open.
func follow(ctx context.Context, base, poll string, seen chan<- presenterView) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/present/"+poll+"/events", nil)
	if err != nil {
		return "", err
	}
	req.AddCookie(&http.Cookie{Name: httpx.AccessCookie, Value: nationalToken})
	req.Header.Set("Accept", "text/event-stream")
	res, err := (&http.Client{}).Do(req)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		return "", fmt.Errorf("GET /present/%s/events: %d %s", poll, res.StatusCode, res.Header.Get("Content-Type"))
	}
	go func() {
		defer close(seen)
		defer res.Body.Close()
		s := bufio.NewScanner(res.Body)
		s.Buffer(make([]byte, 64*1024), 4*1024*1024)
		var event strings.Builder
		for s.Scan() {
			line := s.Text()
			if line != "" {
				event.WriteString(line)
				continue
			}
			if m := shownResponses.FindStringSubmatch(event.String()); m != nil {
				n, _ := strconv.Atoi(m[1])
				seen <- presenterView{at: time.Now(), responses: n}
			}
			event.Reset()
		}
	}()
	return "console SSE /present/{id}/events", nil
}
