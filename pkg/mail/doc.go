// Package mail is copnet's transactional mail outbox: the shared wiring by which a service
// sends sign-in links and invitations.
//
// A service writes the mail with Enqueue in the transaction of the state change that causes
// it (an invitation row and the invitation mail commit together, or neither does). A Worker
// delivers committed rows through a Sender: SMTP to a real server (COPNET_SMTP_URL), or Dir,
// which keeps each mail as a file for an all-in-one that has no SMTP server, shown on
// LoopbackPage.
//
// # Each mail once
//
// A worker sends a row inside the transaction that holds the row's lock and marks it sent in
// that same transaction, so two workers (two replicas, or two goroutines) never both send
// it: the second one either cannot take the lock or, once it can, finds the row sent. The one
// window left is a crash, or a lost connection to PostgreSQL, after the SMTP server accepted
// the mail and before the commit: the row is then still due and is sent again. That is
// at-least-once in the worst case, and the resent mail carries the same Message-ID (it is
// drawn once, when the mail is enqueued), so a receiving system and a person can tell it is
// the same mail.
//
// The lock is a transaction-level advisory lock, not a row lock (SELECT ... FOR UPDATE):
// a row lock gives the transaction a transaction id for as long as the SMTP conversation
// lasts, and the event outbox's forwarder (watermill-sql) reads only rows of transactions
// older than the oldest one running in the cluster, so every service's events would wait
// for the mail server. An advisory lock takes no transaction id; the id is taken by the
// final UPDATE, a moment before the commit.
//
// # Secrets
//
// Mail bodies carry sign-in links, which are secrets. They never go on the event stream or
// into logs (logs name the row id, the recipient's domain and the subject only), and the
// worker blanks a row's bodies in the transaction that marks it sent (or failed for good),
// so a delivered link does not linger in the database. Erase removes a person's mail
// altogether when the person is erased.
package mail
