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
// use, so that WhoAmI and the change log name the key that wrote.
func (s *Service) EnsureUser(ctx context.Context, keyID, name string) (string, error) {
	id := UserID(keyID)
	if _, ok := s.users.m.Load(id); ok {
		return id, nil
	}
	t, ok := s.Table("systemuser")
	if !ok {
		return "", fmt.Errorf("records: no systemuser table")
	}
	err := s.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := s.Get(ctx, tx, t, id); err == nil {
			return nil
		} else if AsError(err).Status != http.StatusNotFound {
			return err
		}
		_, err := s.Create(ctx, tx, t, Row{"systemuserid": id, "fullname": truncateRunes(name, 200), "domainname": keyID + "@keys.junction.local",
			"businessunitid": Ref{Table: "businessunit", ID: BusinessUnitID}}, Caller{UserID: SystemUserID})
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
