package redis

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxBulk caps one bulk string the client accepts (512 MiB is Redis's own limit).
const MaxBulk = 512 << 20

// ServerError is an error reply ("-ERR ...", "-WRONGPASS ...").
type ServerError string

func (e ServerError) Error() string { return string(e) }

// WriteCommand writes a command as a RESP array of bulk strings.
func WriteCommand(w *bufio.Writer, args ...string) error {
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
	}
	return w.Flush()
}

// ReadReply reads one RESP2/RESP3 reply: strings, integers, nil, arrays. An
// error reply is returned as a ServerError value (not as err), so that a
// caller can tell protocol failures from server answers.
func ReadReply(r *bufio.Reader) (any, error) {
	return readReply(r, 0)
}

func readReply(r *bufio.Reader, depth int) (any, error) {
	if depth > 32 {
		return nil, errors.New("resp: nesting too deep")
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, errors.New("resp: empty line")
	}
	body := string(line[1:])
	switch line[0] {
	case '+':
		return body, nil
	case '-', '!':
		return ServerError(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: bad integer %q", body)
		}
		return n, nil
	case '_':
		return nil, nil
	case '#':
		return body == "t", nil
	case ',':
		f, err := strconv.ParseFloat(body, 64)
		if err != nil {
			return nil, fmt.Errorf("resp: bad double %q", body)
		}
		return f, nil
	case '$', '=':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > MaxBulk {
			return nil, fmt.Errorf("resp: bad bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		// Copy rather than allocate n bytes up front: a length is only a claim.
		var b bytes.Buffer
		if _, err := io.CopyN(&b, r, int64(n)); err != nil {
			return nil, err
		}
		var crlf [2]byte
		if _, err := io.ReadFull(r, crlf[:]); err != nil {
			return nil, err
		}
		if crlf != [2]byte{'\r', '\n'} {
			return nil, errors.New("resp: bulk string not terminated by CRLF")
		}
		return b.String(), nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 1<<20 {
			return nil, fmt.Errorf("resp: bad array length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		if line[0] == '%' {
			n *= 2
		}
		out := make([]any, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			v, err := readReply(r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("resp: unknown reply type %q", line[0])
}

func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errors.New("resp: line too long")
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errors.New("resp: line not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}
