// Package smtp is the SMTP connector: send mail (text or HTML, with
// attachments) through an SMTP server, with STARTTLS or implicit TLS and
// PLAIN authentication.
package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"junction/internal/connector"
	"junction/internal/outbound"
)

// Name is the connector's name in the registry.
const Name = "smtp"

// New returns the SMTP connector; connections dial through p (nil: the
// default outbound policy).
func New(p *outbound.Policy) *connector.Connector {
	addrs := map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	return &connector.Connector{
		Name:        Name,
		Title:       "SMTP",
		Description: "Send email through an SMTP server.",
		Params: []connector.Param{
			{Name: "host", Type: "string", Required: true, Description: "server host name"},
			{Name: "port", Type: "integer", Default: 587, Description: "server port (587 submission, 465 implicit TLS, 25)"},
			{Name: "security", Type: "string", Default: "starttls", Description: "starttls (required), tls (implicit, port 465), or none"},
			{Name: "username", Type: "string", Description: "user for PLAIN authentication"},
			{Name: "password", Type: "string", Secret: true, Description: "password for PLAIN authentication"},
			{Name: "from", Type: "string", Description: "default sender address"},
			{Name: "timeoutSeconds", Type: "integer", Default: 30, Description: "time limit of one send"},
		},
		Operations: []connector.Operation{{
			ID: "sendEmail", Kind: connector.Action, Summary: "Send an email",
			Inputs: connector.Schema{"type": "object", "required": []string{"to", "subject"}, "properties": map[string]any{
				"from": map[string]any{"type": "string"}, "to": addrs, "cc": addrs, "bcc": addrs, "replyTo": map[string]any{"type": "string"},
				"subject": map[string]any{"type": "string"}, "body": map[string]any{"type": "string"}, "isHtml": map[string]any{"type": "boolean", "default": false},
				"attachments": map[string]any{"type": "array", "items": map[string]any{"type": "object", "required": []string{"name", "contentBytes"}, "properties": map[string]any{
					"name": map[string]any{"type": "string"}, "contentBytes": map[string]any{"type": "string", "description": "base64"}, "contentType": map[string]any{"type": "string"},
				}}},
			}},
			Outputs: connector.Schema{"type": "object", "properties": map[string]any{"messageId": map[string]any{"type": "string"}}},
			Invoke: func(ctx context.Context, conn connector.Connection, inputs map[string]any) (any, error) {
				return send(ctx, conn, inputs, p)
			},
		}},
	}
}

type badInput struct{ error }

func fail(err error) error {
	var bad badInput
	if errors.As(err, &bad) {
		return connector.BadInput(Name, "sendEmail", bad.error)
	}
	ce := connector.Fail(Name, "sendEmail", err)
	var te *textproto.Error
	if errors.As(err, &te) {
		ce.Status = te.Code
		ce.Retryable = te.Code >= 400 && te.Code < 500
	}
	return ce
}

type attachment struct {
	name, contentType string
	data              []byte
}

func addresses(in connector.Values, field string) ([]*mail.Address, error) {
	list, err := in.Array(field)
	if err != nil {
		return nil, badInput{err}
	}
	var out []*mail.Address
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, badInput{fmt.Errorf("%s holds %v, not an address", field, x)}
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, badInput{fmt.Errorf("%s: %q is not an email address", field, s)}
		}
		out = append(out, a)
	}
	return out, nil
}

func send(ctx context.Context, conn connector.Connection, inputs map[string]any, p *outbound.Policy) (any, error) {
	v := connector.Values(conn.Values)
	in := connector.Values(inputs)
	from, _ := in.String("from", "")
	if from == "" {
		from, _ = v.String("from", "")
	}
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fail(badInput{fmt.Errorf("from %q is not an email address", from)})
	}
	to, err := addresses(in, "to")
	if err != nil {
		return nil, fail(err)
	}
	cc, err := addresses(in, "cc")
	if err != nil {
		return nil, fail(err)
	}
	bcc, err := addresses(in, "bcc")
	if err != nil {
		return nil, fail(err)
	}
	if len(to)+len(cc)+len(bcc) == 0 {
		return nil, fail(badInput{errors.New("give at least one recipient")})
	}
	subject, _ := in.String("subject", "")
	if strings.ContainsAny(subject, "\r\n") {
		return nil, fail(badInput{errors.New("subject must be one line")})
	}
	body, _ := in.String("body", "")
	html, _ := in.Bool("isHtml", false)
	replyTo, _ := in.String("replyTo", "")
	var atts []attachment
	list, err := in.Array("attachments")
	if err != nil {
		return nil, fail(badInput{err})
	}
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, fail(badInput{fmt.Errorf("attachments[%d] is not an object", i)})
		}
		av := connector.Values(m)
		name, err := av.Required("name")
		if err != nil || strings.ContainsAny(name, "\r\n\"") {
			return nil, fail(badInput{fmt.Errorf("attachments[%d].name is missing or not a file name", i)})
		}
		b64, _ := av.String("contentBytes", "")
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fail(badInput{fmt.Errorf("attachments[%d].contentBytes is not base64", i)})
		}
		ct, _ := av.String("contentType", "")
		if ct == "" {
			if i := strings.LastIndex(name, "."); i >= 0 {
				ct = mime.TypeByExtension(name[i:])
			}
			if ct == "" {
				ct = "application/octet-stream"
			}
		}
		atts = append(atts, attachment{name: name, contentType: ct, data: data})
	}
	host, err := v.Required("host")
	if err != nil {
		return nil, fail(badInput{err})
	}
	msgID := messageID(host)
	msg, err := compose(sender, to, cc, replyTo, subject, body, html, atts, msgID)
	if err != nil {
		return nil, fail(badInput{err})
	}
	var rcpts []string
	for _, list := range [][]*mail.Address{to, cc, bcc} {
		for _, a := range list {
			rcpts = append(rcpts, a.Address)
		}
	}
	if err := deliver(ctx, p, v, host, sender.Address, rcpts, msg); err != nil {
		return nil, fail(err)
	}
	return map[string]any{"messageId": msgID}, nil
}

