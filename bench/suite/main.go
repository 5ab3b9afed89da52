// Command suite runs Junction's throughput benchmarks beside their ceilings
// and peers in one sitting and prints one table with the ratios: the Web API
// against net/http alone, PostgreSQL against SQLite, the broker against
// RabbitMQ and NATS (the side-by-side harness in bench/), the CSV import
// against raw SQLite inserts and PostgreSQL COPY, triggered functions against
// the broker's own receive rate. Machines here are shared and noisy: the
// ratios, measured minutes apart, are what to read.
//
//	go run ./bench/suite            (make bench)
//	go run ./bench/suite -quick     (fewer iterations, for a look)
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bench names one benchmark result: the package, the benchmark (a -bench
// pattern matching exactly it), its iterations and the metric it reports.
type bench struct {
	pkg, name, benchtime, unit string
}

// row is a line of the table: Junction's figure and, when there is one, the
// ceiling or peer it is read against.
type row struct {
	work       string
	junction   bench
	peer       *bench
	peerLabel  string
	peerSystem string // from the side-by-side harness instead of peer
}

func b(pkg, name, benchtime, unit string) bench { return bench{pkg, name, benchtime, unit} }
func p(x bench) *bench                          { return &x }

func rows(quick bool) []row {
	n := func(full, short string) string {
		if quick {
			return short
		}
		return full
	}
	create := b("webapi", "BenchmarkCreate/sqlite", n("3000x", "300x"), "creates/s")
	createPG := b("webapi", "BenchmarkCreate/postgres", n("3000x", "300x"), "creates/s")
	read := b("webapi", "BenchmarkPointRead/sqlite", n("5000x", "500x"), "reads/s")
	recv16 := b("broker", "BenchmarkReceiveComplete/sqlite/clients=16", n("3000x", "300x"), "msg/s")
	sendPG := b("broker", "BenchmarkSend/postgres/clients=16", n("2000x", "200x"), "msg/s")
	sendPipelined := b("broker", "BenchmarkSendPipelined/sqlite/clients=16/in-flight=8", n("20000x", "2000x"), "msg/s")
	return []row{
		{work: "Web API single creates, SQLite", junction: create, peer: p(b("webapi", "BenchmarkHTTPCeiling/post", n("5000x", "500x"), "requests/s")), peerLabel: "net/http POST, same client"},
		{work: "Web API single creates, PostgreSQL", junction: createPG, peer: &create, peerLabel: "Junction on SQLite"},
		{work: "the same rows written by the store alone, SQLite", junction: create, peer: p(b("webapi", "BenchmarkCreateFloor/sqlite", n("3000x", "300x"), "creates/s")), peerLabel: "raw inserts of the row and its change, 16 clients"},
		{work: "the same rows written by the store alone, PostgreSQL", junction: createPG, peer: p(b("webapi", "BenchmarkCreateFloor/postgres", n("3000x", "300x"), "creates/s")), peerLabel: "raw insert of the row and its change, one statement, 16 clients"},
		{work: "Web API single creates, PostgreSQL, two nodes", junction: b("webapi", "BenchmarkCreateNodes/nodes=2", n("3000x", "300x"), "creates/s"), peer: p(b("webapi", "BenchmarkCreateNodes/nodes=1", n("3000x", "300x"), "creates/s")), peerLabel: "one node"},
		{work: "Web API point read, SQLite", junction: read, peer: p(b("webapi", "BenchmarkHTTPCeiling/get", n("5000x", "500x"), "requests/s")), peerLabel: "net/http GET, same client"},
		{work: "`$filter` + `$orderby` + `$top` over 35,000 accounts, SQLite", junction: b("webapi", "BenchmarkQuery35k/sqlite/every-column", n("200x", "20x"), "queries/s")},
		{work: "`$filter` + `$orderby` + `$top` over 35,000 accounts, PostgreSQL", junction: b("webapi", "BenchmarkQuery35k/postgres/every-column", n("200x", "20x"), "queries/s")},
		{work: "the same with `$select=name`, SQLite", junction: b("webapi", "BenchmarkQuery35k/sqlite/select-name", n("1000x", "100x"), "queries/s")},
		{work: "the same with `$select=name`, PostgreSQL", junction: b("webapi", "BenchmarkQuery35k/postgres/select-name", n("1000x", "100x"), "queries/s")},
		{work: "broker send, 16 clients, in process, SQLite", junction: b("broker", "BenchmarkSend/sqlite/clients=16", n("3000x", "300x"), "msg/s"), peerSystem: "nats send, 16"},
		{work: "broker send, 16 clients with 8 sends in flight each, in process, SQLite", junction: sendPipelined, peerSystem: "nats send, 16"},
		{work: "the same on PostgreSQL", junction: b("broker", "BenchmarkSendPipelined/postgres/clients=16/in-flight=8", n("20000x", "2000x"), "msg/s"), peer: &sendPipelined, peerLabel: "the same on SQLite"},
		{work: "broker receive + complete, 16 clients, SQLite", junction: recv16, peerSystem: "nats receive, 16"},
		{work: "broker receive (prefetch 32) + batched complete, 16 clients, SQLite", junction: b("broker", "BenchmarkReceiveCompletePrefetch/sqlite/clients=16", n("20000x", "2000x"), "msg/s"), peerSystem: "nats receive, 16"},
		{work: "broker receive + complete, 1 client, SQLite", junction: b("broker", "BenchmarkReceiveComplete/sqlite/clients=1", n("1000x", "100x"), "msg/s"), peerSystem: "rabbitmq receive, 1"},
		{work: "broker send, 16 clients, PostgreSQL", junction: sendPG, peer: p(b("broker", "BenchmarkSend/sqlite/clients=16", n("3000x", "300x"), "msg/s")), peerLabel: "the same on SQLite"},
		{work: "the same beside the server's own commit rate", junction: sendPG, peer: p(b("store/storetest", "BenchmarkCeiling/postgres-raw/insert-autocommit/clients=16", n("6000x", "600x"), "rows/s")), peerLabel: "PostgreSQL single-row INSERT commits, 16 connections"},
		{work: "queue-triggered function (sandbox, output send), SQLite", junction: b("bridge", "BenchmarkFunctionFromQueue/sandbox/sqlite", n("300x", "50x"), "invocations/s"), peer: &recv16, peerLabel: "the broker's own receive + complete, 16 clients"},
		{work: "queue-triggered two-action workflow, SQLite", junction: b("bridge", "BenchmarkWorkflowFromQueue/sqlite", n("300x", "50x"), "runs/s")},
		{work: "queue-triggered two-action workflow, PostgreSQL", junction: b("bridge", "BenchmarkWorkflowFromQueue/postgres", n("300x", "50x"), "runs/s")},
		{work: "five-action workflow over HTTP, SQLite", junction: b("workflow", "BenchmarkRequestTriggerFiveActions/sqlite", n("1000x", "100x"), "runs/s")},
		{work: "five-action workflow over HTTP, PostgreSQL", junction: b("workflow", "BenchmarkRequestTriggerFiveActions/postgres", n("500x", "50x"), "runs/s")},
		{work: "CSV import job (100,000 rows), SQLite", junction: b("job", "BenchmarkImportCSV/sqlite", "1x", "rows/s"), peer: p(b("job", "BenchmarkRawSQLiteInsert", "1x", "rows/s")), peerLabel: "raw SQLite prepared inserts"},
		{work: "CSV import job (100,000 rows), PostgreSQL", junction: b("job", "BenchmarkImportCSV/postgres", "1x", "rows/s"), peer: p(b("job", "BenchmarkRawPostgresCOPY", "1x", "rows/s")), peerLabel: "raw PostgreSQL COPY"},
		{work: "event fan-out to 10 webhooks, SQLite", junction: b("events", "BenchmarkFanout/sqlite", n("200x", "20x"), "deliveries/s")},
		{work: "event fan-out to 10 webhooks, PostgreSQL", junction: b("events", "BenchmarkFanout/postgres", n("200x", "20x"), "deliveries/s")},
	}
}

func main() {
	quick := flag.Bool("quick", false, "fewer iterations: a look, not figures to keep")
	skipPeers := flag.Bool("no-peers", false, "leave out the side-by-side run against RabbitMQ and NATS")
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		fail(err)
	}
	tmp, err := os.MkdirTemp("", "junction-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	start, load0 := time.Now(), loadAverage()
	results := map[bench]float64{}
	binaries := map[string]string{}
	measure := func(x bench) {
		if _, done := results[x]; done {
			return
		}
		bin, ok := binaries[x.pkg]
		if !ok {
			bin = filepath.Join(tmp, strings.ReplaceAll(x.pkg, "/", "-")+".test")
			log("build %s", x.pkg)
			if out, err := command(root, "go", "test", "-c", "-o", bin, "./internal/"+x.pkg).CombinedOutput(); err != nil {
				fail(fmt.Errorf("build %s: %v\n%s", x.pkg, err, out))
			}
			binaries[x.pkg] = bin
		}
		log("run %s %s", x.pkg, x.name)
		out, err := command(filepath.Join(root, "internal", x.pkg), bin, "-test.run", "^$", "-test.bench", "^"+benchPattern(x.name)+"$",
			"-test.benchtime", x.benchtime, "-test.timeout", "30m").CombinedOutput()
		if err != nil {
			fail(fmt.Errorf("%s %s: %v\n%s", x.pkg, x.name, err, out))
		}
		v, ok := metric(out, x.name, x.unit)
		if !ok {
			fail(fmt.Errorf("%s %s reported no %s:\n%s", x.pkg, x.name, x.unit, out))
		}
		results[x] = v
	}
	table := rows(*quick)
	for _, r := range table {
		measure(r.junction)
		if r.peer != nil {
			measure(*r.peer)
		}
	}
	peers := map[string]float64{}
	if !*skipPeers {
		n := "3000"
		if *quick {
			n = "500"
		}
		log("run the side-by-side harness (RabbitMQ, NATS)")
		out, err := command(root, "go", "run", "./bench", "-n", n, "-clients", "1,16", "-systems", "rabbitmq,nats").CombinedOutput()
		if err != nil {
			log("side-by-side harness failed (peers left out): %v", err)
		}
		peers = harnessRates(out)
	}
	fmt.Printf("Run of %s, %s, load average %s at the start and %s at the end.\n\n", start.Format("2006-01-02 15:04 MST"),
		time.Since(start).Round(time.Second), load0, loadAverage())
	fmt.Println("| work | Junction | ceiling or peer, same sitting | ratio |")
	fmt.Println("|---|---:|---|---:|")
	for _, r := range table {
		j := results[r.junction]
		peer, label := 0.0, ""
		switch {
		case r.peer != nil:
			peer, label = results[*r.peer], fmt.Sprintf("%s %s %s", r.peerLabel, thousands(results[*r.peer]), r.peer.unit)
		case r.peerSystem != "":
			if v, ok := peers[r.peerSystem]; ok {
				peer, label = v, fmt.Sprintf("%s %s msg/s", peerName(r.peerSystem), thousands(v))
			}
		}
		ratio := "—"
		if peer > 0 {
			ratio = fmt.Sprintf("%.2f×", j/peer)
		}
		if label == "" {
			label = "—"
		}
		fmt.Printf("| %s | %s %s | %s | %s |\n", r.work, thousands(j), r.junction.unit, label, ratio)
	}
}

// benchPattern turns a benchmark's full name into a -bench pattern: each
// level anchored, so BenchmarkCreate/sqlite does not also run
// BenchmarkCreateMultiple1000.
func benchPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, s := range parts {
		parts[i] = "^" + regexp.QuoteMeta(s) + "$"
	}
	return strings.TrimSuffix(strings.TrimPrefix(strings.Join(parts, "/"), "^"), "$")
}

var resultLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+\d+\s+(.*)$`)

// metric reads the value of unit on the result line of name in go test's
// output.
func metric(out []byte, name, unit string) (float64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := resultLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] != name {
			continue
		}
		f := strings.Fields(m[3])
		for i := 1; i < len(f); i++ {
			if f[i] == unit {
				v, err := strconv.ParseFloat(f[i-1], 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

// harnessRates reads the side-by-side harness's lines ("rabbitmq 16
// receive + settle  1234 msg/s ...") as "rabbitmq receive, 16" → 1234.
func harnessRates(out []byte) map[string]float64 {
	rates := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 2; i+1 < len(f); i++ {
			if f[i+1] != "msg/s" {
				continue
			}
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			phase := "send"
			if strings.Contains(sc.Text(), "receive") {
				phase = "receive"
			}
			rates[f[0]+" "+phase+", "+f[1]] = v
			break
		}
	}
	return rates
}

func peerName(system string) string {
	name, rest, _ := strings.Cut(system, " ")
	phase, clients, _ := strings.Cut(rest, ", ")
	label := map[string]string{"rabbitmq": "RabbitMQ (durable, confirms)", "nats": "NATS JetStream (not flushed per message)"}[name]
	return fmt.Sprintf("%s %s, %s client(s)", label, phase, clients)
}

func thousands(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run it inside Junction's module")
	}
	return filepath.Dir(mod), nil
}

func command(dir, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(context.Background(), name, args...)
	c.Dir = dir
	return c
}

func log(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
