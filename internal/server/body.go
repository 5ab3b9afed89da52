package server

import (
	"io"
	"net/http"
)

// ReadBody reads a request body whole. With a Content-Length it allocates
// the body's size once, where io.ReadAll would grow its buffer through a
// series of copies; the route's body limit (http.MaxBytesReader) still
// applies, so a wrong Content-Length cannot make it read more.
func ReadBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength <= 0 {
		return io.ReadAll(r.Body)
	}
	buf := make([]byte, 0, r.ContentLength+1) // +1 to see the end without growing
	for {
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // longer than announced: let append grow it
		}
	}
}
