// Command paved checks and fixes Kubernetes manifest files offline, with the
// same policies and verdicts as paved's admission webhook.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/paved-k8s/paved/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
