package pgcluster

import (
	"context"
	"time"
)

// superviseEvery is how often the supervisor looks at the postmaster: a crash is noticed
// within it, and a failed restart is tried again after it. Checking costs one kill(pid, 0).
const superviseEvery = 250 * time.Millisecond

// Restarts says how many times the supervisor brought the server back after it died.
func (c *Cluster) Restarts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.restarts
}

// postmaster is the PID of the server this Cluster started last.
func (c *Cluster) postmaster() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// supervising says whether the supervisor still watches the server.
func (c *Cluster) supervising() bool {
	select {
	case <-c.supervised:
		return false
	default:
		return true
	}
}

// supervise keeps the server up until ctx ends: when the postmaster dies without shutting
// down (kill -9, the OOM killer, a crash), it starts it again on the same socket, so clients
// holding the URL reconnect once it is back; PostgreSQL's crash recovery replays the WAL, so
// everything committed is still there. While it is down clients get connection errors at
// once, which the services answer as "database unavailable".
//
// A server that was shut down cleanly is not restarted: a clean shutdown removes
// postmaster.pid, and whoever did it (an operator's pg_ctl stop, a later Start taking the
// data directory over) meant it. A crash leaves the file naming the dead postmaster.
func (c *Cluster) supervise(ctx context.Context) {
	defer close(c.supervised)
	tick := time.NewTicker(superviseEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pid := c.postmaster()
		if processAlive(pid) {
			continue
		}
		if onFile, err := c.postmasterPID(); err != nil || onFile != pid {
			c.log.Warn("PostgreSQL was stopped by someone else; no longer supervising it", "pid", pid, "pid_file", onFile, "err", err)
			return
		}
		c.log.Error("PostgreSQL died without shutting down; restarting it", "pid", pid)
		if !c.restart(ctx, pid) {
			return
		}
	}
}

// restart starts the server again until it comes up. PostgreSQL refuses while a process of
// the dead server still holds its shared memory (children notice their postmaster's death
// and exit, usually within moments), so failures are retried. It gives up when ctx ends or
// someone else's server runs on the directory.
func (c *Cluster) restart(ctx context.Context, dead int) bool {
	for attempt := 1; ; attempt++ {
		if other, err := c.postmasterPID(); err == nil && other != 0 && other != dead && processAlive(other) {
			c.log.Warn("another PostgreSQL runs on this data directory; no longer supervising", "pid", other)
			return false
		}
		// Not cancelled by ctx: a start cut short could leave a server nobody knows of.
		// Stop waits for it instead, and then stops the server it started.
		pid, err := c.start(context.WithoutCancel(ctx))
		if err == nil && pid != 0 {
			c.mu.Lock()
			c.pid = pid
			c.restarts++
			c.mu.Unlock()
			c.log.Warn("PostgreSQL restarted", "pid", pid, "attempts", attempt)
			return true
		}
		if attempt%40 == 1 { // the first failure, then one line each ten seconds
			c.log.Error("PostgreSQL did not restart; trying again", "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(superviseEvery):
		}
	}
}
