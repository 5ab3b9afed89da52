package records

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"junction/internal/store"
)

// The columns the platform computes (Column.Computed), in the same
// transaction as the write that changes what they are computed from, so
// that queries, FetchXML and the change log see them at once:
//
//   - fullname, yomifullname: from firstname, middlename and lastname (and
//     their yomi variants), in the order the organization's
//     fullnameconventioncode gives (First Name Last Name by default).
//   - address1..address3, billto, shipto: the composite address from the
//     prefix's street lines, city, state, postal code and country.
//   - exchangerate: the rate of the row's currency when a money column or
//     the currency changes; base: the money column without _base divided by
//     that rate (the base currency's value).
//   - createdby, modifiedby: the caller; owninguser, owningteam and
//     owningbusinessunit: the owner and the owner's business unit.
//   - activitytypecode: the activity's table; filesize, isdocument: a
//     note's attachment; baseamount, extendedamount: a product line's
//     price times quantity, less discounts, plus tax.

var computedKinds = map[string]bool{"fullname": true, "yomifullname": true, "address1": true, "address2": true, "address3": true,
	"billto": true, "shipto": true, "exchangerate": true, "base": true, "createdby": true, "modifiedby": true, "createdonbehalfby": true,
	"modifiedonbehalfby": true, "owninguser": true, "owningteam": true, "owningbusinessunit": true, "activitytypecode": true,
	"filesize": true, "isdocument": true, "baseamount": true, "extendedamount": true}

// checkComputed verifies that each computed column has what it is computed
// from.
func (t *Table) checkComputed() error {
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Computed == "" {
			continue
		}
		where := fmt.Sprintf("table %s: column %s", t.Name, c.Name)
		if !computedKinds[c.Computed] {
			return fmt.Errorf("%s: unknown computation %q", where, c.Computed)
		}
		switch c.Computed {
		case "base":
			src, ok := t.cols[strings.TrimSuffix(c.Name, "_base")]
			if !strings.HasSuffix(c.Name, "_base") || !ok || src.Type != Money || c.Type != Money {
				return fmt.Errorf("%s: a base column is the Money column <name>_base of a Money column <name>", where)
			}
			if _, ok := t.cols["exchangerate"]; !ok {
				return fmt.Errorf("%s: a base column needs the table's exchangerate", where)
			}
		case "fullname", "yomifullname":
			if _, ok := t.cols["lastname"]; !ok {
				return fmt.Errorf("%s: a full name needs firstname and lastname", where)
			}
		case "address1", "address2", "address3", "billto", "shipto":
			if _, ok := t.cols[c.Computed+"_line1"]; !ok {
				return fmt.Errorf("%s: a composite address needs %s_line1", where, c.Computed)
			}
		case "exchangerate":
			if cur, ok := t.cols["transactioncurrencyid"]; !ok || cur.Type != Lookup {
				return fmt.Errorf("%s: an exchange rate needs the transactioncurrencyid lookup", where)
			}
		}
	}
	return nil
}

// orgCache remembers what computations need from the organization and
// other rows: the full-name convention, currency rates and owners' business
// units. A write to those rows on this node clears it; other nodes' writes
// show within orgCacheTTL.
type orgCache struct {
	mu      sync.Mutex
	gen     atomic.Int64
	seen    int64
	expires time.Time
	conv    int64
	convOK  bool
	rates   map[string]float64
	units   map[string]string
}

const orgCacheTTL = 5 * time.Second

func (c *orgCache) forget() { c.gen.Add(1) }

// fresh empties the cache when it is stale; call with mu held.
func (c *orgCache) fresh() {
	g := c.gen.Load()
	if g != c.seen || time.Now().After(c.expires) || c.rates == nil {
		c.seen, c.expires = g, time.Now().Add(orgCacheTTL)
		c.convOK = false
		c.rates, c.units = map[string]float64{}, map[string]string{}
	}
}

// forgetComputed drops cached inputs when a row they come from changes.
func (s *Service) forgetComputed(t *Table) {
	switch t.Name {
	case "organization", "transactioncurrency", "systemuser", "team":
		s.org.forget()
	}
}

func (s *Service) nameConvention(ctx context.Context, q store.Querier) (int64, error) {
	s.org.mu.Lock()
	s.org.fresh()
	if s.org.convOK {
		defer s.org.mu.Unlock()
		return s.org.conv, nil
	}
	s.org.mu.Unlock()
	var v any
	if err := q.QueryRow(ctx, `SELECT fullnameconventioncode FROM "rec_organization" WHERE organizationid = ?`, OrganizationID).Scan(&v); err != nil {
		return 1, nil // no organization row yet: the default
	}
	conv, ok := toInt(v)
	if !ok {
		conv = 1
	}
	s.org.mu.Lock()
	s.org.conv, s.org.convOK = conv, true
	s.org.mu.Unlock()
	return conv, nil
}

