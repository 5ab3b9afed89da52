package app_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"junction/internal/store"
	"junction/internal/store/storetest"
)

// caller is one column of the authorisation matrix: a bearer key of a role,
// or no key at all.
type caller string

const (
	admin    caller = "admin"
	operator caller = "operator"
	sender   caller = "sender"
	listener caller = "listener"
	nokey    caller = "no key"
)

var callers = []caller{admin, operator, sender, listener, nokey}

// access is one row of the matrix: who gets through (an answer other than 401
// and 403) on a route. Everyone else must get 401 or 403.
type access struct {
	allow []caller
	// request is the concrete request sent for the route when its pattern
	// has no method or its wildcards need particular values: "METHOD /path".
	request string
	// needs says, for routes that authenticate in their own way, which
	// credential they take besides a bearer key.
	needs string
	// also are further requests to the same route whose access differs, such
	// as receiving where the first request sends.
	also []access
}

var (
	everyone = []caller{admin, operator, sender, listener, nokey}
	anyKey   = []caller{admin, operator, sender, listener}
	ops      = []caller{admin, operator}
	adminOf  = []caller{admin}
)

// accessTable is the expected access of every route of the route table. A
// route missing here fails TestAccessMatrix: a new route needs a rule.
var accessTable = map[string]access{
	"GET /healthz":               {allow: everyone},
	"GET /readyz":                {allow: everyone},
	"GET /metrics":               {allow: everyone, needs: "open on a loopback listener; --metrics-key, or an admin or operator key, elsewhere (TestMetricsAccess)"},
	"GET /admin/v1/openapi.json": {allow: anyKey},
	"GET /console":               {allow: everyone, needs: "the console's page; its data comes from /admin/v1 with the user's key"},
	"GET /console/":              {allow: everyone, needs: "the console's page; its data comes from /admin/v1 with the user's key"},
	"GET /admin/v1/whoami":       {allow: anyKey},
	"GET /admin/v1/overview":     {allow: ops},
	"GET /admin/v1/changes":      {allow: ops},
	"GET /admin/v1/storage":      {allow: ops},
	"GET /admin/v1/traces/{id}":  {allow: ops, request: "GET /admin/v1/traces/0123456789abcdef0123456789abcdef"},
	" /":                         {allow: everyone, request: "GET /nowhere", needs: "nothing: the 404 of unclaimed paths"},

	"GET /admin/v1/keys":         {allow: adminOf},
	"POST /admin/v1/keys":        {allow: adminOf},
	"GET /admin/v1/keys/{id}":    {allow: adminOf},
	"DELETE /admin/v1/keys/{id}": {allow: adminOf},

	" /api/data/v9.0/": {allow: anyKey, request: "GET /api/data/v9.0/accounts", needs: "a bearer key"},
	" /api/data/v9.1/": {allow: anyKey, request: "GET /api/data/v9.1/accounts", needs: "a bearer key"},
	" /api/data/v9.2/": {allow: anyKey, request: "GET /api/data/v9.2/accounts", needs: "a bearer key"},
	" /api/data/v9.0":  {allow: anyKey, request: "GET /api/data/v9.0", needs: "a bearer key (the service document)"},
	" /api/data/v9.1":  {allow: anyKey, request: "GET /api/data/v9.1", needs: "a bearer key (the service document)"},
	" /api/data/v9.2":  {allow: anyKey, request: "GET /api/data/v9.2", needs: "a bearer key (the service document)"},

	" /servicebus/": {allow: []caller{admin, operator, sender}, request: "POST /servicebus/q/messages", needs: "a SAS token with Send, or a bearer key that may send",
		also: []access{{allow: []caller{admin, operator, listener}, request: "POST /servicebus/q/messages/head?timeout=0", needs: "a SAS token with Listen, or a bearer key that may receive"}}},

	"PUT /admin/v1/servicebus/queues/{queue}":                                           {allow: ops},
	"GET /admin/v1/servicebus/queues/{queue}":                                           {allow: ops},
	"DELETE /admin/v1/servicebus/queues/{queue}":                                        {allow: ops},
	"PUT /admin/v1/servicebus/topics/{topic}":                                           {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}":                                           {allow: ops},
	"DELETE /admin/v1/servicebus/topics/{topic}":                                        {allow: ops},
	"PUT /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}":                       {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}":                       {allow: ops},
	"DELETE /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}":                    {allow: ops},
	"GET /admin/v1/servicebus/queues":                                                   {allow: ops},
	"GET /admin/v1/servicebus/topics":                                                   {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions":                             {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/rules":                 {allow: ops},
	"PUT /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/rules/{rule}":          {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/rules/{rule}":          {allow: ops},
	"DELETE /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/rules/{rule}":       {allow: ops},
	"GET /admin/v1/servicebus/queues/{queue}/messages":                                  {allow: ops},
	"GET /admin/v1/servicebus/queues/{queue}/deadletters":                               {allow: ops},
	"POST /admin/v1/servicebus/queues/{queue}/deadletters/resubmit":                     {allow: ops},
	"DELETE /admin/v1/servicebus/queues/{queue}/deadletters":                            {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/messages":              {allow: ops},
	"GET /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/deadletters":           {allow: ops},
	"POST /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/deadletters/resubmit": {allow: ops},
	"DELETE /admin/v1/servicebus/topics/{topic}/subscriptions/{sub}/deadletters":        {allow: ops},
	"GET /admin/v1/servicebus/authorizationRules":                                       {allow: adminOf},
	"PUT /admin/v1/servicebus/authorizationRules/{rule}":                                {allow: adminOf},
	"GET /admin/v1/servicebus/authorizationRules/{rule}":                                {allow: adminOf},
	"DELETE /admin/v1/servicebus/authorizationRules/{rule}":                             {allow: adminOf},
	"POST /admin/v1/servicebus/authorizationRules/{rule}/listKeys":                      {allow: adminOf},
	"POST /admin/v1/servicebus/authorizationRules/{rule}/regenerateKeys":                {allow: adminOf},
	"GET /admin/v1/servicebus/queues/{queue}/authorizationRules":                        {allow: adminOf},
	"PUT /admin/v1/servicebus/queues/{queue}/authorizationRules/{rule}":                 {allow: adminOf},
	"GET /admin/v1/servicebus/queues/{queue}/authorizationRules/{rule}":                 {allow: adminOf},
	"DELETE /admin/v1/servicebus/queues/{queue}/authorizationRules/{rule}":              {allow: adminOf},
	"POST /admin/v1/servicebus/queues/{queue}/authorizationRules/{rule}/listKeys":       {allow: adminOf},
	"POST /admin/v1/servicebus/queues/{queue}/authorizationRules/{rule}/regenerateKeys": {allow: adminOf},
	"GET /admin/v1/servicebus/topics/{topic}/authorizationRules":                        {allow: adminOf},
	"PUT /admin/v1/servicebus/topics/{topic}/authorizationRules/{rule}":                 {allow: adminOf},
	"GET /admin/v1/servicebus/topics/{topic}/authorizationRules/{rule}":                 {allow: adminOf},
	"DELETE /admin/v1/servicebus/topics/{topic}/authorizationRules/{rule}":              {allow: adminOf},
	"POST /admin/v1/servicebus/topics/{topic}/authorizationRules/{rule}/listKeys":       {allow: adminOf},
	"POST /admin/v1/servicebus/topics/{topic}/authorizationRules/{rule}/regenerateKeys": {allow: adminOf},

	"POST /eventgrid/topics/{topic}/api/events":                     {allow: []caller{admin, operator, sender}, request: "POST /eventgrid/topics/egt/api/events", needs: "the topic's aeg-sas-key or aeg-sas-token, or a bearer key that may send"},
	"POST /eventgrid/topics/{topicAction}":                          {allow: []caller{admin, operator, sender}, request: "POST /eventgrid/topics/egt:publish", needs: "the topic's key (Authorization: SharedAccessKey), or a bearer key that may send"},
	"POST /eventgrid/topics/{topic}/eventsubscriptions/{subAction}": {allow: []caller{admin, operator, listener}, request: "POST /eventgrid/topics/egt/eventsubscriptions/sub:receive?maxWaitTime=0", needs: "the topic's key, or a bearer key that may receive"},
	"GET /eventgrid/validate":                                       {allow: everyone, needs: "the validation code of a pending subscription"},
	"POST /webhooks/dataverse":                                      {allow: nil, needs: "a key of the records topic (?code= or aeg-sas-key); no bearer key, not even the admin's"},

	"GET /admin/v1/eventgrid/topics":                                                       {allow: ops},
	"PUT /admin/v1/eventgrid/topics/{topic}":                                               {allow: ops},
	"GET /admin/v1/eventgrid/topics/{topic}":                                               {allow: ops},
	"DELETE /admin/v1/eventgrid/topics/{topic}":                                            {allow: ops},
	"POST /admin/v1/eventgrid/topics/{topic}/listKeys":                                     {allow: ops},
	"POST /admin/v1/eventgrid/topics/{topic}/regenerateKey":                                {allow: ops},
	"GET /admin/v1/eventgrid/topics/{topic}/eventSubscriptions":                            {allow: ops},
	"PUT /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}":                      {allow: ops},
	"GET /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}":                      {allow: ops},
	"DELETE /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}":                   {allow: ops},
	"GET /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}/deliveryStatus":       {allow: ops},
	"GET /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}/deadLetters":          {allow: ops},
	"POST /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}/deadLetters/replay":  {allow: ops},
	"POST /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}/listSigningSecrets":  {allow: ops},
	"POST /admin/v1/eventgrid/topics/{topic}/eventSubscriptions/{sub}/rotateSigningSecret": {allow: ops},

	" /api/{workflow}/triggers/{trigger}/invoke":                         {allow: nil, request: "POST /api/w/triggers/manual/invoke?api-version=2016-10-01", needs: "the signed callback URL (sig=)"},
	" /api/{workflow}/triggers/{trigger}/invoke/{path...}":               {allow: nil, request: "POST /api/w/triggers/manual/invoke/a/b?api-version=2016-10-01", needs: "the signed callback URL (sig=)"},
	"GET /admin/v1/workflows":                                            {allow: ops},
	"GET /admin/v1/workflows/{name}":                                     {allow: ops},
	"PUT /admin/v1/workflows/{name}":                                     {allow: adminOf},
	"DELETE /admin/v1/workflows/{name}":                                  {allow: adminOf},
	"POST /admin/v1/workflows/{name}/triggers/{trigger}/listCallbackUrl": {allow: ops},
	"POST /admin/v1/workflows/{name}/triggers/{trigger}/run":             {allow: ops},
	"GET /admin/v1/workflows/{name}/runs":                                {allow: ops},
	"GET /admin/v1/workflows/{name}/runs/{id}":                           {allow: ops},
	"POST /admin/v1/workflows/{name}/runs/{id}/cancel":                   {allow: ops},
	"POST /admin/v1/workflows/{name}/runs/{id}/resubmit":                 {allow: ops},

	"GET /admin/v1/functions":                         {allow: ops},
	"GET /admin/v1/functions/{name}":                  {allow: ops},
	"POST /admin/v1/functions/{name}/invoke":          {allow: ops},
	"GET /admin/v1/functions/{name}/invocations":      {allow: ops},
	"GET /admin/v1/functions/{name}/invocations/{id}": {allow: ops},
	"GET /admin/v1/functions/{name}/keys":             {allow: adminOf},
	"POST /admin/v1/functions/{name}/keys":            {allow: adminOf},
	"DELETE /admin/v1/functions/{name}/keys/{key}":    {allow: adminOf},
	"GET /admin/v1/function-host/keys":                {allow: adminOf},
	"POST /admin/v1/function-host/keys":               {allow: adminOf},
	"DELETE /admin/v1/function-host/keys/{key}":       {allow: adminOf},

	"GET /admin/v1/connections":                          {allow: ops},
	"PUT /admin/v1/connections/{name}":                   {allow: adminOf},
	"DELETE /admin/v1/connections/{name}":                {allow: adminOf},
	"GET /admin/v1/jobs":                                 {allow: ops},
	"GET /admin/v1/jobs/{name}":                          {allow: ops},
	"PUT /admin/v1/jobs/{name}":                          {allow: ops},
	"DELETE /admin/v1/jobs/{name}":                       {allow: ops},
	"DELETE /admin/v1/jobs/{name}/watermark":             {allow: ops},
	"POST /admin/v1/jobs/{name}/runs":                    {allow: ops},
	"GET /admin/v1/jobs/{name}/runs":                     {allow: ops},
	"GET /admin/v1/jobs/{name}/runs/{id}":                {allow: ops},
	"GET /admin/v1/jobs/{name}/runs/{id}/rejects":        {allow: ops},
	"GET /admin/v1/jobs/{name}/runs/{id}/reconciliation": {allow: ops},
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// TestAccessMatrix sends a request to every route of the route table with a
// key of every role and without one, and checks each answer against
// accessTable: allowed callers get anything but 401 and 403, the others get
// 401 or 403.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Drivers {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			accessMatrix(t, d)
		})
	}
}

