// Package builtin registers every connector that ships with Junction into a
// registry; app wiring calls Register once per Junction.
package builtin

import (
	"junction/internal/connector"
	"junction/internal/connector/http"
	"junction/internal/connector/localfiles"
	"junction/internal/connector/mqtt"
	"junction/internal/connector/nats"
	"junction/internal/connector/rabbitmq"
	"junction/internal/connector/redis"
	"junction/internal/connector/sftp"
	"junction/internal/connector/smtp"
	"junction/internal/connector/sql"
	"junction/internal/outbound"
)

// Connectors returns fresh instances of the built-in connectors; the HTTP
// connector dials through p (nil: the default outbound policy).
func Connectors(p *outbound.Policy) []*connector.Connector {
	return []*connector.Connector{http.New(p), sql.New(), redis.New(p), rabbitmq.New(p), nats.New(p), mqtt.New(p), localfiles.New(), sftp.New(p), smtp.New(p)}
}

// Register adds the built-in connectors to r.
func Register(r *connector.Registry, p *outbound.Policy) error {
	for _, c := range Connectors(p) {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
