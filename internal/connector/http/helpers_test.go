package http_test

import "junction/internal/connector"

func connOf(v map[string]any) connector.Connection {
	return connector.Connection{Name: "t", Connector: "http", Values: v}
}
