package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxDocument bounds the OpenAPI document the sidecar reads.
const maxDocument = 16 << 20

// errFinal marks a load failure that retrying will not fix.
var errFinal = errors.New("final")

// loadRoutes reads the route templates and installs them. A file is read
// once; the app's document is fetched until the app answers (it may start
// after the sidecar), with backoff up to 30 s. Until then, and if no document
// can be had, every request is labelled Unmatched.
func (s *Sidecar) loadRoutes(ctx context.Context) {
	src := s.cfg.OpenAPI
	if src == "" || strings.EqualFold(src, "off") {
		return
	}
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		templates, err := s.fetchOpenAPI(ctx, src)
		if err == nil {
			r, err := NewRoutes(templates)
			if err == nil {
				s.routes.Store(r)
				s.m.routes.Set(float64(r.Len()))
				s.log.Info("route templates loaded", slog.String("openapi", src), slog.Int("templates", r.Len()))
				return
			}
			s.log.Error("route templates unusable; requests are labelled "+Unmatched, slog.String("openapi", src), slog.String("error", err.Error()))
			return
		}
		if errors.Is(err, errFinal) {
			s.log.Error("no route templates; requests are labelled "+Unmatched, slog.String("openapi", src), slog.String("error", err.Error()))
			return
		}
		if attempt == 1 || attempt%10 == 0 {
			s.log.Info("waiting for the OpenAPI document", slog.String("openapi", src), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// fetchOpenAPI reads the document from a file, a URL, or a path on the app.
func (s *Sidecar) fetchOpenAPI(ctx context.Context, src string) ([]string, error) {
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errFinal, err)
		}
		t, err := ParseOpenAPI(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", errFinal, src, err)
		}
		return t, nil
	}
	u := src
	switch {
	case strings.HasPrefix(src, "http://"), strings.HasPrefix(src, "https://"):
	case strings.HasPrefix(src, "/"):
		u = "http://" + s.cfg.Upstream + src
	default:
		return nil, fmt.Errorf("%w: --openapi %q: not a file, an http(s) URL or a path starting with /", errFinal, src)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errFinal, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.1")
	res, err := s.readyClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxDocument))
	if err != nil {
		return nil, err
	}
	switch {
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("%s answered %d", u, res.StatusCode)
	case res.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered %d", errFinal, u, res.StatusCode)
	}
	t, err := ParseOpenAPI(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errFinal, u, err)
	}
	return t, nil
}
