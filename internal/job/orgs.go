package job

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dv "junction/internal/dataverse"
)

// The Dataverse clients of the orgs jobs name are kept while they are used,
// and no longer: at most maxOrgs of them, none unused for longer than
// orgIdle (an org named once, or whose credentials changed, is forgotten).
const (
	maxOrgs = 32
	orgIdle = 15 * time.Minute
)

// orgClients holds one client per org and credentials.
type orgClients struct {
	mu      sync.Mutex
	clients map[string]*orgClient
}

type orgClient struct {
	c    *dv.Client
	used time.Time
}

// get returns the client kept under key, or one newClient makes; it then drops
// the clients unused since now-orgIdle and, beyond maxOrgs, the least
// recently used. A dropped client that a run still holds goes on serving it.
func (o *orgClients) get(key string, now time.Time, newClient func() (*dv.Client, error)) (*dv.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.clients == nil {
		o.clients = map[string]*orgClient{}
	}
	oc, ok := o.clients[key]
	if !ok {
		c, err := newClient()
		if err != nil {
			return nil, err
		}
		oc = &orgClient{c: c}
		o.clients[key] = oc
	}
	oc.used = now
	var oldest string
	for k, x := range o.clients {
		if now.Sub(x.used) > orgIdle {
			delete(o.clients, k)
			continue
		}
		if k != key && (oldest == "" || x.used.Before(o.clients[oldest].used)) {
			oldest = k
		}
	}
	if len(o.clients) > maxOrgs {
		delete(o.clients, oldest)
	}
	return oc.c, nil
}

// len is how many clients are kept.
func (o *orgClients) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.clients)
}

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
	return s.orgs.get(hex.EncodeToString(sum[:]), s.now(), func() (*dv.Client, error) { return dv.New(cfg) })
}

// spoolPath is where a run keeps what it read from an org, so that its
// validation and apply passes, and a resumed attempt on the same node, read
// the same rows in the same order.
func (s *Service) spoolPath(runID int64) string {
	return filepath.Join(s.tmpDir(), fmt.Sprintf("run-%d-dataverse.jsonl", runID))
}
