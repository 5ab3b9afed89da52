package job

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	dv "junction/internal/dataverse"
)

// dataverse returns the client of an org, shared by every run that names the
// same org so that its token and its throttling pause are shared too.
func (s *Service) dataverse(where, conn string, o *Org) (*dv.Client, error) {
	var org Org
	if o != nil {
		org = *o
	}
	if conn != "" {
		c, err := s.connection(conn, "dataverse")
		if err != nil {
			return nil, fmt.Errorf("%s.connection: %w", where, err)
		}
		org = *c.org()
	}
	for _, f := range []*string{&org.URL, &org.TenantID, &org.ClientID, &org.ClientSecret, &org.TokenURL, &org.Token} {
		v, err := s.expand(*f)
		if err != nil {
			return nil, fmt.Errorf("%s.org: %w", where, err)
		}
		*f = v
	}
	cfg := dv.Config{URL: org.URL, TenantID: org.TenantID, ClientID: org.ClientID, ClientSecret: org.ClientSecret, TokenURL: org.TokenURL, Token: org.Token}
	if org.URL == "" {
		if s.cfg.Local == nil {
			return nil, errors.New("org: a url is required (this Junction's own Web API is not available here)")
		}
		cfg.URL, cfg.Token = s.cfg.Local()
		cfg.HTTPClient = s.cfg.LocalClient
	} else {
		cfg.Outbound = s.cfg.Outbound
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{cfg.URL, cfg.TenantID, cfg.ClientID, cfg.ClientSecret, cfg.TokenURL, cfg.Token}, "\x00")))
	key := hex.EncodeToString(sum[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.orgs[key]; ok {
		return c, nil
	}
	c, err := dv.New(cfg)
	if err != nil {
		return nil, err
	}
	s.orgs[key] = c
	return c, nil
}

// spoolPath is where a run keeps what it read from an org, so that its
// validation and apply passes, and a resumed attempt on the same node, read
// the same rows in the same order.
func (s *Service) spoolPath(runID int64) string {
	return filepath.Join(s.tmpDir(), fmt.Sprintf("run-%d-dataverse.jsonl", runID))
}