func accessMatrix(t *testing.T, d store.Dialect) {
	b := start(t, d, nil)
	keys := map[caller]string{nokey: ""}
	for r, secret := range roleKeys(t, b) {
		keys[caller(r)] = secret
	}
	// The entities the data-plane routes name, so that they answer on the
	// credential rather than with a 404.
	for _, f := range []struct{ path, body string }{
		{"/admin/v1/servicebus/queues/q", `{"properties":{}}`},
		{"/admin/v1/eventgrid/topics/egt", `{"properties":{"kind":"Namespace"}}`},
		{"/admin/v1/eventgrid/topics/egt/eventSubscriptions/sub", `{"properties":{"deliveryConfiguration":{"deliveryMode":"Queue"}}}`},
		{"/admin/v1/workflows/w", `{"definition":{"triggers":{"manual":{"type":"Request","kind":"Http","inputs":{"schema":{}}}},"actions":{}}}`},
	} {
		if resp, body := b.do(t, "PUT", f.path, "admin-key", f.body); resp.StatusCode/100 != 2 {
			t.Fatalf("fixture %s: %d %v", f.path, resp.StatusCode, body)
		}
	}

	var missing []string
	seen := map[string]bool{}
	for _, rt := range b.app.Server().Routes() {
		id := rt.Method + " " + rt.Pattern
		seen[id] = true
		rule, ok := accessTable[id]
		if !ok {
			missing = append(missing, fmt.Sprintf("%q (public %v, roles %v)", id, rt.Access.Public, rt.Access.Roles))
			continue
		}
		for _, probe := range append([]access{rule}, rule.also...) {
			method, path := rt.Method, wildcard.ReplaceAllString(rt.Pattern, "x")
			if probe.request != "" {
				method, path, _ = strings.Cut(probe.request, " ")
			}
			if method == "" {
				t.Errorf("%s: the route takes every method; give the request to send", id)
				continue
			}
			allowed := map[caller]bool{}
			for _, c := range probe.allow {
				allowed[c] = true
			}
			for _, c := range callers {
				status := send(t, b, method, path, keys[c])
				denied := status == http.StatusUnauthorized || status == http.StatusForbidden
				if denied == allowed[c] {
					t.Errorf("%s as %s (%s %s): %d, want %s", id, c, method, path, status, map[bool]string{true: "through", false: "401 or 403"}[allowed[c]])
				}
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("routes without an access rule in accessTable:\n  %s", strings.Join(missing, "\n  "))
	}
	for id := range accessTable {
		if !seen[id] {
			t.Errorf("accessTable lists %q, which is not a route", id)
		}
	}
}

func send(t *testing.T, b *bundle, method, path, key string) int {
	t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
