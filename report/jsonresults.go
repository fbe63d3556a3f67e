package report

import (
	"bufio"
	"encoding/json"
)

// jsonResults writes the results array of a JSON report, a result at a
// time.
type jsonResults struct {
	bw *bufio.Writer
	n  int // results written
}

// add writes res; the error is the encoder's or the writer's.
func (j *jsonResults) add(res Result) error {
	b, err := json.MarshalIndent(res, "    ", "  ")
	if err != nil {
		return err
	}
	if j.n == 0 {
		j.bw.WriteString("[\n    ")
	} else {
		j.bw.WriteString(",\n    ")
	}
	j.n++
	_, err = j.bw.Write(b)
	return err
}

// end closes the array.
func (j *jsonResults) end() {
	if j.n == 0 {
		j.bw.WriteString("[]")
	} else {
		j.bw.WriteString("\n  ]")
	}
}
