package records

import (
	"errors"
	"fmt"
	"net/http"
)

// Dataverse error codes, kept in one table.
const (
	CodeNotFound       = "0x80040217" // a record does not exist
	CodeDuplicateKey   = "0x80040237" // a record with matching key values already exists
	CodeConcurrency    = "0x80060882" // the version in If-Match is stale
	CodeBadSegment     = "0x80060888" // a URL segment or property does not resolve
	CodeValidation     = "0x80044331" // a value is out of range, too long or missing
	CodeBadPayload     = "0x80048d19" // the request body cannot be read
	CodeBadQuery       = "0x80060888" // a query option cannot be parsed
	CodeMethod         = "0x80060887" // the method is not supported on the resource
	CodeUnauthorized   = "0x80072560" // no valid bearer token
	CodeForbidden      = "0x80040220" // the caller lacks a privilege
	CodeNotSupported   = "0x80040800" // the message does not support the table
	CodeUserDisabled   = "0x80040225" // the calling user is disabled
	CodeTooManyReqs    = "0x80072322" // service protection: number of requests
	CodeTooMuchTime    = "0x80072321" // service protection: execution time
	CodeTooConcurrent  = "0x80072326" // service protection: concurrent requests
	CodeInternal       = "0x80040216" // an unexpected error
	CodeBatchTooLarge  = "0x8005f103" // too many operations in one $batch
	CodeInvalidMessage = "0x80040203" // invalid argument
	CodeAggregateLimit = "0x8004e023" // an aggregate over more than 50,000 rows
	CodePluginError    = "0x80040265" // a message's implementation failed (InvalidPluginExecutionException)
	CodeExpiredVersion = "0x80044352" // ExpiredVersionStamp: a delta token older than the change log's retention
	// CodeDeleteRestricted is CannotDeleteDueToAssociation: a relationship
	// with Restrict on delete holds the row.
	CodeDeleteRestricted = "0x80040227"
)

// Error is a failure with an HTTP status and a Dataverse code.
type Error struct {
	Status  int
	Code    string
	Message string
	// Column names the column a validation error is about, when there is one
	// (batch jobs put it in the rejects file); the wire formats leave it out.
	Column string
}

func (e *Error) Error() string { return e.Message }

// about sets the column e is about and returns e.
func (e *Error) about(column string) *Error {
	e.Column = column
	return e
}

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the error for a missing record.
func NotFound(table, id string) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, "%s With Id = %s Does Not Exist", table, id)
}

// Invalid is a validation error.
func Invalid(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeValidation, format, args...)
}

// AsError returns err as an *Error, mapping unknown errors to 500.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error()}
}