// currencyRate is the exchange rate of currency id. A missing currency is an
// error, unless checked: the write's own reference check then refuses it,
// naming the column, and the rate returned (1) is never stored.
func (s *Service) currencyRate(ctx context.Context, q store.Querier, id string, checked bool) (float64, error) {
	s.org.mu.Lock()
	s.org.fresh()
	r, ok := s.org.rates[id]
	s.org.mu.Unlock()
	if ok {
		return r, nil
	}
	var v any
	err := q.QueryRow(ctx, `SELECT exchangerate FROM "rec_transactioncurrency" WHERE transactioncurrencyid = ?`, id).Scan(&v)
	if checked && errors.Is(err, store.ErrNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("exchange rate of currency %s: %w", id, err)
	}
	r, _ = toFloat(v)
	if r <= 0 {
		r = 1
	}
	s.org.mu.Lock()
	s.org.rates[id] = r
	s.org.mu.Unlock()
	return r, nil
}

// ownerUnit returns the business unit of the user or team ref.
func (s *Service) ownerUnit(ctx context.Context, q store.Querier, ref Ref) (string, error) {
	key := ref.Table + "/" + ref.ID
	s.org.mu.Lock()
	s.org.fresh()
	bu, ok := s.org.units[key]
	s.org.mu.Unlock()
	if ok {
		return bu, nil
	}
	t, ok := s.Table(ref.Table)
	if !ok {
		return "", nil
	}
	if err := q.QueryRow(ctx, fmt.Sprintf(`SELECT COALESCE(businessunitid, '') FROM %s WHERE %s = ?`, Quote(t.SQLName()), Quote(t.PrimaryID())), ref.ID).Scan(&bu); err != nil {
		return "", nil // the write's reference check reports a missing owner
	}
	s.org.mu.Lock()
	s.org.units[key] = bu
	s.org.mu.Unlock()
	return bu, nil
}

// FullName joins first, middle and last names as the organization's
// FullNameConventionCode orders them.
func FullName(convention int64, first, middle, last string) string {
	initial := ""
	if r := []rune(middle); len(r) > 0 {
		initial = string(r[0]) + "."
	}
	join := func(sep string, parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, sep)
	}
	switch convention {
	case 0:
		return join(", ", last, first)
	case 2:
		return join(", ", last, join(" ", first, initial))
	case 3:
		return join(" ", first, initial, last)
	case 4:
		return join(", ", last, join(" ", first, middle))
	case 5:
		return join(" ", first, middle, last)
	case 6:
		return join(" ", last, first)
	case 7:
		return last + first
	}
	return join(" ", first, last)
}

// FormatAddress writes an address as Dataverse's FormatAddress does: the
// lines joined by CRLF in the country's order. Japan writes the postal code
// first and the street last; the rest of the world the street first and
// "City, State PostalCode" on one line.
func FormatAddress(street []string, city, state, zip, country string) string {
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	switch strings.ToUpper(strings.TrimSpace(country)) {
	case "JAPAN", "JP", "JPN", "日本":
		add(zip)
		add(state)
		add(city)
		for _, l := range street {
			add(l)
		}
	default:
		for _, l := range street {
			add(l)
		}
		cityLine := strings.TrimSpace(city)
		if state = strings.TrimSpace(state); state != "" {
			if cityLine != "" {
				cityLine += ", "
			}
			cityLine += state
		}
		if zip = strings.TrimSpace(zip); zip != "" {
			if cityLine != "" {
				cityLine += " "
			}
			cityLine += zip
		}
		add(cityLine)
	}
	add(country)
	return strings.Join(lines, "\r\n")
}

