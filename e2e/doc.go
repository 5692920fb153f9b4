// Package e2e proves the deployment: the NATS configs in deploy/nats parse into what the
// design requires, the compose files load through the loader docker compose uses, every
// service builds exactly as the Dockerfile builds it, and the split deployment (a real
// nats-server process and every service as its own process) runs the CoP scenario end to end.
package e2e
