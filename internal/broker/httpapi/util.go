package httpapi

import (
	"bytes"
	"errors"
	"io"

	"junction/internal/broker"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func asBrokerErr(err error, target **broker.Error) bool { return errors.As(err, target) }
