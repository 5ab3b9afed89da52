package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// Error codes of the management API, kept in one table.
const (
	CodeBadRequest       = "BadRequest"
	CodeInvalidField     = "InvalidField"
	CodeUnauthorized     = "Unauthorized"
	CodeForbidden        = "Forbidden"
	CodeNotFound         = "NotFound"
	CodeConflict         = "Conflict"
	CodeTooLarge         = "RequestTooLarge"
	CodeMethodNotAllowed = "MethodNotAllowed"
	CodeInternal         = "InternalError"
	CodeUnavailable      = "ServiceUnavailable"
)

// ErrorBody is the management API's error format, the shape Azure Resource
// Manager uses: {"error":{"code":"...","message":"...","target":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// WriteError writes a management API error.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// WriteFieldError writes a management API error that names the offending field.
func WriteFieldError(w http.ResponseWriter, field, message string) {
	WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: ErrorDetail{Code: CodeInvalidField, Message: message, Target: field}})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON strictly decodes a request body into v: unknown fields, trailing
// data and oversize bodies are errors. On failure it has written the error
// response and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if asMaxBytes(err, &tooLarge) {
			WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "request body is larger than the limit of "+itoa(tooLarge.Limit)+" bytes")
			return false
		}
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "invalid JSON body: "+DescribeJSONError(err))
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "invalid JSON body: unexpected data after the object")
		return false
	}
	return true
}

// DescribeJSONError says what is wrong with a JSON body in the client's terms:
// JSON kinds and field paths, never the Go types it was decoded into.
func DescribeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := jsonKind(typeErr.Type)
		if typeErr.Field == "" {
			return "the body must be a JSON " + want + ", not " + article(typeErr.Value)
		}
		return "the field " + strconv.Quote(typeErr.Field) + " must be " + article(want) + ", not " + article(typeErr.Value)
	case errors.As(err, &syntaxErr):
		return "invalid JSON at byte " + strconv.FormatInt(syntaxErr.Offset, 10) + ": " + strings.TrimPrefix(syntaxErr.Error(), "invalid character ")
	case errors.Is(err, io.EOF):
		return "the body is empty; a JSON value was expected"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON body ends early"
	}
	msg := err.Error()
	if field, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + field
	}
	return strings.TrimPrefix(msg, "json: ")
}

// jsonKind names the JSON kind a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}

func article(kind string) string {
	switch {
	case kind == "":
		return "a value"
	case strings.HasPrefix(kind, "number ") || strings.HasPrefix(kind, "string ") || kind == "bool":
		kind = strings.Fields(kind)[0]
		if kind == "bool" {
			kind = "boolean"
		}
	}
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
