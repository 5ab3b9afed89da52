//go:build cgo && xslt

package workflow

/*
#cgo pkg-config: libxslt
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>
#include <libxslt/security.h>

// Errors of one call are collected in a per-thread buffer: a whole
// transform runs in one C call, on one thread.
static __thread char jx_err[1024];

static void jx_error(void *ctx, const char *msg, ...) {
	size_t n = strlen(jx_err);
	if (n >= sizeof(jx_err) - 1) return;
	va_list ap;
	va_start(ap, msg);
	vsnprintf(jx_err + n, sizeof(jx_err) - n, msg, ap);
	va_end(ap);
}

// Documents are read without the network, external entities or DTD loading.
#define JX_PARSE (XML_PARSE_NONET | XML_PARSE_NOCDATA)

// jx_init forbids file and network access to every stylesheet, at compile
// time (xsl:include, xsl:import) and at run time (document()).
static void jx_init(void) {
	xmlInitParser();
	xsltInit();
	xsltSecurityPrefsPtr sec = xsltNewSecurityPrefs();
	xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_FILE, xsltSecurityForbid);
	xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
	xsltSetSecurityPrefs(sec, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid);
	xsltSetSecurityPrefs(sec, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid);
	xsltSetSecurityPrefs(sec, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid);
	xsltSetDefaultSecurityPrefs(sec);
}

// jx_transform applies stylesheet xsl to document doc (when doc is NULL it
// only compiles the stylesheet). It returns 0 and the result in *out (to be
// freed with free) or -1 and the error in *err (static, per thread).
static int jx_transform(const char *xsl, int xsllen, const char *doc, int doclen, char **out, int *outlen, const char **err) {
	jx_err[0] = 0;
	*out = NULL; *outlen = 0; *err = jx_err;
	xmlSetGenericErrorFunc(NULL, jx_error);
	xsltSetGenericErrorFunc(NULL, jx_error);
	xmlDocPtr sdoc = xmlReadMemory(xsl, xsllen, "map.xslt", NULL, JX_PARSE);
	if (sdoc == NULL) {
		if (!jx_err[0]) snprintf(jx_err, sizeof(jx_err), "the map is not XML");
		return -1;
	}
	xsltStylesheetPtr style = xsltParseStylesheetDoc(sdoc);
	if (style == NULL || style->errors > 0) {
		if (style) xsltFreeStylesheet(style); else xmlFreeDoc(sdoc);
		if (!jx_err[0]) snprintf(jx_err, sizeof(jx_err), "the map is not an XSLT 1.0 stylesheet");
		return -1;
	}
	if (doc == NULL) {
		xsltFreeStylesheet(style);
		return 0;
	}
	xmlDocPtr in = xmlReadMemory(doc, doclen, "content.xml", NULL, JX_PARSE);
	if (in == NULL) {
		xsltFreeStylesheet(style);
		if (!jx_err[0]) snprintf(jx_err, sizeof(jx_err), "the content is not XML");
		return -2;
	}
	xsltTransformContextPtr ctxt = xsltNewTransformContext(style, in);
	xmlDocPtr res = xsltApplyStylesheetUser(style, in, NULL, NULL, NULL, ctxt);
	int rc = 0;
	if (res == NULL || ctxt->state == XSLT_STATE_ERROR || ctxt->state == XSLT_STATE_STOPPED) {
		if (!jx_err[0]) snprintf(jx_err, sizeof(jx_err), "the transform failed");
		rc = -1;
	} else {
		xmlChar *buf = NULL;
		int len = 0;
		if (xsltSaveResultToString(&buf, &len, res, style) != 0) {
			snprintf(jx_err, sizeof(jx_err), "the result cannot be written");
			rc = -1;
		} else {
			*out = (char *)buf;
			*outlen = len;
		}
	}
	if (res) xmlFreeDoc(res);
	xsltFreeTransformContext(ctxt);
	xmlFreeDoc(in);
	xsltFreeStylesheet(style);
	return rc;
}
*/
import "C"

import (
	"errors"
	"strings"
	"sync"
	"unsafe"
)

var xsltInit sync.Once

// xsltAvailable: this build has libxslt.
const xsltAvailable = true

// xsltTransform applies an XSLT 1.0 stylesheet with libxslt (the GNOME
// project's XSLT 1.0 processor); with doc nil it only compiles the
// stylesheet. File and network access from the stylesheet (document(),
// xsl:include of other files) is forbidden.
func xsltTransform(xsl, doc []byte) ([]byte, error) {
	if len(xsl) == 0 {
		return nil, errors.New("the map is empty")
	}
	xsltInit.Do(func() { C.jx_init() })
	cx := C.CBytes(xsl)
	defer C.free(cx)
	var cd unsafe.Pointer
	if doc != nil {
		cd = C.CBytes(append(doc, 0))
		defer C.free(cd)
	}
	var out *C.char
	var outlen C.int
	var cerr *C.char
	rc := C.jx_transform((*C.char)(cx), C.int(len(xsl)), (*C.char)(cd), C.int(len(doc)), &out, &outlen, &cerr)
	if rc != 0 {
		// libxml2 writes its messages on several lines (with a caret
		// under the fault); they are joined into one.
		var lines []string
		for _, l := range strings.Split(C.GoString(cerr), "\n") {
			if l = strings.TrimSpace(l); l != "" && strings.Trim(l, "^") != "" {
				lines = append(lines, l)
			}
		}
		msg := strings.Join(lines, "; ")
		if rc == -2 {
			return nil, &xsltContentError{msg}
		}
		return nil, errors.New(msg)
	}
	if out == nil {
		return []byte{}, nil
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), outlen), nil
}
