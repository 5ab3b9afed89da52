package server

import (
	"encoding/json"
	"net/http"
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
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "invalid JSON body: unexpected data after the object")
		return false
	}
	return true
}
