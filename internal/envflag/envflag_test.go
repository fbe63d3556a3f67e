package envflag

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    time.Duration
		wantErr string
	}{
		{name: "default", want: time.Second},
		{name: "from the environment", env: map[string]string{"APP_REQUEST_TIMEOUT": "3s"}, want: 3 * time.Second},
		{name: "flag wins", args: []string{"-request-timeout=5s"}, env: map[string]string{"APP_REQUEST_TIMEOUT": "3s"}, want: 5 * time.Second},
		{name: "empty variable is unset", env: map[string]string{"APP_REQUEST_TIMEOUT": ""}, want: time.Second},
		{name: "bad value names the variable", env: map[string]string{"APP_REQUEST_TIMEOUT": "soon"}, wantErr: `APP_REQUEST_TIMEOUT="soon"`},
		{name: "unknown flag", args: []string{"-request-timeuot=1s"}, wantErr: "request-timeuot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("app", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			got := fs.Duration("request-timeout", time.Second, "")
			err := Parse(fs, "APP_", tt.args, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse: got error %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if *got != tt.want {
				t.Errorf("request-timeout: got %v; want %v", *got, tt.want)
			}
		})
	}
}
