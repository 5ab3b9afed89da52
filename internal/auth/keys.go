// Package auth keeps Junction's API keys: the admin key, keys with roles stored
// as SHA-256 hashes, the management routes and CLI that create and revoke them,
// and the bearer-key check every management request goes through.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"junction/internal/server"
	"junction/internal/store"
)

// Migrations are the auth component's tables.
var Migrations = []store.Migration{{
	Component: "auth",
	Version:   1,
	Name:      "api keys",
	SQL: `CREATE TABLE junction_api_keys (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		role       TEXT NOT NULL,
		hash       TEXT NOT NULL UNIQUE,
		prefix     TEXT NOT NULL,
		created_at BIGINT NOT NULL
	)`,
}}

// Key describes a stored API key; its secret is never kept.
type Key struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Role    server.Role `json:"role"`
	Prefix  string      `json:"prefix"`
	Created time.Time   `json:"created"`
}

// ErrNotFound reports an unknown key id.
var ErrNotFound = errors.New("api key not found")

// cacheTTL bounds how long a revoked key keeps working on another node.
const cacheTTL = 5 * time.Second

// Keys authenticates and manages API keys.
type Keys struct {
	s        store.Store
	envAdmin [32]byte
	hasEnv   bool
	internal string // this process's own key, see Internal
	intHash  [32]byte

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	p       server.Principal
	expires time.Time
}

var _ server.Authenticator = (*Keys)(nil)

// New returns the key service. adminKey is JUNCTION_ADMIN_KEY, or empty.
func New(s store.Store, adminKey string) *Keys {
	k := &Keys{s: s, cache: map[[32]byte]cached{}}
	raw := make([]byte, 32)
	rand.Read(raw)
	k.internal = "jki_" + base64.RawURLEncoding.EncodeToString(raw)
	k.intHash = sha256.Sum256([]byte(k.internal))
	if adminKey != "" {
		k.envAdmin = sha256.Sum256([]byte(adminKey))
		k.hasEnv = true
	}
	return k
}

// Bootstrap makes sure an admin can sign in. Without JUNCTION_ADMIN_KEY and with
// no admin key stored yet, it generates one, stores its hash and returns the key
// so the caller prints it once. Otherwise it returns "".
func (k *Keys) Bootstrap(ctx context.Context) (string, error) {
	if k.hasEnv {
		return "", nil
	}
	var secret string
	err := k.s.Tx(ctx, func(tx store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM junction_api_keys WHERE role = ?", string(server.RoleAdmin)).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		var err error
		_, secret, err = insertKey(ctx, tx, "bootstrap admin", server.RoleAdmin)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("bootstrap admin key: %w", err)
	}
	return secret, nil
}

// Authenticate resolves key to its principal in constant time per comparison.
func (k *Keys) Authenticate(ctx context.Context, key string) (server.Principal, bool) {
	if key == "" {
		return server.Principal{}, false
	}
	h := sha256.Sum256([]byte(key))
	if k.hasEnv && subtle.ConstantTimeCompare(h[:], k.envAdmin[:]) == 1 {
		return server.Principal{KeyID: "env", Name: "JUNCTION_ADMIN_KEY", Role: server.RoleAdmin}, true
	}
	if subtle.ConstantTimeCompare(h[:], k.intHash[:]) == 1 {
		return server.Principal{KeyID: "internal", Name: "Junction", Role: server.RoleAdmin}, true
	}
	now := time.Now()
	k.mu.Lock()
	c, ok := k.cache[h]
	k.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.p, true
	}
	hexHash := hex.EncodeToString(h[:])
	var p server.Principal
	var stored, role string
	err := k.s.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT id, name, role, hash FROM junction_api_keys WHERE hash = ?", hexHash).Scan(&p.KeyID, &p.Name, &role, &stored)
	})
	if err != nil || subtle.ConstantTimeCompare([]byte(stored), []byte(hexHash)) != 1 {
		return server.Principal{}, false
	}
	p.Role = server.Role(role)
	k.mu.Lock()
	if len(k.cache) > 10000 {
		clear(k.cache)
	}
	k.cache[h] = cached{p: p, expires: now.Add(cacheTTL)}
	k.mu.Unlock()
	return p, true
}

// Internal is this process's own admin key, with which Junction's components
// call its own HTTP surfaces (a workflow's Dataverse action on Junction's
// tables, say). It lives in memory only, changes at every start, and is never
// stored, printed or logged.
func (k *Keys) Internal() string { return k.internal }

// Create stores a new key and returns it with its secret, shown only now.
func (k *Keys) Create(ctx context.Context, name string, role server.Role) (Key, string, error) {
	var key Key
	var secret string
	err := k.s.Tx(ctx, func(tx store.Tx) error {
		var err error
		key, secret, err = insertKey(ctx, tx, name, role)
		return err
	})
	return key, secret, err
}

func insertKey(ctx context.Context, tx store.Tx, name string, role server.Role) (Key, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Key{}, "", err
	}
	secret := "jk_" + base64.RawURLEncoding.EncodeToString(raw)
	idb := make([]byte, 8)
	rand.Read(idb)
	h := sha256.Sum256([]byte(secret))
	key := Key{ID: hex.EncodeToString(idb), Name: name, Role: role, Prefix: secret[:8], Created: time.Now().UTC().Truncate(time.Microsecond)}
	_, err := tx.Exec(ctx, "INSERT INTO junction_api_keys (id, name, role, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		key.ID, key.Name, string(role), hex.EncodeToString(h[:]), key.Prefix, store.Micros(key.Created))
	if err != nil {
		return Key{}, "", fmt.Errorf("store api key: %w", err)
	}
	return key, secret, nil
}

// List returns every stored key, oldest first.
func (k *Keys) List(ctx context.Context) ([]Key, error) {
	keys := []Key{}
	err := k.s.Read(ctx, func(q store.Querier) error {
		list, err := store.Collect(ctx, q, func(r *sql.Rows) (Key, error) {
			var key Key
			var role string
			var created int64
			err := r.Scan(&key.ID, &key.Name, &role, &key.Prefix, &created)
			key.Role, key.Created = server.Role(role), store.FromMicros(created)
			return key, err
		}, "SELECT id, name, role, prefix, created_at FROM junction_api_keys ORDER BY created_at, id")
		keys = append(keys, list...)
		return err
	})
	return keys, err
}

// Get returns one key.
func (k *Keys) Get(ctx context.Context, id string) (Key, error) {
	var key Key
	var role string
	var created int64
	err := k.s.Read(ctx, func(q store.Querier) error {
		return q.QueryRow(ctx, "SELECT id, name, role, prefix, created_at FROM junction_api_keys WHERE id = ?", id).
			Scan(&key.ID, &key.Name, &role, &key.Prefix, &created)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrNotFound
	}
	key.Role, key.Created = server.Role(role), store.FromMicros(created)
	return key, err
}

// Delete revokes a key. Other nodes stop accepting it within cacheTTL.
func (k *Keys) Delete(ctx context.Context, id string) error {
	err := k.s.Tx(ctx, func(tx store.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM junction_api_keys WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err == nil {
		k.mu.Lock()
		for h, c := range k.cache {
			if c.p.KeyID == id {
				delete(k.cache, h)
			}
		}
		k.mu.Unlock()
	}
	return err
}

// ValidateName checks a key name.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("name is required")
	}
	if len(name) > 200 {
		return errors.New("name is longer than 200 characters")
	}
	return nil
}
