//go:build !cgo || !xslt

package workflow

import "errors"

// xsltAvailable: a build without cgo has no XSLT processor.
const xsltAvailable = false

func xsltTransform(xsl, doc []byte) ([]byte, error) {
	return nil, errors.New("this Junction was built without XSLT (build it with -tags xslt, which needs cgo and libxslt1-dev): Xslt actions cannot run")
}
