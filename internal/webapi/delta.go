package webapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"junction/internal/changelog"
	"junction/internal/odata"
	"junction/internal/records"
	"junction/internal/store"
)

// deltaBatch bounds the change-log entries one delta response covers.
const deltaBatch = 5000

func encodeDelta(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("d:" + strconv.FormatInt(seq, 10)))
}

func decodeDelta(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), "d:") {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[2:]), 10, 64)
	return n, err == nil && n >= 0
}

// delta serves change tracking: the first request (Prefer: odata.track-changes)
// returns every row and a deltaLink; following it returns the rows changed
// since, and the deleted ones as $deletedEntity.
func (h *Handler) delta(w http.ResponseWriter, rq *req, t *records.Table, q *odata.Query) {
	if q.Filter != nil || q.OrderBy != nil || len(q.Expand) > 0 || q.Top >= 0 {
		h.fail(w, rq, badRequest("$filter, $orderby, $expand and $top cannot be combined with change tracking"))
		return
	}
	ctx := rq.r.Context()
	var value []map[string]any
	var next int64
	var st skipToken
	if q.Skip != "" {
		var err error
		if st, err = decodeToken(q.Skip); err != nil {
			h.fail(w, rq, err)
			return
		}
	}
	pageSize := MaxPageSize
	if rq.prefer.maxPageSize > 0 {
		pageSize = min(rq.prefer.maxPageSize, MaxPageSize)
	}
	nextLink := ""
	if txFrom(ctx) == nil {
		// Number what committed before this request (the client's own
		// writes among it) before the read's snapshot is taken.
		if err := changelog.Sequence(ctx, h.rec.Store()); err != nil {
			h.fail(w, rq, err)
			return
		}
	}
	err := h.read(rq, func(qr store.Querier) error {
		// The log position is read before the rows (and kept across the
		// pages of the first pass), so nothing committed in between is
		// missed; at worst a row is sent twice.
		next = st.Seq
		if next == 0 {
			var err error
			if next, err = changelog.Head(ctx, qr); err != nil {
				return err
			}
		}
		if q.Delta == "" {
			rows, err := h.selectRows(ctx, qr, rq, t, nil, nil, nil, pageSize+1, st.Offset)
			if err != nil {
				return err
			}
			if len(rows) > pageSize {
				rows = rows[:pageSize]
				v := cloneValues(rq.query)
				v.Set("$skiptoken", encodeToken(skipToken{Offset: st.Offset + pageSize, Seq: max(next, 1)}))
				nextLink = rq.base + t.SetName + "?" + encodeQuery(v)
			}
			value, err = h.shape(ctx, qr, rq, t, rows, q)
			return err
		}
		from, ok := decodeDelta(q.Delta)
		if !ok {
			return badRequest("The $deltatoken is not valid.")
		}
		// A token below the trim point asks for changes retention has
		// deleted: Dataverse answers ExpiredVersionStamp, and the client
		// starts over with a full sync.
		if expired, err := changelog.Expired(ctx, qr, from); err != nil {
			return err
		} else if expired {
			return records.Errorf(http.StatusBadRequest, records.CodeExpiredVersion,
				"Version stamp associated with the client has expired. Please perform a full sync.")
		}
		changes, err := changelog.Read(ctx, qr, from, t.Name, deltaBatch)
		if err != nil {
			return err
		}
		if len(changes) == deltaBatch {
			next = changes[len(changes)-1].Seq
		}
		last := map[string]string{}
		var order []string
		for _, c := range changes {
			if c.Seq > next {
				break
			}
			if c.Source != changelog.SourceJunction {
				continue // posted by a Dataverse org: not a change of this table
			}
			if _, seen := last[c.RecordID]; !seen {
				order = append(order, c.RecordID)
			}
			last[c.RecordID] = c.Message
		}
		var live []records.Row
		for _, id := range order {
			row, err := h.getRow(ctx, qr, rq, t, id)
			if err != nil {
				if records.AsError(err).Status == http.StatusForbidden {
					continue // a row the caller does not reach
				}
				if records.AsError(err).Status == http.StatusNotFound {
					value = append(value, map[string]any{"@odata.context": rq.base + "$metadata#" + t.SetName + "/$deletedEntity", "id": id, "reason": "deleted"})
					continue
				}
				return err
			}
			live = append(live, row)
		}
		shaped, err := h.shape(ctx, qr, rq, t, live, q)
		if err != nil {
			return err
		}
		value = append(shaped, value...)
		return nil
	})
	if err != nil {
		h.fail(w, rq, err)
		return
	}
	if value == nil {
		value = []map[string]any{}
	}
	ctxURL := rq.base + "$metadata#" + t.SetName + selectSuffix(q)
	if q.Delta != "" {
		ctxURL += "/$delta"
	}
	out := map[string]any{"@odata.context": ctxURL, "value": value}
	if nextLink != "" {
		out["@odata.nextLink"] = nextLink
	} else {
		v := cloneValues(rq.query)
		v.Del("$skiptoken")
		v.Set("$deltatoken", encodeDelta(next))
		out["@odata.deltaLink"] = rq.base + t.SetName + "?" + encodeQuery(v)
	}
	if rq.prefer.maxPageSize > 0 {
		w.Header().Add("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(rq.prefer.maxPageSize))
	}
	w.Header().Add("Preference-Applied", "odata.track-changes")
	writeJSON(w, http.StatusOK, out)
}