// compute fills row's computed columns for a write by who (before is nil on
// create; set lists the columns an update sets) and returns the computed
// columns it changed. It runs after the write is validated.
func (s *Service) compute(ctx context.Context, q store.Querier, t *Table, before, row Row, set []string, who Caller) ([]string, error) {
	if t.noCompute {
		return nil, nil
	}
	create := before == nil
	touched := func(cols ...string) bool {
		if create {
			return true
		}
		for _, c := range cols {
			if contains(set, c) {
				return true
			}
		}
		return false
	}
	var changed []string
	put := func(name string, v any) {
		if !create && sameValue(before[name], v) {
			return
		}
		row[name] = v
		changed = append(changed, name)
	}
	str := func(name string) string {
		v, _ := row[name].(string)
		return v
	}
	nilIfEmpty := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	// Money first: the base values need the rate.
	var money []string
	for i := range t.Columns {
		if c := &t.Columns[i]; c.Type == Money && c.Computed == "" {
			money = append(money, c.Name)
		}
	}
	rate := 0.0
	if rc, ok := t.cols["exchangerate"]; ok && rc.Computed == "exchangerate" && touched(append(money, "transactioncurrencyid")...) {
		anyMoney := false
		for _, m := range money {
			if row[m] != nil {
				anyMoney = true
			}
		}
		cur, given := row["transactioncurrencyid"].(Ref)
		// A currency this write sets is checked by the write's statement
		// (refChecks), which names it missing; one it keeps or defaults to
		// must be there now.
		checked := given && cur.ID != "" && touched("transactioncurrencyid")
		if cur.ID == "" && anyMoney {
			cur = Ref{Table: "transactioncurrency", ID: BaseCurrencyID}
			put("transactioncurrencyid", cur)
		}
		if cur.ID != "" {
			r, err := s.currencyRate(ctx, q, cur.ID, checked)
			if err != nil {
				return nil, err
			}
			rate = r
			put("exchangerate", r)
		} else if !create {
			put("exchangerate", nil)
		}
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Computed {
		case "":
		case "base":
			src := strings.TrimSuffix(c.Name, "_base")
			if !touched(src, "transactioncurrencyid") {
				continue
			}
			r := rate
			if r == 0 {
				r, _ = toFloat(row["exchangerate"])
			}
			v, ok := toFloat(row[src])
			if !ok || r == 0 {
				put(c.Name, nil)
				continue
			}
			put(c.Name, math.Round(v/r*1e4)/1e4)
		case "fullname", "yomifullname":
			prefix := ""
			if c.Computed == "yomifullname" {
				prefix = "yomi"
			}
			if !touched(prefix+"firstname", prefix+"middlename", prefix+"lastname") {
				continue
			}
			conv, err := s.nameConvention(ctx, q)
			if err != nil {
				return nil, err
			}
			name := FullName(conv, str(prefix+"firstname"), str(prefix+"middlename"), str(prefix+"lastname"))
			put(c.Name, nilIfEmpty(truncateRunes(name, c.MaxLength)))
		case "address1", "address2", "address3", "billto", "shipto":
			p := c.Computed + "_"
			if !touched(p+"line1", p+"line2", p+"line3", p+"city", p+"stateorprovince", p+"postalcode", p+"country") {
				continue
			}
			addr := FormatAddress([]string{str(p + "line1"), str(p + "line2"), str(p + "line3")}, str(p+"city"), str(p+"stateorprovince"), str(p+"postalcode"), str(p+"country"))
			put(c.Name, nilIfEmpty(truncateRunes(addr, c.MaxLength)))
		case "createdby":
			if create {
				put(c.Name, Ref{Table: "systemuser", ID: ownerOf(who)})
			}
		case "modifiedby":
			put(c.Name, Ref{Table: "systemuser", ID: ownerOf(who)})
		case "createdonbehalfby", "modifiedonbehalfby":
			// Junction has no impersonation: nobody acts on behalf of another.
		case "owninguser", "owningteam", "owningbusinessunit":
			if !touched("ownerid") {
				continue
			}
			owner, _ := row["ownerid"].(Ref)
			switch c.Computed {
			case "owninguser":
				if owner.Table == "systemuser" {
					put(c.Name, owner)
				} else {
					put(c.Name, nil)
				}
			case "owningteam":
				if owner.Table == "team" {
					put(c.Name, owner)
				} else {
					put(c.Name, nil)
				}
			default:
				bu, err := s.ownerUnit(ctx, q, owner)
				if err != nil {
					return nil, err
				}
				if bu == "" {
					put(c.Name, nil)
				} else {
					put(c.Name, Ref{Table: "businessunit", ID: bu})
				}
			}
		case "activitytypecode":
			if create {
				put(c.Name, t.Name)
			}
		case "filesize", "isdocument":
			if !touched("documentbody", "filename") {
				continue
			}
			body := str("documentbody")
			if c.Computed == "isdocument" {
				put(c.Name, body != "" || str("filename") != "")
				continue
			}
			if body == "" {
				put(c.Name, nil)
				continue
			}
			n, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				return nil, Invalid("documentbody must be base64-encoded: %v", err).about("documentbody")
			}
			put(c.Name, int64(len(n)))
		case "baseamount", "extendedamount":
			if !touched("priceperunit", "quantity", "manualdiscountamount", "volumediscountamount", "tax") {
				continue
			}
			price, pok := toFloat(row["priceperunit"])
			qty, qok := toFloat(row["quantity"])
			if !pok || !qok {
				put(c.Name, nil)
				continue
			}
			v := price * qty
			if c.Computed == "extendedamount" {
				d1, _ := toFloat(row["manualdiscountamount"])
				d2, _ := toFloat(row["volumediscountamount"])
				tax, _ := toFloat(row["tax"])
				v = v - d1 - d2 + tax
			}
			put(c.Name, math.Round(v*100)/100)
		}
	}
	// A base column of a computed money column (baseamount_base) follows it.
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Computed != "base" {
			continue
		}
		src, _ := t.Column(strings.TrimSuffix(c.Name, "_base"))
		if src == nil || src.Computed == "" || !contains(changed, src.Name) {
			continue
		}
		r, _ := toFloat(row["exchangerate"])
		if v, ok := toFloat(row[src.Name]); ok && r != 0 {
			put(c.Name, math.Round(v/r*1e4)/1e4)
		} else {
			put(c.Name, nil)
		}
	}
	return changed, nil
}
