package webapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/server"
	"junction/internal/store"
)

// recorder captures one operation's response inside a $batch.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

var errChangesetFailed = errors.New("changeset failed")

func (h *Handler) batch(w http.ResponseWriter, rq *req) {
	if txFrom(rq.r.Context()) != nil {
		h.fail(w, rq, badRequest("$batch cannot be nested"))
		return
	}
	data, err := server.ReadBody(rq.r)
	if err != nil {
		h.fail(w, rq, records.Errorf(http.StatusRequestEntityTooLarge, records.CodeBadPayload, "cannot read the batch: %v", err))
		return
	}
	items, err := ReadBatch(string(data), rq.r.Header.Get("Content-Type"))
	if err != nil {
		h.fail(w, rq, records.Errorf(http.StatusBadRequest, records.CodeBadPayload, "The batch request is not valid: %v", err))
		return
	}
	id := records.NewID()
	var out bytes.Buffer
	stop := false
	for _, it := range items {
		if stop {
			break
		}
		if it.Request != nil {
			rec := h.runBatchOp(rq, it.Request, nil)
			writePart(&out, "batchresponse_"+id, rec, it.Request.ContentID)
			if rec.status >= 400 && !rq.prefer.continueOnError {
				stop = true
			}
			continue
		}
		var recs []*recorder
		var failed *recorder
		var failedID string
		err := h.rec.Store().Tx(rq.r.Context(), func(tx store.Tx) error {
			recs, failed = nil, nil
			ids := map[string]string{}
			for _, op := range it.Changeset {
				rec := h.runBatchOp(rq, op, &changeset{tx: tx, ids: ids})
				if rec.status >= 400 {
					failed, failedID = rec, op.ContentID
					return errChangesetFailed
				}
				recs = append(recs, rec)
				if op.ContentID != "" {
					if loc := rec.header.Get("OData-EntityId"); loc != "" {
						ids[op.ContentID] = loc
					}
				}
			}
			return nil
		})
		if err != nil {
			if failed == nil {
				failed = newRecorder()
				e := records.AsError(err)
				writeError(failed, e)
			}
			writePart(&out, "batchresponse_"+id, failed, failedID)
			if !rq.prefer.continueOnError {
				stop = true
			}
			continue
		}
		csID := "changesetresponse_" + records.NewID()
		fmt.Fprintf(&out, "--batchresponse_%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", id, csID)
		for i, rec := range recs {
			writePart(&out, csID, rec, it.Changeset[i].ContentID)
		}
		fmt.Fprintf(&out, "--%s--\r\n", csID)
	}
	fmt.Fprintf(&out, "--batchresponse_%s--\r\n", id)
	w.Header().Set("Content-Type", "multipart/mixed; boundary=batchresponse_"+id)
	w.Header().Set("OData-Version", "4.0")
	if rq.prefer.continueOnError {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out.Bytes())
}

type changeset struct {
	tx  store.Tx
	ids map[string]string
}

func writePart(out *bytes.Buffer, boundary string, rec *recorder, contentID string) {
	fmt.Fprintf(out, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n", boundary)
	if contentID != "" {
		fmt.Fprintf(out, "Content-ID: %s\r\n", contentID)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	fmt.Fprintf(out, "\r\nHTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	keys := make([]string, 0, len(rec.header))
	for k := range rec.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range rec.header[k] {
			fmt.Fprintf(out, "%s: %s\r\n", wireName(k), strings.NewReplacer("{", "%7B", "}", "%7D", "\r", "", "\n", "").Replace(v))
		}
	}
	out.WriteString("\r\n")
	if rec.body.Len() > 0 {
		out.Write(bytes.TrimRight(rec.body.Bytes(), "\n"))
	}
	// The line break before the next delimiter belongs to the delimiter.
	out.WriteString("\r\n")
}

// underRoot is a batch operation's path relative to the service root
// (.../api/data/v9.2/).
func underRoot(path string) string {
	i := strings.Index(path, Prefix)
	if i < 0 {
		return strings.TrimPrefix(path, "/")
	}
	path = path[i+len(Prefix):]
	if _, after, ok := strings.Cut(path, "/"); ok {
		return after
	}
	return ""
}

// runBatchOp executes one operation of a batch through the normal dispatcher.
func (h *Handler) runBatchOp(outer *req, op *BatchRequest, cs *changeset) *recorder {
	rec := newRecorder()
	target := op.URL
	if cs != nil && strings.HasPrefix(target, "$") {
		ref, rest, _ := strings.Cut(target[1:], "/")
		if loc, ok := cs.ids[ref]; ok {
			target = loc
			if rest != "" {
				target += "/" + rest
			}
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		writeError(rec, badRequest("bad URL %q in the batch", op.URL))
		return rec
	}
	path, rawPath := underRoot(u.Path), underRoot(u.EscapedPath())
	ctx := outer.r.Context()
	if cs != nil {
		ctx = context.WithValue(ctx, txKey{}, cs.tx)
	}
	r, err := http.NewRequestWithContext(ctx, op.Method, outer.base+rawPath+"?"+u.RawQuery, strings.NewReader(op.Body))
	if err != nil {
		writeError(rec, badRequest("bad request in the batch: %v", err))
		return rec
	}
	r.Header = op.Header.Clone()
	r.ContentLength = int64(len(op.Body))
	query, err := odata.SplitQuery(u.RawQuery)
	if err != nil {
		writeError(rec, badRequest("%v", err))
		return rec
	}
	rq := &req{r: r, base: outer.base, query: query, user: outer.user, grants: outer.grants, corr: outer.corr}
	rq.prefer = parsePrefer(op.Header.Values("Prefer"))
	if cs != nil {
		rq.batchID = cs.ids
	}
	segs, err := splitPath(escapePath(path))
	if err != nil {
		writeError(rec, badRequest("bad URL %q in the batch", op.URL))
		return rec
	}
	rq.segs = segs
	if cs != nil && len(segs) > 0 && strings.HasPrefix(segs[0], "EntityDefinitions") {
		writeError(rec, badRequest("metadata changes cannot be part of a changeset"))
		return rec
	}
	rec.header.Set("OData-Version", "4.0")
	h.dispatch(rec, rq)
	return rec
}

func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// wireName spells OData headers as Dataverse does (clients match them by text).
func wireName(k string) string {
	switch k {
	case "Odata-Entityid":
		return "OData-EntityId"
	case "Odata-Version":
		return "OData-Version"
	case "Etag":
		return "ETag"
	}
	return k
}
