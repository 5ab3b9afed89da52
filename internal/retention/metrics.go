package retention

import "github.com/prometheus/client_golang/prometheus"

// metrics are the worker's own; the storage report's are in report.go.
type metrics struct {
	deleted   *prometheus.CounterVec
	reclaimed prometheus.Counter
	passes    prometheus.Counter
	lastPass  prometheus.Gauge
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
	}
	if reg != nil {
		reg.MustRegister(m.deleted, m.reclaimed, m.passes, m.lastPass)
		reg.MustRegister(periods{w})
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
