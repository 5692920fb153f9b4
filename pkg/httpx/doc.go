// Package httpx holds the HTTP plumbing shared by copnet services: RFC 9457
// problem responses for apperr errors, strict JSON decoding, bearer-token
// authentication, correlation IDs and a server with health endpoints and
// graceful shutdown.
package httpx
