package domain

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// Ballots are anonymous by construction. A ballot is a random nonce with a MAC on it, so
// the service can recognise its own ballots without storing them when it issues them:
// issuance records only a keyed hash of (poll, person). When the ballot is cast, a hash of
// it is stored to make it single-use, and the answer is sealed until the poll closes.
//
// Every key comes from the node's secret through HKDF and never reaches the database: a
// database administrator can neither mint ballots, nor tell whose issuance row is whose,
// nor read an answer before the poll closes (see ANONYMITY.md).

const nonceSize, macSize = 16, 16

// SealBucket is the size unit of a sealed answer: every answer is padded to a multiple of
// it, so the length of a sealed answer says nothing about what it holds. Every answer a
// poll accepts fits in one bucket but rankings of many long options, whose answers to one
// poll all have the same length anyway.
const SealBucket = 2048

// MinSecret is the shortest node secret the keys are derived from.
const MinSecret = 16

// Keys are the feedback service's keys, derived from the node's secret.
type Keys struct {
	seal   cipher.AEAD
	issue  []byte
	ballot []byte
	device []byte
}

// NewKeys derives the service's keys from the node's secret: one each for sealing
// answers, issuance hashes, ballot MACs and device hashes, so no use of one key can be
// turned against another.
func NewKeys(secret []byte) (*Keys, error) {
	if len(secret) < MinSecret {
		return nil, fmt.Errorf("feedback needs the node's secret (at least %d bytes) to key ballots and seal answers", MinSecret)
	}
	derive := func(purpose string) ([]byte, error) {
		return hkdf.Key(sha256.New, secret, nil, "copnet feedback v1 "+purpose, 32)
	}
	k := &Keys{}
	var err error
	for _, d := range []struct {
		purpose string
		into    *[]byte
	}{{"issue", &k.issue}, {"ballot", &k.ballot}, {"device", &k.device}} {
		if *d.into, err = derive(d.purpose); err != nil {
			return nil, err
		}
	}
	sealKey, err := derive("seal")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	if k.seal, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return k, nil
}

// keyed is HMAC-SHA256 under key over the parts, each length-prefixed so that no two
// different lists of parts give the same input.
func keyed(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// IssueHash is how the service remembers that person got a ballot for the poll: without
// the key nobody can tell whose row it is, and erasing the person recomputes it.
func (k *Keys) IssueHash(pollID, person string) []byte {
	return keyed(k.issue, pollID, person)
}

// IssueBallot returns a fresh ballot for the poll.
func (k *Keys) IssueBallot(pollID string) string {
	b := make([]byte, nonceSize, nonceSize+macSize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	b = append(b, keyed(k.ballot, pollID, string(b))[:macSize]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CheckBallot reports whether ballot was issued for the poll, and returns the hash under
// which its use is recorded.
func (k *Keys) CheckBallot(pollID, ballot string) ([]byte, bool) {
	if len(ballot) > 64 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ballot)
	if err != nil || len(b) != nonceSize+macSize {
		return nil, false
	}
	if !hmac.Equal(b[nonceSize:], keyed(k.ballot, pollID, string(b[:nonceSize]))[:macSize]) {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// DeviceHash is how an open poll remembers a device token: keyed by the poll, so one
// device's answers to different polls cannot be matched up.
func (k *Keys) DeviceHash(pollID, token string) []byte {
	return keyed(k.device, pollID, token)
}

// Seal encrypts an answer (its JSON) for the poll with AES-256-GCM, padded to a multiple
// of SealBucket. The poll id is authenticated, so a sealed answer cannot be moved to
// another poll.
func (k *Keys) Seal(pollID string, plain []byte) []byte {
	size := (4 + len(plain) + SealBucket - 1) / SealBucket * SealBucket
	padded := make([]byte, size)
	binary.BigEndian.PutUint32(padded, uint32(len(plain)))
	copy(padded[4:], plain)
	nonce := make([]byte, k.seal.NonceSize(), k.seal.NonceSize()+size+k.seal.Overhead())
	_, _ = rand.Read(nonce)
	return k.seal.Seal(nonce, nonce, padded, []byte(pollID))
}

// ErrSealed is returned for a sealed answer that does not open under this node's key.
var ErrSealed = errors.New("a sealed answer does not open with this node's key")

// Open decrypts an answer Seal sealed for the poll.
func (k *Keys) Open(pollID string, sealed []byte) ([]byte, error) {
	ns := k.seal.NonceSize()
	if len(sealed) < ns+k.seal.Overhead() {
		return nil, ErrSealed
	}
	padded, err := k.seal.Open(nil, sealed[:ns], sealed[ns:], []byte(pollID))
	if err != nil || len(padded) < 4 {
		return nil, ErrSealed
	}
	n := binary.BigEndian.Uint32(padded)
	if uint64(n) > uint64(len(padded)-4) {
		return nil, ErrSealed
	}
	return padded[4 : 4+n], nil
}
