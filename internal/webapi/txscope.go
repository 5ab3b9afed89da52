package webapi

import (
	"net/http"
	"sync"

	"junction/internal/records"
	"junction/internal/store"
)

// TransactionHeader, on a Web API request, names an open $batch changeset
// transaction the request runs in: Junction gives its token to the
// implementation of a Custom API called inside a changeset
// (CustomAPICall.Transaction), so that what the implementation writes
// through the Web API commits or rolls back with the changeset, as a
// plug-in's writes join its message's transaction in Dataverse.
const TransactionHeader = "X-Junction-Transaction"

// txScopes are the changeset transactions open to Custom API
// implementations, by token.
type txScopes struct {
	mu sync.Mutex
	m  map[string]*txScope
}

// txScope is one open transaction; mu lets one request use it at a time.
type txScope struct {
	mu sync.Mutex
	tx store.Tx
}

// open makes tx reachable by the token it returns until close is called;
// close waits for a request still using it.
func (s *txScopes) open(tx store.Tx) (token string, close func()) {
	token = records.NewID() + records.NewID()
	sc := &txScope{tx: tx}
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]*txScope{}
	}
	s.m[token] = sc
	s.mu.Unlock()
	return token, func() {
		s.mu.Lock()
		delete(s.m, token)
		s.mu.Unlock()
		sc.mu.Lock() // a request that found the scope before it closed ends first
		sc.mu.Unlock()
	}
}

// enter returns the transaction a token names, held for the caller until
// leave; an unknown or closed token is a 400.
func (s *txScopes) enter(token string) (tx store.Tx, leave func(), err *records.Error) {
	s.mu.Lock()
	sc := s.m[token]
	s.mu.Unlock()
	if sc == nil {
		return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The transaction named by %s is not open: it belongs to a $batch changeset that has ended.", TransactionHeader)
	}
	sc.mu.Lock()
	s.mu.Lock()
	_, open := s.m[token]
	s.mu.Unlock()
	if !open {
		sc.mu.Unlock()
		return nil, nil, records.Errorf(http.StatusBadRequest, records.CodeInvalidMessage, "The transaction named by %s is not open: it belongs to a $batch changeset that has ended.", TransactionHeader)
	}
	return sc.tx, sc.mu.Unlock, nil
}
