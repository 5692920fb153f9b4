// Command probe is the container healthcheck: distroless images have no shell, wget or
// curl, so the image carries this static binary instead. It GETs a URL and exits 0 on a
// 2xx answer, 1 otherwise.
//
//	probe                 # http://127.0.0.1:<port of COPNET_HTTP_ADDR>/readyz
//	probe URL             # any URL
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	url, err := target(args, os.Getenv("COPNET_HTTP_ADDR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 2
	}
	// Below compose's healthcheck timeout, so a hung service reports itself as unhealthy
	// rather than the check being killed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(os.Stderr, "probe: %s answered %s\n", url, resp.Status)
		return 1
	}
	return 0
}

// target is the URL given, or else the service's own /readyz on loopback, so that an
// operator who moves COPNET_HTTP_ADDR does not also have to edit the healthcheck.
func target(args []string, httpAddr string) (string, error) {
	switch len(args) {
	case 1:
		return args[0], nil
	case 0:
	default:
		return "", fmt.Errorf("usage: probe [URL]")
	}
	port := "8080"
	if httpAddr != "" {
		_, p, err := net.SplitHostPort(httpAddr)
		if err != nil {
			return "", fmt.Errorf("COPNET_HTTP_ADDR: %w", err)
		}
		port = p
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/readyz", nil
}
