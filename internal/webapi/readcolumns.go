package webapi

import (
	"strings"

	"junction/internal/odata"
	"junction/internal/records"
)

// readColumns is the set of t's columns that answering query needs, or nil
// (every column) when query selects them all: the columns $select names
// (a lookup's value brings its table when the lookup is polymorphic, and the
// annotations of its value are read from the tables it points at), the
// primary id, the version behind the ETag, the owner the row-level read
// check reads, and the lookups that single-valued expansions follow;
// also names more (the lookup a collection expansion groups the related
// rows by). A $select that names no column of t reads every column, and
// shape reports it.
func (h *Handler) readColumns(t *records.Table, query *odata.Query, also ...string) *records.Columns {
	if query == nil || len(query.Select) == 0 || len(query.Select) == 1 && query.Select[0] == "*" {
		return nil
	}
	if len(query.Expand) > 0 || len(also) > 0 {
		return h.buildReadColumns(t, query, also)
	}
	// Without expansions the set depends on the $select list and t's
	// columns only: it is kept with t's column sets under the list.
	key := strings.Join(query.Select, ",")
	if c := t.KeptColumns(key); c != nil {
		return c
	}
	c := h.buildReadColumns(t, query, nil)
	t.KeepColumns(key, c)
	return c
}

// buildReadColumns is readColumns' set, built.
func (h *Handler) buildReadColumns(t *records.Table, query *odata.Query, also []string) *records.Columns {
	cols, err := selected(t, query.Select)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(cols)+len(query.Expand)+len(also))
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if len(query.Expand) > 0 {
		all := h.rec.All()
		for _, e := range query.Expand {
			if nv, ok := findNav(all, t, e.Nav); ok && !nv.Collection {
				names = append(names, nv.Column.Name)
			}
		}
	}
	return columnsFor(t, append(names, also...)...)
}

// columnsFor is the set of t's columns names with those every read of a
// row needs: the primary id, the version behind the ETag and the owner the
// row-level read check reads.
func columnsFor(t *records.Table, names ...string) *records.Columns {
	names = append(names, t.PrimaryID(), "versionnumber")
	if t.Owned() {
		names = append(names, "ownerid")
	}
	return t.ColumnSet(names...)
}
