package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client talks to one copnet node's HTTP API with one bearer token.
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
	// NATSURL is the node's NATS server, for what only NATS knows (consumer lag); empty
	// when not given.
	NATSURL string
	// Stderr receives progress bars; nil shows none. StderrTTY says it is a terminal.
	Stderr    io.Writer
	StderrTTY bool
}

// NewClient returns a client for the node at baseURL.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// FieldError is one entry of a problem's "errors" list.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is a failed answer: an RFC 9457 problem+json body, or whatever the node sent.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors"`
	// Method and Path say which call failed.
	Method, Path string `json:"-"`
}

// Error is the problem on one line: "status title: detail".
func (p *Problem) Error() string {
	s := fmt.Sprintf("%d %s", p.Status, p.Title)
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Format is the problem as copctl prints it: "status title: detail", then each field
// error on its own indented line.
func (p *Problem) Format() string {
	var b strings.Builder
	b.WriteString(p.Error())
	b.WriteString("\n")
	for _, f := range p.Errors {
		if f.Field == "" {
			fmt.Fprintf(&b, "  - %s\n", f.Message)
		} else {
			fmt.Fprintf(&b, "  - %s: %s\n", f.Field, f.Message)
		}
	}
	return b.String()
}

// StatusOf returns the HTTP status of a problem error, or 0.
func StatusOf(err error) int {
	var p *Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// JSON sends in (if non-nil) as JSON and decodes a 2xx answer into out (if non-nil).
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	return c.Do(ctx, method, path, "application/json", body, out)
}

// Do sends body with contentType and decodes a 2xx JSON answer into out (if non-nil).
// Any other answer comes back as a *Problem.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the copnet node at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return problemFrom(resp, raw, method, path)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the node answered %d with something that is not the expected JSON: %w", method, path, resp.StatusCode, err)
	}
	return nil
}

func problemFrom(resp *http.Response, raw []byte, method, path string) *Problem {
	p := &Problem{}
	if err := json.Unmarshal(raw, p); err != nil || p.Status == 0 {
		// Not a problem document (a proxy's page, the mux's "404 page not found").
		p = &Problem{Detail: strings.TrimSpace(string(raw))}
		if len(p.Detail) > 500 {
			p.Detail = p.Detail[:500] + "…"
		}
	}
	p.Status = resp.StatusCode
	if p.Title == "" {
		p.Title = http.StatusText(resp.StatusCode)
	}
	p.Method, p.Path = method, path
	return p
}
