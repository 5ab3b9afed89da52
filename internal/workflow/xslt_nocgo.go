//go:build !cgo || noxslt

package workflow

import "errors"

// xsltAvailable: a build without cgo has no XSLT processor.
const xsltAvailable = false

func xsltTransform(xsl, doc []byte) ([]byte, error) {
	return nil, errors.New("this Junction was built without libxslt (CGO_ENABLED=0 or the noxslt tag): Xslt actions cannot run")
}
