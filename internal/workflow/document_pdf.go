package workflow

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// maxPDFPages bounds the pages of a PDF that ParseDocument reads, whatever
// page count the document claims.
const maxPDFPages = 10000

// errPDFStop aborts the interpretation of a page's content (the run was
// canceled or the text grew past maxDocumentText); pdf.Interpret has no
// other way out than a panic.
type errPDFStop struct{ err error }

// pdfText is the text of a PDF document, page after page, pages separated by
// a blank line. Encrypted documents that need a password, and documents the
// reader cannot parse, give an error; the reader's panics on malformed input
// become errors too.
func pdfText(ctx context.Context, data []byte) (text string, err error) {
	defer func() {
		if x := recover(); x != nil {
			text = ""
			if s, ok := x.(errPDFStop); ok {
				err = s.err
				return
			}
			err = fmt.Errorf("the PDF document is malformed: %v", x)
		}
	}()
	// The reader takes only the headers "%PDF-1.0" to "%PDF-1.7" ending
	// their line; PDF 2.0 (whose text is drawn the same way) and a header
	// followed by a comment on its line are read as 1.7.
	if len(data) > 9 && bytes.HasPrefix(data, []byte("%PDF-")) &&
		!(data[5] == '1' && data[6] == '.' && data[7] >= '0' && data[7] <= '7' && (data[8] == '\r' || data[8] == '\n')) {
		data = bytes.Clone(data)
		copy(data, "%PDF-1.7\n")
	}
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		reason, _, _ := strings.Cut(err.Error(), ";")
		if bytes.Contains(data, []byte("/Encrypt")) {
			return "", fmt.Errorf("the PDF document is encrypted (it needs a password, or uses an encryption not supported here): %s", reason)
		}
		return "", fmt.Errorf("the content is not a readable PDF document: %s", reason)
	}
	n := min(r.NumPage(), maxPDFPages)
	x := &pdfExtractor{ctx: ctx}
	var pages []string
	size := 0
	for i := 1; i <= n; i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			break
		}
		x.out.Reset()
		if err := x.page(p); err != nil {
			return "", fmt.Errorf("page %d of the PDF document cannot be read: %w", i, err)
		}
		if t := pageLines(x.out.String()); t != "" {
			if size += len(t) + 2; size > maxDocumentText {
				return "", fmt.Errorf("the document's text is larger than %d bytes", maxDocumentText)
			}
			pages = append(pages, t)
		}
	}
	return strings.Join(pages, "\n\n"), nil
}

