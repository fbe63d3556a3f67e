// Command gen writes the orders OpenAPI document generated from the Go code.
//
//	go run ./orders/gen -o orders/openapi.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/paved-k8s/paved/orders"
)

func main() {
	out := flag.String("o", "-", "output file, - for standard output")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	doc, err := orders.BuildOpenAPI()
	if err != nil {
		return err
	}
	b, err := orders.MarshalOpenAPI(doc)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(out, b, 0o644)
}
