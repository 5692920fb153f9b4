package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// Ballots are anonymous by construction. A ballot is a random nonce with the poll's MAC on
// it, so the service can recognise its own ballots without storing them when it issues
// them: issuance records only that a member got one. When the ballot is cast, a hash of it
// is stored to make it single-use. Nothing the service keeps relates the two moments.

const nonceSize, macSize = 16, 16

// NewSecret returns a poll's random key for ballots and device hashes.
func NewSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// IssueBallot returns a fresh ballot for the poll keyed by secret.
func IssueBallot(secret []byte) string {
	b := make([]byte, nonceSize, nonceSize+macSize)
	_, _ = rand.Read(b)
	b = append(b, mac(secret, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CheckBallot reports whether ballot was issued for the poll keyed by secret, and returns
// the hash under which its use is recorded.
func CheckBallot(secret []byte, ballot string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(ballot)
	if err != nil || len(b) != nonceSize+macSize {
		return nil, false
	}
	if !hmac.Equal(b[nonceSize:], mac(secret, b[:nonceSize])) {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// DeviceHash is how an open poll remembers a device token: keyed by the poll, so one
// device's answers to different polls cannot be matched up.
func DeviceHash(secret []byte, token string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("device:" + token))
	return m.Sum(nil)
}

func mac(secret, nonce []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ballot:"))
	m.Write(nonce)
	return m.Sum(nil)[:macSize]
}
