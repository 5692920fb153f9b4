package access

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// JWKSPath is where the issuer publishes its public keys.
const JWKSPath = "/.well-known/jwks.json"

// KeySet is a set of public keys by key id. It is a KeySource.
type KeySet map[string]ed25519.PublicKey

// Key implements KeySource.
func (ks KeySet) Key(kid string) (ed25519.PublicKey, error) {
	if k, ok := ks[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown signing key %q", kid)
}

// jwk is one public key as RFC 8037 writes an Ed25519 key: an OKP key with the curve and x.
// There is no "k" member: a symmetric key is never published.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

// MarshalJSON writes the set as a JSON Web Key Set.
func (ks KeySet) MarshalJSON() ([]byte, error) {
	out := jwks{Keys: []jwk{}}
	for kid, k := range ks {
		out.Keys = append(out.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k),
			Kid: kid, Use: "sig", Alg: "EdDSA"})
	}
	return json.Marshal(out)
}

// maxJWKS bounds what is read from an issuer: a real set is a few hundred bytes.
const maxJWKS = 64 << 10

// ParseJWKS reads a JSON Web Key Set, keeping the Ed25519 signing keys and refusing a set
// that holds anything else: a verifier must never be handed a symmetric or unknown key.
func ParseJWKS(data []byte) (KeySet, error) {
	if len(data) > maxJWKS {
		return nil, errors.New("key set is too large")
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("key set is not JSON: %w", err)
	}
	out := KeySet{}
	for i, m := range raw.Keys {
		if _, ok := m["k"]; ok {
			return nil, fmt.Errorf("key %d is symmetric: refused", i)
		}
		str := func(name string) string { s, _ := m[name].(string); return s }
		if str("kty") != "OKP" || str("crv") != "Ed25519" {
			return nil, fmt.Errorf("key %d is %s/%s: only OKP/Ed25519 keys are accepted", i, str("kty"), str("crv"))
		}
		if a := str("alg"); a != "" && a != "EdDSA" {
			return nil, fmt.Errorf("key %d is for %s, not EdDSA", i, a)
		}
		x, err := base64.RawURLEncoding.Strict().DecodeString(str("x"))
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key %d has no valid Ed25519 public key", i)
		}
		kid := str("kid")
		if kid == "" {
			return nil, fmt.Errorf("key %d has no kid", i)
		}
		out[kid] = ed25519.PublicKey(x)
	}
	if len(out) == 0 {
		return nil, errors.New("key set holds no key")
	}
	return out, nil
}

// JWKSHandler publishes keys at JWKSPath.
func JWKSHandler(keys KeySet) http.Handler {
	body, _ := json.Marshal(keys) // strings only: cannot fail
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body) // the client went away; nothing to tell it
	})
}

// RemoteKeys is the key set of an issuer in another process (a split deployment): fetched
// from its JWKS URL, cached, and fetched again when a token names a key the cache lacks
// (the issuer rotated), at most once per refetchEvery so forged key ids cannot make a
// verifier hammer the issuer.
type RemoteKeys struct {
	URL    string
	Client *http.Client

	mu      sync.Mutex
	keys    KeySet
	fetched time.Time
}

const refetchEvery = 30 * time.Second

// Key implements KeySource.
func (r *RemoteKeys) Key(kid string) (ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil
	}
	if r.keys != nil && time.Since(r.fetched) < refetchEvery {
		return nil, fmt.Errorf("unknown signing key %q", kid)
	}
	keys, err := r.fetch()
	r.fetched = time.Now()
	if err != nil {
		return nil, fmt.Errorf("fetch issuer keys: %w", err)
	}
	r.keys = keys
	return keys.Key(kid)
}

func (r *RemoteKeys) fetch() (KeySet, error) {
	client := r.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", r.URL, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS+1))
	if err != nil {
		return nil, err
	}
	return ParseJWKS(data)
}
