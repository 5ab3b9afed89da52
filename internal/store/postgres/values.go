package postgres

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"junction/internal/store"
)

// autocommitReader is ReadAutocommit's Querier: the pool's, and
// QueryValues on one of the pool's pgx connections, which decodes each
// row's values from the wire bytes pgx read rather than through
// database/sql (for a list of 150 columns and 21 rows, database/sql and
// pgx's stdlib set up a conversion a column for each statement, and copy
// and convert every value twice a row).
type autocommitReader struct {
	*store.SQLQuerier
	s *Store
}

var _ store.ValuesQuerier = autocommitReader{}

// resultFormats are the result columns' formats database/sql's pgx driver
// asks for (stdlib's databaseSQLResultFormats): binary for these types,
// text for every other.
var resultFormats = pgx.QueryResultFormatsByOID{
	pgtype.BoolOID: 1, pgtype.ByteaOID: 1, pgtype.CIDOID: 1, pgtype.DateOID: 1,
	pgtype.Float4OID: 1, pgtype.Float8OID: 1, pgtype.Int2OID: 1, pgtype.Int4OID: 1, pgtype.Int8OID: 1,
	pgtype.OIDOID: 1, pgtype.TimestampOID: 1, pgtype.TimestamptzOID: 1, pgtype.XIDOID: 1,
}

// QueryValues implements store.ValuesQuerier. A connection found broken
// before the statement was sent is dropped and the statement sent on
// another, as database/sql does.
func (q autocommitReader) QueryValues(ctx context.Context, query string, args []any, fn func(row []any) error) error {
	query = Rebind(query)
	for attempt := 0; ; attempt++ {
		err := q.queryValues(ctx, query, args, fn)
		if err == driver.ErrBadConn && attempt < 2 {
			continue
		}
		return q.MapErr(err)
	}
}

