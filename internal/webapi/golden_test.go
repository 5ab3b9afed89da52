package webapi_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	guidAny  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	hostPort = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	dateRe   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)
)

// normalize replaces what differs between runs: ids, ports, dates.
func normalize(s string) string {
	ids := map[string]string{}
	s = guidAny.ReplaceAllStringFunc(s, func(g string) string {
		if _, ok := ids[g]; !ok {
			ids[g] = "<id" + string(rune('A'+len(ids)%26)) + ">"
		}
		return ids[g]
	})
	s = hostPort.ReplaceAllString(s, "http://HOST")
	s = dateRe.ReplaceAllString(s, "<date>")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestMetadataGolden(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		r := b.mustStatus(b.do("GET", "$metadata", nil, "Accept", "application/xml"), 200)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
			t.Fatalf("content type %q", r.header.Get("Content-Type"))
		}
		if !strings.Contains(string(r.body), `<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm"`) {
			t.Fatal("no schema")
		}
		golden(t, "metadata.xml.golden", string(r.body))
	})
}

func TestBatchGolden(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		body, err := os.ReadFile(filepath.Join("testdata", "batch_request.txt"))
		if err != nil {
			t.Fatal(err)
		}
		r := b.mustStatus(b.do("POST", "$batch", string(body), "Content-Type", "multipart/mixed;boundary=batch_AAA123"), 200)
		out := string(r.body)
		if !strings.HasPrefix(out, "--batchresponse_") || !strings.HasPrefix(r.header.Get("Content-Type"), "multipart/mixed; boundary=batchresponse_") {
			t.Fatalf("batch response: %s", out)
		}
		for _, part := range strings.Split(out, "\r\n\r\n") {
			if hdr, _, _ := strings.Cut(part, "{"); strings.Contains(hdr, "HTTP/1.1") && strings.Contains(hdr, "{") {
				t.Fatalf("brace in part headers: %q", hdr)
			}
		}
		golden(t, "batch_response.golden", normalize(out))
		// The changeset's contact is linked to its account through $1.
		m := b.mustStatus(b.do("GET", "contacts?$select=lastname,_parentcustomerid_value&$expand=parentcustomerid_account($select=name)", nil), 200).json(t)
		row := m["value"].([]any)[0].(map[string]any)
		if row["parentcustomerid_account"].(map[string]any)["name"] != "Batch Account" {
			t.Fatalf("content-id reference: %v", row)
		}
	})
}

func TestBatchChangesetRollsBack(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bundle) {
		b.create("accounts", map[string]any{"name": "Existing", "accountnumber": "DUP"})
		body := strings.Join([]string{
			"--batch_x",
			"Content-Type: multipart/mixed;boundary=changeset_y",
			"",
			"--changeset_y",
			"Content-Type: application/http",
			"Content-Transfer-Encoding: binary",
			"Content-ID: 1",
			"",
			"POST " + b.base + "accounts HTTP/1.1",
			"Content-Type: application/json",
			"",
			`{"name":"First in changeset"}`,
			"--changeset_y",
			"Content-Type: application/http",
			"Content-Transfer-Encoding: binary",
			"Content-ID: 2",
			"",
			"POST /api/data/v9.2/accounts HTTP/1.1",
			"Content-Type: application/json",
			"",
			`{"name":"Duplicate","accountnumber":"DUP"}`,
			"--changeset_y--",
			"--batch_x",
			"Content-Type: application/http",
			"Content-Transfer-Encoding: binary",
			"",
			"GET accounts?$select=name HTTP/1.1",
			"Accept: application/json",
			"--batch_x--",
			"",
		}, "\n")
		r := b.mustStatus(b.do("POST", "$batch", body, "Content-Type", "multipart/mixed;boundary=batch_x"), 200)
		out := string(r.body)
		if !strings.Contains(out, "HTTP/1.1 412") || strings.Contains(out, "HTTP/1.1 200") {
			t.Fatalf("without continue-on-error the batch stops at the failure: %s", out)
		}
		c := b.mustStatus(b.do("GET", "accounts/$count", nil), 200)
		if string(c.body) != "1" {
			t.Fatalf("changeset left rows behind: %s", c.body)
		}
		r = b.mustStatus(b.do("POST", "$batch", body, "Content-Type", "multipart/mixed; boundary=\"batch_x\"", "Prefer", "odata.continue-on-error"), 200)
		if out := string(r.body); !strings.Contains(out, "HTTP/1.1 412") || !strings.Contains(out, "HTTP/1.1 200") {
			t.Fatalf("continue-on-error: %s", out)
		}
		r = b.do("POST", "$batch", "garbage", "Content-Type", "multipart/mixed;boundary=batch_x")
		if r.status != 400 {
			t.Fatalf("garbage batch: %d", r.status)
		}
	})
}
