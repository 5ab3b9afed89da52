package records

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net/http"
	"sync"

	"junction/internal/store"
)

// userCache remembers the API keys whose systemuser rows exist.
type userCache struct{ m sync.Map }

// UserID returns the systemuser id that stands for an API key.
func UserID(keyID string) string {
	s := sha1.Sum([]byte("junction-api-key:" + keyID))
	b := s[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// EnsureUser returns the systemuser row of an API key, creating it on first
// use, so that WhoAmI and the change log name the key that wrote. The first
// time a key is seen its user gets the default security role of the key's
// role (DefaultRoles); what an administrator changes later stays.
func (s *Service) EnsureUser(ctx context.Context, keyID, name, keyRole string) (string, error) {
	id := UserID(keyID)
	if _, ok := s.users.m.Load(id); ok {
		return id, nil
	}
	t, ok := s.Table("systemuser")
	if !ok {
		return "", fmt.Errorf("records: no systemuser table")
	}
	ur, _ := s.Table("systemuserroles")
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := s.Get(ctx, tx, t, id); err != nil && AsError(err).Status == http.StatusNotFound {
			if _, err := s.Create(ctx, tx, t, Row{"systemuserid": id, "lastname": truncateRunes(name, 256), "domainname": keyID + "@keys.junction.local",
				"internalemailaddress": truncateRunes(keyID, 80) + "@keys.junction.local",
				"businessunitid":       Ref{Table: "businessunit", ID: BusinessUnitID}}, Caller{UserID: SystemUserID}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM records_key_users WHERE systemuserid = ?", id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, "INSERT INTO records_key_users (systemuserid, key_role, created_at) VALUES (?, ?, ?)", id, keyRole, store.Micros(s.now())); err != nil {
			if store.IsConflict(err) {
				return Errorf(http.StatusConflict, CodeDuplicateKey, "the key's user is being set up by another request")
			}
			return err
		}
		role := DefaultRoles[keyRole]
		if role == "" || ur == nil {
			return nil
		}
		_, err := s.Create(ctx, tx, ur, Row{"name": truncateRunes(name, 150) + ": " + BuiltinRoles[role],
			"systemuserid": Ref{Table: "systemuser", ID: id}, "roleid": Ref{Table: "role", ID: role}}, Caller{UserID: SystemUserID})
		return err
	})
	if err != nil && AsError(err).Code != CodeDuplicateKey {
		return "", err
	}
	s.users.m.Store(id, true)
	return id, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
