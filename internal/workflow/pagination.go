package workflow

import (
	"context"

	"junction/internal/expr"
)

// maxPaginatedItems bounds what a paginated action collects, as Logic Apps
// bounds it (Microsoft Learn, "Get more data, items, or records by using
// pagination in Azure Logic Apps": a threshold of at most 100,000 items).
const maxPaginatedItems = 100000

// paginationMinimum is runtimeConfiguration.paginationPolicy.minimumItemCount
// (0: no pagination).
func paginationMinimum(a *Action) int {
	if a.RuntimeConfiguration == nil {
		return 0
	}
	p, ok := expr.Normalize(a.RuntimeConfiguration.PaginationPolicy).(map[string]any)
	if !ok {
		return 0
	}
	n, _ := wholeNumber(p["minimumItemCount"])
	return int(min(n, maxPaginatedItems))
}

// pageShape says where a page keeps its items and its next page's link.
type pageShape struct {
	items string   // the array of items
	links []string // properties that may hold the next link, in order
	keep  string   // where the merged body keeps the next unread link
}

// httpPages is the paged answer the Http action follows: {"value": [...]}
// with "@odata.nextLink" or "nextLink".
var httpPages = pageShape{items: "value", links: []string{"@odata.nextLink", "nextLink"}, keep: "nextLink"}

// paginate follows a paged answer (the body of first's outputs) until it has
// at least min items or there is no next page (Microsoft Learn, "Get more
// data, items, or records by using pagination in Azure Logic Apps"): whole
// pages are read, so the action may return more items than min; the body
// keeps the first page's other properties, with every page's items and the
// link of the first page not read (none when all were read).
func (c *call) paginate(ctx context.Context, first attempt, min int, shape pageShape, get func(ctx context.Context, link string) attempt) attempt {
	out, _ := first.outputs.(map[string]any)
	body, ok := out["body"].(map[string]any)
	if !ok {
		return first
	}
	items, _ := body[shape.items].([]any)
	next := func(b map[string]any) string {
		for _, k := range shape.links {
			if s, ok := b[k].(string); ok && s != "" {
				return s
			}
		}
		return ""
	}
	link := next(body)
	for link != "" && len(items) < min && len(items) < maxPaginatedItems {
		res := get(ctx, link)
		if res.err != nil {
			return res
		}
		po, _ := res.outputs.(map[string]any)
		page, _ := po["body"].(map[string]any)
		vals, _ := page[shape.items].([]any)
		items = append(items, vals...)
		link = next(page)
	}
	merged := make(map[string]any, len(body))
	for k, v := range body {
		merged[k] = v
	}
	for _, k := range shape.links {
		delete(merged, k)
	}
	merged[shape.items] = items
	if link != "" {
		merged[shape.keep] = link
	}
	cp := make(map[string]any, len(out))
	for k, v := range out {
		cp[k] = v
	}
	cp["body"] = merged
	first.outputs = cp
	return first
}
