// Package testkit starts the real infrastructure copnet tests run against:
// an embedded NATS server with JetStream and throw-away PostgreSQL
// databases, plus polling helpers for asserting on asynchronous effects.
//
// Nothing here is a mock. Tests that need PostgreSQL fail (rather than skip)
// when no server is reachable, because a skipped test silently counted as
// passing hides exactly the regressions these tests exist to catch.
package testkit
