// Package passkeytest is a software authenticator for tests that drive passkey ceremonies
// over HTTP without a browser: it answers a ceremony's options exactly as a browser with a
// platform authenticator does (the PublicKeyCredential as JSON, "none" attestation, an
// ES256 key, a signature counter), so tests can reach the server's refusals one at a
// time — a ceremony of another kind or person, an expired one, a counter gone backwards.
// Browser tests use Chromium's virtual authenticator instead; nothing in production
// imports this package.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds one passkey, made by Create.
type Authenticator struct {
	// Origin is the page's origin the browser reports (http://localhost:PORT).
	Origin string
	// Count is the signature counter, raised before each assertion.
	Count uint32

	key        *ecdsa.PrivateKey
	id         []byte
	userHandle []byte
	rpID       string
}

// New returns an authenticator in a browser at origin.
func New(origin string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &Authenticator{Origin: origin, key: key, id: id}
}

// ID is the credential id.
func (a *Authenticator) ID() []byte { return a.id }

var b64 = base64.RawURLEncoding

// creationOptions is what Create reads of navigator.credentials.create's options.
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

// Create answers creation options (the "publicKey" member of register/begin's answer) with
// a new discoverable credential, as register/finish's body.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	a.rpID, a.userHandle = o.RP.ID, handle
	clientData, err := json.Marshal(map[string]any{"type": "webauthn.create", "challenge": o.Challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		return nil, err
	}
	pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
	if err != nil {
		return nil, err
	}
	// Attested credential data: AAGUID (none), id length, id, public key.
	att := append(make([]byte, 16), byte(len(a.id)>>8), byte(len(a.id)))
	att = append(append(att, a.id...), cose...)
	// User present, user verified, attested credential data included.
	authData := append(a.header(0x45, a.Count), att...)
	object, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(object),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers request options (the "publicKey" member of login/begin's answer) with an
// assertion by the credential Create made, raising the counter first.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	if a.rpID == "" || o.RPID != a.rpID {
		return nil, fmt.Errorf("no passkey for relying party %q", o.RPID)
	}
	a.Count++
	clientData, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": o.Challenge, "origin": a.Origin, "crossOrigin": false})
	if err != nil {
		return nil, err
	}
	authData := a.header(0x05, a.Count) // user present, user verified
	cdHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte{}, authData...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.id), "rawId": b64.EncodeToString(a.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
	})
}

// header is authenticator data's start: the relying party id's hash, flags and counter.
func (a *Authenticator) header(flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}