func messageID(host string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + host + ">"
}

func joinAddrs(list []*mail.Address) string {
	s := make([]string, len(list))
	for i, a := range list {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// compose builds the RFC 5322 message: a text part, and a multipart/mixed
// wrapper when there are attachments.
func compose(from *mail.Address, to, cc []*mail.Address, replyTo, subject, body string, html bool, atts []attachment, msgID string) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", from.String())
	if len(to) > 0 {
		h("To", joinAddrs(to))
	}
	if len(cc) > 0 {
		h("Cc", joinAddrs(cc))
	}
	if replyTo != "" {
		a, err := mail.ParseAddress(replyTo)
		if err != nil {
			return nil, fmt.Errorf("replyTo %q is not an email address", replyTo)
		}
		h("Reply-To", a.String())
	}
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", msgID)
	h("MIME-Version", "1.0")
	textType := "text/plain; charset=utf-8"
	if html {
		textType = "text/html; charset=utf-8"
	}
	writeText := func(w *bytes.Buffer) {
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write([]byte(body))
		_ = qp.Close()
	}
	if len(atts) == 0 {
		h("Content-Type", textType)
		h("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		writeText(&buf)
		return buf.Bytes(), nil
	}
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	h("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	buf.WriteString("\r\n")
	tw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {textType}, "Content-Transfer-Encoding": {"quoted-printable"}})
	var text bytes.Buffer
	writeText(&text)
	_, _ = tw.Write(text.Bytes())
	for _, a := range atts {
		name := mime.QEncoding.Encode("utf-8", a.name)
		aw, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {a.contentType + "; name=\"" + name + "\""},
			"Content-Disposition":       {"attachment; filename=\"" + name + "\""},
			"Content-Transfer-Encoding": {"base64"},
		})
		enc := base64.StdEncoding.EncodeToString(a.data)
		for len(enc) > 76 {
			_, _ = aw.Write([]byte(enc[:76] + "\r\n"))
			enc = enc[76:]
		}
		_, _ = aw.Write([]byte(enc + "\r\n"))
	}
	_ = mw.Close()
	buf.Write(parts.Bytes())
	return buf.Bytes(), nil
}

func deliver(ctx context.Context, p *outbound.Policy, v connector.Values, host, from string, rcpts []string, msg []byte) error {
	port, err := v.Int("port", 587)
	if err != nil || port < 1 || port > 65535 {
		return badInput{errors.New("port must be from 1 to 65535")}
	}
	security, _ := v.String("security", "starttls")
	secs, err := v.Int("timeoutSeconds", 30)
	if err != nil || secs <= 0 {
		return badInput{errors.New("timeoutSeconds must be a positive integer")}
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	addr := net.JoinHostPort(host, strconv.FormatInt(port, 10))
	d := p.Dialer(0)
	d.Deadline = deadline
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	var nc net.Conn
	switch security {
	case "tls":
		nc, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	case "starttls", "none":
		nc, err = d.DialContext(ctx, "tcp", addr)
	default:
		return badInput{fmt.Errorf("security %q must be starttls, tls or none", security)}
	}
	if err != nil {
		return err
	}
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(nc, host)
	if err != nil {
		nc.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("junction"); err != nil {
		return err
	}
	if security == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return badInput{errors.New("the server does not offer STARTTLS; set security to tls or none")}
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return err
		}
	}
	if user, _ := v.String("username", ""); user != "" {
		pw, _ := v.String("password", "")
		if err := c.Auth(smtp.PlainAuth("", user, pw, host)); err != nil {
			return fmt.Errorf("authenticate: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("recipient %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
