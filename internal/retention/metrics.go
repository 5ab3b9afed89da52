package retention

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's own; the storage report's are in report.go.
type metrics struct {
	deleted   *prometheus.CounterVec
	reclaimed prometheus.Counter
	passes    prometheus.Counter
	lastPass  prometheus.Gauge
	lost      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, w *Worker) metrics {
	m := metrics{
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_retention_deleted_total",
			Help: "Entries deleted by retention, by history."}, []string{"history"}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "junction_retention_reclaimed_bytes_total",
			Help: "Bytes of free SQLite pages given back to the disk."}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "junction_retention_passes_total",
			Help: "Retention passes run on this node."}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "junction_retention_last_pass_timestamp_seconds",
			Help: "When this node last ran a retention pass (Unix time)."}),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "junction_changelog_cursor_lost_total",
			Help: "Times retention deleted changes a change-log reader had not read (past --retain-changes-max), by reader."}, []string{"consumer"}),
	}
	if reg != nil {
		reg.MustRegister(m.deleted, m.reclaimed, m.passes, m.lastPass, m.lost)
		reg.MustRegister(periods{w}, storageMetrics{w})
	}
	return m
}

// periods exports the settings in force as junction_retention_period_seconds,
// one series per setting; 0 means kept until purged.
type periods struct{ w *Worker }

var periodDesc = prometheus.NewDesc("junction_retention_period_seconds",
	"How long each history is kept (0: until purged), by setting.", []string{"setting"}, nil)

func (p periods) Describe(ch chan<- *prometheus.Desc) { ch <- periodDesc }

func (p periods) Collect(ch chan<- prometheus.Metric) {
	s := p.w.Settings()
	for _, f := range fields {
		ch <- prometheus.MustNewConstMetric(periodDesc, prometheus.GaugeValue, f.period(&s).Duration().Seconds(), f.Key)
	}
}

// storageMetrics export the storage report (at most MaxAge old) as metrics.
type storageMetrics struct{ w *Worker }

var (
	storageBytes   = prometheus.NewDesc("junction_storage_bytes", "Bytes of a component's tables and indexes.", []string{"component"}, nil)
	storageRows    = prometheus.NewDesc("junction_storage_rows", "Rows of a component's tables.", []string{"component"}, nil)
	tableBytes     = prometheus.NewDesc("junction_storage_table_bytes", "Bytes of a Dataverse table and its indexes.", []string{"table"}, nil)
	tableRows      = prometheus.NewDesc("junction_storage_table_rows", "Rows of a Dataverse table.", []string{"table"}, nil)
	brokerMessages = prometheus.NewDesc("junction_storage_broker_messages", "Messages of a queue or subscription, by state (active, scheduled, deadletter).", []string{"entity", "state"}, nil)
	brokerBytes    = prometheus.NewDesc("junction_storage_broker_bytes", "Bytes of a queue's or subscription's messages (bodies and properties).", []string{"entity"}, nil)
	databaseBytes  = prometheus.NewDesc("junction_storage_database_bytes", "Bytes of every table and index of Junction's.", nil, nil)
	fileBytes      = prometheus.NewDesc("junction_storage_sqlite_file_bytes", "Size of the SQLite database file, by file (db, wal) and free pages not yet given back (free).", []string{"file"}, nil)
	diskFree       = prometheus.NewDesc("junction_storage_disk_free_bytes", "Bytes free to Junction on the data folder's file system.", nil, nil)
	diskSize       = prometheus.NewDesc("junction_storage_disk_size_bytes", "Size of the data folder's file system.", nil, nil)
	consumerBehind = prometheus.NewDesc("junction_changelog_consumer_behind", "Changes after a change-log reader's position.", []string{"consumer"}, nil)
	consumerLost   = prometheus.NewDesc("junction_changelog_consumer_lost", "1 when retention deleted changes a change-log reader had not read (it resyncs).", []string{"consumer"}, nil)
	storageErrors  = prometheus.NewDesc("junction_storage_report_errors", "1 when the last attempt to measure the storage failed.", nil, nil)
)

func (m storageMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storageBytes, storageRows, tableBytes, tableRows, brokerMessages, brokerBytes, databaseBytes,
		fileBytes, diskFree, diskSize, consumerBehind, consumerLost, storageErrors} {
		ch <- d
	}
}

func (m storageMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	r, err := m.w.Report(ctx, false)
	if err != nil {
		m.w.o.Logger.Warn("storage metrics", "err", err)
		gauge(storageErrors, 1)
		return
	}
	gauge(storageErrors, 0)
	gauge(databaseBytes, r.Bytes)
	for _, c := range r.Components {
		gauge(storageBytes, c.Bytes, c.Name)
		gauge(storageRows, c.Rows, c.Name)
	}
	for _, t := range r.Tables {
		gauge(tableBytes, t.Bytes, t.Name)
		gauge(tableRows, t.Rows, t.Name)
	}
	for _, e := range r.Broker {
		gauge(brokerMessages, e.Active, e.Path, "active")
		gauge(brokerMessages, e.Scheduled, e.Path, "scheduled")
		gauge(brokerMessages, e.DeadLetter, e.Path, "deadletter")
		gauge(brokerBytes, e.Bytes, e.Path)
	}
	if f := r.File; f != nil {
		gauge(fileBytes, f.Bytes, "db")
		gauge(fileBytes, f.WALBytes, "wal")
		gauge(fileBytes, f.FreeBytes, "free")
	}
	if d := r.Disk; d != nil {
		gauge(diskFree, d.FreeBytes)
		gauge(diskSize, d.TotalBytes)
	}
	for _, c := range r.Consumers {
		gauge(consumerBehind, c.Behind, c.Name)
		lost := int64(0)
		if c.Lost {
			lost = 1
		}
		gauge(consumerLost, lost, c.Name)
	}
}
