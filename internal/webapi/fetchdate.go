package webapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"junction/internal/records"
	"junction/internal/store"
)

// dateGrouping is the SQL of a FetchXML dategrouping and, for the fiscal
// groupings, how its number reads.
type dateGrouping struct {
	expr  string
	label func(int64) string
}

// datePart is the SQL of one part of a date-time column stored as Unix
// microseconds, in UTC: year, month, day, quarter, week, doy (day of the
// year) or jan1dow (the weekday of the year's 1 January, Sunday 0).
func datePart(d store.Dialect, ref, part string) string {
	if d == store.Postgres {
		ts := "(to_timestamp(" + ref + " / 1000000.0) AT TIME ZONE 'UTC')"
		switch part {
		case "jan1dow":
			return "CAST(EXTRACT(DOW FROM date_trunc('year', " + ts + ")) AS BIGINT)"
		case "week":
			return "((" + datePart(d, ref, "doy") + " - 1 + " + datePart(d, ref, "jan1dow") + ") / 7 + 1)"
		}
		return "CAST(EXTRACT(" + strings.ToUpper(part) + " FROM " + ts + ") AS BIGINT)"
	}
	x := ref + " / 1000000, 'unixepoch'"
	f := map[string]string{"year": "%Y", "month": "%m", "day": "%d", "doy": "%j"}
	switch part {
	case "quarter":
		return "((" + datePart(d, ref, "month") + " + 2) / 3)"
	case "jan1dow":
		return "CAST(strftime('%w', " + x + ", 'start of year') AS INTEGER)"
	case "week":
		return "((" + datePart(d, ref, "doy") + " - 1 + " + datePart(d, ref, "jan1dow") + ") / 7 + 1)"
	}
	return "CAST(strftime('" + f[part] + "', " + x + ") AS INTEGER)"
}

// dateGroup is the SQL for dategrouping over the column ref, as "Aggregate
// data using FetchXml" (Grouping by parts of a date) answers it: day, week,
// month, quarter and year are numbers (the week as SQL Server's
// DATEPART(week): weeks start on Sunday and week 1 holds 1 January);
// fiscal-period and fiscal-year are the organization's labels ("Quarter 1
// FY2023", "FY2023"), from its fiscal settings (fiscalSettings).
func (h *Handler) dateGroup(rq *req, d store.Dialect, ref, grouping string) (dateGrouping, error) {
	switch g := strings.ToLower(grouping); g {
	case "year", "month", "day", "quarter", "week":
		return dateGrouping{expr: datePart(d, ref, g)}, nil
	case "fiscal-period", "fiscal-year":
		fs, err := h.fiscalSettings(rq)
		if err != nil {
			return dateGrouping{}, err
		}
		month, year := datePart(d, ref, "month"), datePart(d, ref, "year")
		fy := "(" + year + " - CASE WHEN " + month + " < " + strconv.Itoa(fs.startMonth) + " THEN 1 ELSE 0 END)"
		if fs.endYear && fs.startMonth != 1 {
			fy = "(" + fy + " + 1)"
		}
		if g == "fiscal-year" {
			return dateGrouping{expr: fy, label: fs.yearLabel}, nil
		}
		period := fmt.Sprintf("(((%s + 12 - %d) %% 12) / %d + 1)", month, fs.startMonth, 12/fs.periods)
		return dateGrouping{expr: "(" + fy + " * 100 + " + period + ")", label: func(n int64) string {
			return strings.ReplaceAll(fs.periodFormat, "{0}", strconv.FormatInt(n%100, 10)) + fs.connect + fs.yearLabel(n/100)
		}}, nil
	}
	return dateGrouping{}, badRequest("Invalid value '%s' for dategrouping (day, week, month, quarter, year, fiscal-period, fiscal-year).", grouping)
}

// fiscal is the organization's fiscal year, from its organization row:
// fiscalcalendarstart (the month it starts; the day is not used),
// fiscalperiodtype (the periods in a year: 1, 2, 3, 4, 6 or 12; Dataverse
// does not document how it encodes the column, so Junction takes the count),
// fiscalyeardisplaycode (1: a fiscal year is named by the calendar year it
// starts in, 2: by the one it ends in), fiscalperiodformat ("Quarter {0}"),
// fiscalyearformat ("FY{0}") and fiscalyearperiodconnect (" "). Empty
// columns take those defaults: quarters of a fiscal year that is the
// calendar year, as a new Dataverse organization has.
type fiscal struct {
	startMonth, periods               int
	endYear                           bool
	periodFormat, yearFormat, connect string
}

func (f fiscal) yearLabel(y int64) string {
	return strings.ReplaceAll(f.yearFormat, "{0}", strconv.FormatInt(y, 10))
}

func (h *Handler) fiscalSettings(rq *req) (fiscal, error) {
	fs := fiscal{startMonth: 1, periods: 4, periodFormat: "Quarter {0}", yearFormat: "FY{0}", connect: " "}
	org, ok := h.rec.Table("organization")
	if !ok {
		return fs, nil
	}
	var row records.Row
	err := h.read(rq, func(q store.Querier) error {
		var err error
		row, err = h.rec.Get(rq.r.Context(), q, org, records.OrganizationID)
		return err
	})
	if err != nil {
		return fs, err
	}
	if t, ok := row["fiscalcalendarstart"].(time.Time); ok {
		fs.startMonth = int(t.UTC().Month())
	}
	if n, ok := row["fiscalperiodtype"].(int64); ok {
		switch n {
		case 1, 2, 3, 4, 6, 12:
			fs.periods = int(n)
		default:
			return fs, badRequest("The organization's fiscalperiodtype %d is not a number of periods in a year (1, 2, 3, 4, 6 or 12).", n)
		}
	}
	fs.endYear = row["fiscalyeardisplaycode"] == int64(2)
	for col, dst := range map[string]*string{"fiscalperiodformat": &fs.periodFormat, "fiscalyearformat": &fs.yearFormat, "fiscalyearperiodconnect": &fs.connect} {
		if s, ok := row[col].(string); ok {
			*dst = s
		}
	}
	return fs, nil
}
