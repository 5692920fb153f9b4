package domain

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Unsubscriber signs and checks unsubscribe tokens: "person.kind.mac", the MAC keyed from
// the node's secret. A token names one person and one kind and can do one thing, turn
// that kind off for that person, so a forwarded mail's link harms nothing else.
type Unsubscriber struct{ key []byte }

// NewUnsubscriber derives the signing key from the node's secret.
func NewUnsubscriber(secret []byte) (*Unsubscriber, error) {
	if len(secret) == 0 {
		return nil, errors.New("notify signs unsubscribe links and needs the node secret (COPNET_AUTH_SECRET)")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "copnet notify v1 unsubscribe", 32)
	if err != nil {
		return nil, err
	}
	return &Unsubscriber{key: key}, nil
}

func (u *Unsubscriber) mac(person string, kind Kind) []byte {
	m := hmac.New(sha256.New, u.key)
	m.Write([]byte(person + "\x00" + string(kind)))
	return m.Sum(nil)
}

// Token is the unsubscribe token for person and kind.
func (u *Unsubscriber) Token(person string, kind Kind) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(person)) + "." + enc.EncodeToString([]byte(kind)) + "." + enc.EncodeToString(u.mac(person, kind))
}

// ErrBadToken is a token that is malformed, or not signed by this node.
var ErrBadToken = errors.New("is not a valid unsubscribe link")

// Check returns the person and kind a token names.
func (u *Unsubscriber) Check(token string) (person string, kind Kind, err error) {
	parts := strings.Split(token, ".")
	if len(token) > 1024 || len(parts) != 3 {
		return "", "", ErrBadToken
	}
	// Base64 decoders skip line breaks; a token is only ever the characters Token writes.
	for _, c := range token {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", ErrBadToken
		}
	}
	enc := base64.RawURLEncoding.Strict()
	p, err1 := enc.DecodeString(parts[0])
	k, err2 := enc.DecodeString(parts[1])
	mac, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(p) == 0 {
		return "", "", ErrBadToken
	}
	kind, err = ParseKind(string(k))
	if err != nil {
		return "", "", ErrBadToken
	}
	if !hmac.Equal(mac, u.mac(string(p), kind)) {
		return "", "", ErrBadToken
	}
	return string(p), kind, nil
}
