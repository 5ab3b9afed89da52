package webapi

import (
	"strings"
	"testing"
)

func TestReadBatchForms(t *testing.T) {
	t.Parallel()
	crlf := strings.ReplaceAll("--b\nContent-Type: application/http\n\nGET accounts HTTP/1.1\nAccept: application/json\n\n--b--\n", "\n", "\r\n")
	items, err := ReadBatch(crlf, `multipart/mixed; boundary="b"`)
	if err != nil || len(items) != 1 || items[0].Request.Method != "GET" || items[0].Request.Header.Get("Accept") != "application/json" {
		t.Fatalf("crlf: %+v %v", items, err)
	}
	noBlank := "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET accounts HTTP/1.1\nAccept: application/json\n--b--"
	if items, err = ReadBatch(noBlank, "multipart/mixed;boundary=b"); err != nil || items[0].Request.URL != "accounts" {
		t.Fatalf("no blank line: %+v %v", items, err)
	}
	for _, bad := range []string{"", "--b\n\nnot a request\n--b--", "--b\nContent-Type: multipart/mixed;boundary=c\n\n--c\n\nGET a HTTP/1.1\n\n--c--\n--b--", "--b\n\nPOST a HTTP/1.1\n\n{}"} {
		if _, err := ReadBatch(bad, "multipart/mixed;boundary=b"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var sb strings.Builder
	for i := 0; i <= MaxBatchOperations; i++ {
		sb.WriteString("--b\n\nGET a HTTP/1.1\n\n")
	}
	sb.WriteString("--b--")
	if _, err := ReadBatch(sb.String(), "multipart/mixed;boundary=b"); err == nil {
		t.Error("more than 1000 operations accepted")
	}
}

func FuzzReadBatch(f *testing.F) {
	f.Add("--b\nContent-Type: application/http\n\nGET accounts HTTP/1.1\n\n--b--", "multipart/mixed;boundary=b")
	f.Add("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPOST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"name\":\"x\"}\r\n--c--\r\n--b--\r\n", `multipart/mixed; boundary="b"`)
	f.Fuzz(func(t *testing.T, body, ct string) {
		items, err := ReadBatch(body, ct)
		if err != nil {
			return
		}
		n := 0
		for _, it := range items {
			if (it.Request == nil) == (it.Changeset == nil) {
				t.Fatal("an item is neither a request nor a changeset")
			}
			n += len(it.Changeset)
			if it.Request != nil {
				n++
			}
			for _, r := range it.Changeset {
				if r.Method == "GET" {
					t.Fatal("GET inside a changeset accepted")
				}
			}
		}
		if n > MaxBatchOperations {
			t.Fatal("too many operations accepted")
		}
	})
}
