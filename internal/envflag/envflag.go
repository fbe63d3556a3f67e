// Package envflag lets every flag of a command also be set from the
// environment: flag "request-timeout" of a command with prefix "ORDERS_" is
// read from ORDERS_REQUEST_TIMEOUT. A flag given on the command line wins.
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// Name is the environment variable that sets the flag: prefix followed by
// the flag name in upper case with dashes as underscores.
func Name(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse sets each flag of fs from its variable, when getenv returns a
// non-empty value for it, then parses args over them. It rejects a value a
// flag does not accept, naming the variable; positional arguments are left
// in fs.Args() for the caller.
func Parse(fs *flag.FlagSet, prefix string, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := Name(prefix, f.Name)
		if v := getenv(name); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}