func (q autocommitReader) queryValues(ctx context.Context, query string, args []any, fn func(row []any) error) error {
	conn, err := q.s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		rows, err := c.Query(ctx, query, append([]any{resultFormats}, args...)...)
		if err != nil {
			if pgconn.SafeToRetry(err) {
				return driver.ErrBadConn
			}
			return err
		}
		defer rows.Close()
		fds := rows.FieldDescriptions()
		decode := make([]func([]byte) (any, error), len(fds))
		for i, fd := range fds {
			decode[i] = decoder(c.TypeMap(), fd)
		}
		row := make([]any, len(fds))
		for rows.Next() {
			for i, raw := range rows.RawValues() {
				if raw == nil {
					row[i] = nil
					continue
				}
				if row[i], err = decode[i](raw); err != nil {
					return fmt.Errorf("convert field %d: %w", i, err)
				}
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// decoder returns the conversion of a non-null value of the result column
// fd into what database/sql's Scan into an *any gives through pgx's
// driver: the types Junction's tables have (bigint, double precision,
// text) and the other common ones read straight from their bytes, the
// rest as pgx's driver converts them.
func decoder(m *pgtype.Map, fd pgconn.FieldDescription) func([]byte) (any, error) {
	if fd.Format == pgx.TextFormatCode {
		switch fd.DataTypeOID {
		case pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
			return func(b []byte) (any, error) { return bytes.Clone(b), nil }
		}
		if _, binary := resultFormats[fd.DataTypeOID]; binary {
			// Asked for in binary, but in text where the connection's
			// statements go by the simple protocol or the exec mode
			// (default_query_exec_mode in the URL): scanned from their
			// text into the Go values the driver gives.
			return scanDecoder(m, fd)
		}
		return func(b []byte) (any, error) { return string(b), nil }
	}
	switch fd.DataTypeOID {
	case pgtype.Int8OID:
		return decodeInt8
	case pgtype.Int4OID:
		return decodeInt4
	case pgtype.Int2OID:
		return decodeInt2
	case pgtype.Float8OID:
		return decodeFloat8
	case pgtype.Float4OID:
		return decodeFloat4
	case pgtype.BoolOID:
		return decodeBool
	case pgtype.ByteaOID:
		return func(b []byte) (any, error) { return bytes.Clone(b), nil }
	}
	return scanDecoder(m, fd) // dates, times, CID, OID, XID: the other binary ones
}

// scanDecoder is the conversion of a value of one of the types pgx's driver
// asks for in binary (resultFormats), in either format, as the driver scans
// it through pgx's scan plan.
func scanDecoder(m *pgtype.Map, fd pgconn.FieldDescription) func([]byte) (any, error) {
	switch fd.DataTypeOID {
	case pgtype.BoolOID:
		return scanned(m, fd, func(v bool) any { return v })
	case pgtype.ByteaOID:
		return scanned(m, fd, func(v []byte) any { return bytes.Clone(v) })
	case pgtype.Int2OID:
		return scanned(m, fd, func(v int16) any { return int64(v) })
	case pgtype.Int4OID:
		return scanned(m, fd, func(v int32) any { return int64(v) })
	case pgtype.Int8OID:
		return scanned(m, fd, func(v int64) any { return v })
	case pgtype.Float4OID:
		return scanned(m, fd, func(v float32) any { return float64(v) })
	case pgtype.Float8OID:
		return scanned(m, fd, func(v float64) any { return v })
	case pgtype.DateOID:
		return planned[pgtype.Date](m, fd)
	case pgtype.TimestampOID:
		return planned[pgtype.Timestamp](m, fd)
	case pgtype.TimestamptzOID:
		return planned[pgtype.Timestamptz](m, fd)
	}
	return planned[pgtype.Uint32](m, fd)
}

// scanned is a decoder through pgx's scan plan into T, then value.
func scanned[T any](m *pgtype.Map, fd pgconn.FieldDescription, value func(T) any) func([]byte) (any, error) {
	var d T
	plan := m.PlanScan(fd.DataTypeOID, fd.Format, &d)
	return func(b []byte) (any, error) {
		if err := plan.Scan(b, &d); err != nil {
			return nil, err
		}
		return value(d), nil
	}
}

// The decoders of the binary values of fixed size are functions of their
// own, not closures made for each column of each statement.

func decodeInt8(b []byte) (any, error) {
	if err := size(b, 8); err != nil {
		return nil, err
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func decodeInt4(b []byte) (any, error) {
	if err := size(b, 4); err != nil {
		return nil, err
	}
	return int64(int32(binary.BigEndian.Uint32(b))), nil
}

func decodeInt2(b []byte) (any, error) {
	if err := size(b, 2); err != nil {
		return nil, err
	}
	return int64(int16(binary.BigEndian.Uint16(b))), nil
}

func decodeFloat8(b []byte) (any, error) {
	if err := size(b, 8); err != nil {
		return nil, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

func decodeFloat4(b []byte) (any, error) {
	if err := size(b, 4); err != nil {
		return nil, err
	}
	return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
}

func decodeBool(b []byte) (any, error) {
	if err := size(b, 1); err != nil {
		return nil, err
	}
	return b[0] == 1, nil
}

// size checks that a binary value has the n bytes of its type.
func size(b []byte, n int) error {
	if len(b) != n {
		return fmt.Errorf("%d bytes for a value of %d", len(b), n)
	}
	return nil
}

// planned is a decoder through pgx's scan plan into T and T's driver
// value, as pgx's database/sql driver converts T's type.
func planned[T any, PT interface {
	*T
	driver.Valuer
}](m *pgtype.Map, fd pgconn.FieldDescription) func([]byte) (any, error) {
	var d T
	plan := m.PlanScan(fd.DataTypeOID, fd.Format, &d)
	return func(b []byte) (any, error) {
		if err := plan.Scan(b, &d); err != nil {
			return nil, err
		}
		return PT(&d).Value()
	}
}