// pageLines is a page's text with its lines trimmed and its blank lines
// left out.
func pageLines(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

// pdfFont is what the extractor needs of a font: how to decode its codes
// to text and how wide its glyphs are.
type pdfFont struct {
	enc    pdf.TextEncoding
	simple bool // one byte a code, widths in /Widths; else two, widths in /W
	first  int
	widths []float64
	cidW   map[int]float64
	cidDW  float64
}

// maxCIDWidths bounds the widths read from a composite font's /W array.
const maxCIDWidths = 1 << 16

// cidWidths reads a CIDFont's /W array: "c [w1 w2 ...]" gives the widths of
// c, c+1, ...; "cfirst clast w" one width for a range.
func cidWidths(w pdf.Value) map[int]float64 {
	out := map[int]float64{}
	for i := 0; i < w.Len() && len(out) < maxCIDWidths; {
		c := int(w.Index(i).Int64())
		if i+1 >= w.Len() {
			break
		}
		if next := w.Index(i + 1); next.Kind() == pdf.Array {
			for j := 0; j < next.Len() && len(out) < maxCIDWidths; j++ {
				out[c+j] = next.Index(j).Float64()
			}
			i += 2
			continue
		}
		if i+2 >= w.Len() {
			break
		}
		last, width := int(w.Index(i+1).Int64()), w.Index(i+2).Float64()
		for k := c; k <= last && len(out) < maxCIDWidths; k++ {
			out[k] = width
		}
		i += 3
	}
	return out
}

// pdfExtractor follows the text state of a page's content stream to tell
// where words and lines end: a pen move down starts a line, a move right
// past the end of the previous text (a TJ adjustment, a Td) is a space.
type pdfExtractor struct {
	ctx context.Context
	out strings.Builder
	ops int

	font                   *pdfFont
	size, scale, rise      float64
	charSpace, wordSpace   float64
	leading                float64
	tm, tlm, ctm           [6]float64
	lastX, lastY, lastSize float64
	started                bool
}

var pdfIdentity = [6]float64{1, 0, 0, 1, 0, 0}

// pdfMul is the product a×b of two PDF matrices [a b c d e f].
func pdfMul(a, b [6]float64) [6]float64 {
	return [6]float64{
		a[0]*b[0] + a[1]*b[2], a[0]*b[1] + a[1]*b[3],
		a[2]*b[0] + a[3]*b[2], a[2]*b[1] + a[3]*b[3],
		a[4]*b[0] + a[5]*b[2] + b[4], a[4]*b[1] + a[5]*b[3] + b[5],
	}
}

func pdfMatrix(args []pdf.Value) [6]float64 {
	var m [6]float64
	for i := range m {
		m[i] = args[i].Float64()
	}
	return m
}

// fontNamed is the font of a content stream's resources by its name,
// read once per stream.
func fontNamed(fonts map[string]*pdfFont, res pdf.Value, name string) *pdfFont {
	if f, ok := fonts[name]; ok {
		return f
	}
	pf := pdf.Font{V: res.Key("Font").Key(name)}
	f := &pdfFont{enc: pf.Encoder()}
	if pf.V.Key("Subtype").Name() != "Type0" {
		f.simple = true
		f.first = pf.FirstChar()
		f.widths = pf.Widths()
	} else {
		desc := pf.V.Key("DescendantFonts").Index(0)
		f.cidDW = 1000
		if dw := desc.Key("DW"); !dw.IsNull() {
			f.cidDW = dw.Float64()
		}
		f.cidW = cidWidths(desc.Key("W"))
	}
	fonts[name] = f
	return f
}

// page appends the text of one page.
func (x *pdfExtractor) page(p pdf.Page) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(errPDFStop); ok {
				panic(r)
			}
			err = fmt.Errorf("%v", r)
		}
	}()
	contents := p.V.Key("Contents")
	if contents.IsNull() {
		return nil
	}
	x.font, x.size, x.scale, x.rise = nil, 0, 1, 0
	x.charSpace, x.wordSpace, x.leading = 0, 0, 0
	x.tm, x.tlm, x.ctm = pdfIdentity, pdfIdentity, pdfIdentity
	x.started = false
	x.run(contents, p.Resources(), 0)
	return nil
}

// maxPDFForms bounds how deep form XObjects drawn by form XObjects are
// followed; maxPDFOps bounds the operators of a document.
const (
	maxPDFForms = 8
	maxPDFOps   = 1 << 26
)

