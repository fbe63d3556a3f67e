package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsAndEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantDir string
		wantTO  time.Duration
		wantErr string
	}{
		{name: "defaults", wantTO: 2 * time.Second},
		{name: "environment", env: map[string]string{"PAVED_CERT_DIR": "/env", "PAVED_REQUEST_TIMEOUT": "3s"}, wantDir: "/env", wantTO: 3 * time.Second},
		{name: "flag wins over environment", args: []string{"--cert-dir=/flag"}, env: map[string]string{"PAVED_CERT_DIR": "/env"}, wantDir: "/flag", wantTO: 2 * time.Second},
		{name: "bad environment value names the variable", env: map[string]string{"PAVED_REQUEST_TIMEOUT": "soon"}, wantErr: `PAVED_REQUEST_TIMEOUT="soon"`},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments: extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			dir := fs.String("cert-dir", "", "")
			to := fs.Duration("request-timeout", 2*time.Second, "")
			err := parse(fs, tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse = %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *dir != tc.wantDir || *to != tc.wantTO {
				t.Errorf("got cert-dir %q, timeout %s; want %q, %s", *dir, *to, tc.wantDir, tc.wantTO)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--no-such-flag"}, func(string) string { return "" }, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d; want 2", code)
	}
	stderr.Reset()
	code := run(context.Background(), []string{"--standalone", "--addr=127.0.0.1:0", "--metrics-addr=127.0.0.1:0"}, func(string) string { return "" }, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--cert-dir is required") {
		t.Errorf("standalone without --cert-dir: exit %d, stderr %q; want 1 naming --cert-dir", code, stderr.String())
	}
}
