package image

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Paths of the base's files inside every image.
const (
	CABundlePath = "/etc/ssl/certs/ca-certificates.crt" // where Go's crypto/x509 looks first on Linux
	PasswdPath   = "/etc/passwd"
)

// DebianCADir is where Debian's ca-certificates package installs the
// Mozilla CA certificates, one PEM file each.
const DebianCADir = "/usr/share/ca-certificates/mozilla"

// Passwd is the base's whole /etc/passwd: the one user the images run as.
// Its home does not exist and it has no login shell (nor does the image).
var Passwd = fmt.Sprintf("paved:x:%d:%d:paved:/nonexistent:/sbin/nologin\n", UID, UID)

// CABundle concatenates the certificates in dir (DebianCADir) in name order,
// the bundle update-ca-certificates would write with the package's defaults.
// It reads the package's files rather than /etc/ssl/certs so that a CA added
// locally to the build machine never ends up in an image.
func CABundle(dir string) ([]byte, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.crt"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no certificates in %s: install Debian's ca-certificates package (apt-get install ca-certificates)", dir)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		// Refuse anything that is not exactly one certificate: a broken
		// file would break TLS for every binary in every image.
		block, rest := pem.Decode(b)
		if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%s: not one PEM certificate", name)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		buf.Write(bytes.TrimRight(b, "\n"))
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// DebianPackageVersion is the installed version of a Debian package, as
// dpkg reports it; the images record the ca-certificates version in a label.
func DebianPackageVersion(pkg string) (string, error) {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-query %s: %w (is Debian's %s package installed?)", pkg, err, pkg)
	}
	return strings.TrimSpace(string(out)), nil
}
