package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paved-k8s/paved/internal/waitfor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestBodyBudget holds one large body open and checks that a second large
// body is refused while a small one is still answered, and that the charge
// is returned when the slow one finishes.
func TestBodyBudget(t *testing.T) {
	reg := prometheus.NewRegistry()
	b, err := newBodyBudget(1<<20, reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		io.WriteString(w, strconv.FormatInt(n, 10))
	})))
	defer srv.Close()

	post := func(body io.Reader, n int64) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
		req.ContentLength = n
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}

	// The slow body declares 900 KiB and sends the last byte only when told.
	pr, pw := io.Pipe()
	done := make(chan string)
	go func() {
		code, out := post(pr, 900<<10)
		done <- strconv.Itoa(code) + " " + out
	}()
	go func() { pw.Write(bytes.Repeat([]byte("x"), 900<<10-1)) }()
	waitfor.True(t, 10*time.Second, "the slow body is charged", func() bool {
		return value(b.buffered) == float64(900<<10-freeBodyBytes)
	})

	if code, _ := post(bytes.NewReader(make([]byte, 500<<10)), 500<<10); code != http.StatusServiceUnavailable {
		t.Errorf("second large body: status %d; want 503 while the budget is spent", code)
	}
	if code, out := post(strings.NewReader(strings.Repeat("y", 10<<10)), 10<<10); code != http.StatusOK || out != "10240" {
		t.Errorf("small body: %d %q; want 200 \"10240\"", code, out)
	}
	if code, out := post(bytes.NewReader(make([]byte, MaxBodyBytes+1)), MaxBodyBytes+1); code != http.StatusOK || !strings.Contains(out, `"code":413`) {
		t.Errorf("body over the cap: %d %q; want an AdmissionReview with result code 413", code, out)
	}
	pw.Write([]byte("x"))
	pw.Close()
	if got := <-done; got != "200 "+strconv.Itoa(900<<10) {
		t.Errorf("slow body: %q; want 200 and all its bytes", got)
	}
	if got := value(b.buffered); got != 0 {
		t.Errorf("buffered after all requests = %v; want 0", got)
	}
	for reason, want := range map[string]float64{refusedBudget: 1, refusedTooLarge: 1} {
		if got := value(b.refused.WithLabelValues(reason)); got != want {
			t.Errorf("refused{reason=%q} = %v; want %v", reason, got, want)
		}
	}

	// A chunked body (no declared length) is charged as it grows.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(bytes.NewReader(make([]byte, 2<<20))))
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("2 MiB chunked body over a 1 MiB budget: status %d; want 503", res.StatusCode)
	}
}

func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}
