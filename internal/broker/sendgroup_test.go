package broker

import "testing"

// TestSendGroupSize: a group write of sends takes at most maxSendGroup
// sends and, past its first, at most maxSendGroupBytes of bodies, so that
// large messages (a MaxMessageSize well above the default) never make one
// statement larger than PostgreSQL takes (1 GB a message).
func TestSendGroupSize(t *testing.T) {
	t.Parallel()
	calls := func(n, size int) []*sendCall {
		out, body := make([]*sendCall, n), make([]byte, size) // one body, shared
		for i := range out {
			out[i] = &sendCall{m: &Message{Body: body}}
		}
		return out
	}
	for _, c := range []struct {
		n, size, want int
	}{
		{1, 0, 1},
		{maxSendGroup + 10, 10, maxSendGroup},
		{100, maxSendGroupBytes / 4, 4},
		{3, maxSendGroupBytes * 2, 1},
		{3, maxSendGroupBytes/2 + 1, 1},
	} {
		if got := sendGroupSize(calls(c.n, c.size)); got != c.want {
			t.Errorf("%d pending sends of %d bytes: a group of %d, want %d", c.n, c.size, got, c.want)
		}
	}
	amqp := calls(3, maxSendGroupBytes/4)
	for _, c := range amqp {
		c.m.AMQPBody = c.m.Body
	}
	if got := sendGroupSize(amqp); got != 2 {
		t.Errorf("sends over AMQP, their bodies kept twice: a group of %d, want 2", got)
	}
}