// run interprets a content stream (a page's, or a form XObject's) whose
// resources are res.
func (x *pdfExtractor) run(contents, res pdf.Value, depth int) {
	fonts := map[string]*pdfFont{}
	var stack [][6]float64
	pdf.Interpret(contents, func(stk *pdf.Stack, op string) {
		args := make([]pdf.Value, stk.Len())
		for i := len(args) - 1; i >= 0; i-- {
			args[i] = stk.Pop()
		}
		if x.ops++; x.ops%4096 == 0 {
			if err := x.ctx.Err(); err != nil {
				panic(errPDFStop{err})
			}
			if x.ops > maxPDFOps {
				panic(errPDFStop{fmt.Errorf("the PDF document has more than %d drawing operators", maxPDFOps)})
			}
		}
		switch op {
		case "Do":
			if len(args) != 1 || depth >= maxPDFForms {
				return
			}
			form := res.Key("XObject").Key(args[0].Name())
			if form.Kind() != pdf.Stream || form.Key("Subtype").Name() != "Form" {
				return
			}
			saved := x.ctm
			if m := form.Key("Matrix"); m.Len() == 6 {
				var fm [6]float64
				for i := range fm {
					fm[i] = m.Index(i).Float64()
				}
				x.ctm = pdfMul(fm, x.ctm)
			}
			formRes := form.Key("Resources")
			if formRes.IsNull() {
				formRes = res
			}
			x.run(form, formRes, depth+1)
			x.ctm = saved
		case "q":
			if len(stack) < 1024 {
				stack = append(stack, x.ctm)
			}
		case "Q":
			if n := len(stack); n > 0 {
				x.ctm, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if len(args) == 6 {
				x.ctm = pdfMul(pdfMatrix(args), x.ctm)
			}
		case "BT":
			x.tm, x.tlm = pdfIdentity, pdfIdentity
		case "Tf":
			if len(args) == 2 {
				x.font = fontNamed(fonts, res, args[0].Name())
				x.size = args[1].Float64()
			}
		case "Tc":
			if len(args) == 1 {
				x.charSpace = args[0].Float64()
			}
		case "Tw":
			if len(args) == 1 {
				x.wordSpace = args[0].Float64()
			}
		case "Tz":
			if len(args) == 1 {
				x.scale = args[0].Float64() / 100
			}
		case "TL":
			if len(args) == 1 {
				x.leading = args[0].Float64()
			}
		case "Ts":
			if len(args) == 1 {
				x.rise = args[0].Float64()
			}
		case "Td", "TD":
			if len(args) == 2 {
				if op == "TD" {
					x.leading = -args[1].Float64()
				}
				x.moveLine(args[0].Float64(), args[1].Float64())
			}
		case "Tm":
			if len(args) == 6 {
				x.tm = pdfMatrix(args)
				x.tlm = x.tm
			}
		case "T*":
			x.moveLine(0, -x.leading)
		case "Tj", "'", "\"":
			if op != "Tj" {
				x.moveLine(0, -x.leading)
			}
			if op == "\"" && len(args) == 3 {
				x.wordSpace, x.charSpace = args[0].Float64(), args[1].Float64()
				args = args[2:]
			}
			if len(args) == 1 {
				x.show(args[0].RawString())
			}
		case "TJ":
			if len(args) != 1 {
				return
			}
			v := args[0]
			for i := 0; i < v.Len(); i++ {
				e := v.Index(i)
				if e.Kind() == pdf.String {
					x.show(e.RawString())
				} else {
					x.advance(-e.Float64() / 1000 * x.size * x.scale)
				}
			}
		}
	})
}

func (x *pdfExtractor) moveLine(tx, ty float64) {
	x.tlm = pdfMul([6]float64{1, 0, 0, 1, tx, ty}, x.tlm)
	x.tm = x.tlm
}

func (x *pdfExtractor) advance(tx float64) {
	x.tm = pdfMul([6]float64{1, 0, 0, 1, tx, 0}, x.tm)
}

// show writes a string shown at the current text position, preceded by a
// line break or a space when the position says the text does not continue
// the previous one.
func (x *pdfExtractor) show(raw string) {
	f := x.font
	if f == nil {
		f = &pdfFont{simple: true}
	}
	var s string
	if f.enc != nil {
		s = f.enc.Decode(raw)
	} else {
		s = raw
	}
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r == 0 || (unicode.IsControl(r) && r != '\t') {
			return -1
		}
		return r
	}, s)
	trm := pdfMul(pdfMul([6]float64{x.size * x.scale, 0, 0, x.size, 0, x.rise}, x.tm), x.ctm)
	px, py := trm[4], trm[5]
	size := math.Hypot(trm[2], trm[3])
	if size == 0 {
		size = 1
	}
	if s != "" {
		if x.started {
			last := x.out.String()
			lastRune, _ := utf8.DecodeLastRuneInString(last)
			switch {
			case math.Abs(py-x.lastY) > 0.5*max(size, x.lastSize):
				x.out.WriteByte('\n')
			case (px-x.lastX > 0.15*size || px-x.lastX < -size) && !unicode.IsSpace(lastRune) && !strings.HasPrefix(s, " "):
				x.out.WriteByte(' ')
			}
		}
		if x.out.Len()+len(s) > maxDocumentText {
			panic(errPDFStop{fmt.Errorf("the document's text is larger than %d bytes", maxDocumentText)})
		}
		x.out.WriteString(s)
		x.started = true
	}
	x.advance(x.width(f, raw))
	end := pdfMul(pdfMul([6]float64{x.size * x.scale, 0, 0, x.size, 0, x.rise}, x.tm), x.ctm)
	x.lastX, x.lastY, x.lastSize = end[4], end[5], size
}

// width is how far showing raw moves the pen, in text space. A glyph whose
// width the font does not give (the standard 14 fonts have no /Widths) is
// taken as half an em.
func (x *pdfExtractor) width(f *pdfFont, raw string) float64 {
	var w float64
	if f.simple {
		for i := 0; i < len(raw); i++ {
			g := 0.0
			if j := int(raw[i]) - f.first; j >= 0 && j < len(f.widths) {
				g = f.widths[j]
			}
			if g == 0 {
				g = 500
			}
			w += g/1000*x.size + x.charSpace
			if raw[i] == ' ' {
				w += x.wordSpace
			}
		}
		return w * x.scale
	}
	for i := 0; i+1 < len(raw); i += 2 {
		g, ok := f.cidW[int(raw[i])<<8|int(raw[i+1])]
		if !ok {
			g = f.cidDW
		}
		w += g/1000*x.size + x.charSpace
	}
	return w * x.scale
}
