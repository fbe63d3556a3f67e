// Package pavedwebhook runs the paved-webhook binary on loopback next to a
// control plane started by package controlplane, and registers it with the
// API server: the webhook configurations of manifests/paved with their
// clientConfig pointed at https://127.0.0.1:<port> and the CA this package
// generates.
package pavedwebhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paved-k8s/paved/e2e/controlplane"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// ConfigFile is the name of the config file inside the config directory, as
// the ConfigMap mount of manifests/paved provides it.
const ConfigFile = "paved.yaml"

// ModuleRoot is the directory of the main module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the paved module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles cmd/paved-webhook into dir and returns the binary's path.
func Build(ctx context.Context, root, dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(root, "cmd", "paved-webhook")); err != nil {
		return "", fmt.Errorf("cmd/paved-webhook: %w", err)
	}
	bin := filepath.Join(dir, "paved-webhook")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/paved-webhook")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/paved-webhook: %w\n%s", err, out)
	}
	return bin, nil
}

// Options configure one webhook process.
type Options struct {
	// Binary is the paved-webhook binary (see Build).
	Binary string
	// Dir receives certificates, the config directory and the log.
	Dir string
	// Kubeconfig lets the webhook read related objects and namespace labels;
	// empty runs it standalone.
	Kubeconfig string
	// Namespace is the add-on's own namespace.
	Namespace string
	// Config is the initial paved.yaml.
	Config []byte
	// SelfManagedCerts starts the webhook without --cert-dir, so that it
	// issues its own certificate through the API server into a Secret.
	// ManagedSecret then plays the kubelet: it returns the Secret's data once
	// it exists, and Start writes it where the Secret would be mounted.
	SelfManagedCerts bool
	ManagedSecret    func(context.Context) (map[string][]byte, error)
	// ListenIP is the address the admission server binds (default
	// 127.0.0.1); Port its port (default a free one).
	ListenIP string
	Port     int
	// Args are extra flags.
	Args []string
	// Env are extra environment variables (NAME=value) of the process, on
	// top of this process's environment.
	Env []string

	retried bool
}

// Webhook is a running paved-webhook process.
type Webhook struct {
	// Addr is host:port of the admission server.
	Addr string
	// MetricsAddr is host:port of the metrics and health server.
	MetricsAddr string
	// CAData is the PEM CA that signed the serving certificate (empty with
	// self-managed certificates).
	CAData []byte
	// ConfigDir holds paved.yaml, laid out as a mounted ConfigMap.
	ConfigDir string

	opts Options
	args []string
	proc *controlplane.Process
	gen  int
}

// Start generates a serving certificate (unless self-managed), writes the
// config, starts the process and waits until it is ready.
func Start(ctx context.Context, opts Options) (*Webhook, error) {
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	ports, err := controlplane.FreePorts(2)
	if err != nil {
		return nil, err
	}
	if opts.ListenIP == "" {
		opts.ListenIP = "127.0.0.1"
	}
	if opts.Port != 0 {
		ports[0] = opts.Port
	}
	w := &Webhook{
		Addr:        net.JoinHostPort(opts.ListenIP, fmt.Sprint(ports[0])),
		MetricsAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		ConfigDir:   filepath.Join(opts.Dir, "config"),
		opts:        opts,
	}
	if err := w.SetConfig(opts.Config); err != nil {
		return nil, err
	}
	w.args = []string{
		"--addr=" + w.Addr,
		"--metrics-addr=" + w.MetricsAddr,
		"--config=" + filepath.Join(w.ConfigDir, ConfigFile),
	}
	if opts.Namespace != "" {
		w.args = append(w.args, "--namespace="+opts.Namespace)
	}
	if opts.Kubeconfig != "" {
		w.args = append(w.args, "--kubeconfig="+opts.Kubeconfig)
	}
	if !opts.SelfManagedCerts {
		certDir := filepath.Join(opts.Dir, "certs")
		if err := os.MkdirAll(certDir, 0o700); err != nil {
			return nil, err
		}
		ca, err := controlplane.NewCA("paved-e2e-webhook-ca")
		if err != nil {
			return nil, err
		}
		kp, err := ca.Issue("paved-webhook", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		for name, data := range map[string][]byte{"tls.crt": kp.CertPEM, "tls.key": kp.KeyPEM, "ca.crt": ca.CertPEM} {
			if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
		w.CAData = ca.CertPEM
		w.args = append(w.args, "--cert-dir="+certDir)
	}
	if opts.SelfManagedCerts {
		w.args = append(w.args, "--managed-cert-dir="+filepath.Join(opts.Dir, "managed-certs"))
	}
	w.args = append(w.args, opts.Args...)
	if err := w.Restart(ctx); err != nil {
		if controlplane.IsAddressInUse(err) && opts.Port == 0 && !opts.retried {
			// Another process took a port between our probe and the bind.
			opts.retried = true
			opts.Dir = filepath.Join(opts.Dir, "retry")
			return Start(ctx, opts)
		}
		return nil, err
	}
	return w, nil
}

// Restart starts the process again after Stop (or for the first time) with
// the same ports, certificates and config, and waits until it is ready.
func (w *Webhook) Restart(ctx context.Context) error {
	if w.proc != nil {
		if exited, _ := w.proc.Exited(); !exited {
			return errors.New("webhook still running")
		}
	}
	p, err := controlplane.StartProcess("paved-webhook", w.opts.Binary, w.args, filepath.Join(w.opts.Dir, "paved-webhook.log"), w.opts.Env)
	if err != nil {
		return err
	}
	w.proc = p
	if w.opts.SelfManagedCerts {
		if err := w.mountSecret(ctx); err != nil {
			return err
		}
	}
	return w.waitReady(ctx)
}

// mountSecret waits for the webhook's certificate Secret and writes its
// keys into the managed certificate directory, laid out as the kubelet
// mounts a Secret.
func (w *Webhook) mountSecret(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		data, err := w.opts.ManagedSecret(ctx)
		if err == nil && len(data["tls.crt"]) > 0 && len(data["tls.key"]) > 0 {
			return writeAtomic(filepath.Join(w.opts.Dir, "managed-certs"), data, 1)
		}
		select {
		case <-w.proc.Done():
			return fmt.Errorf("paved-webhook exited while waiting for its certificate Secret:\n%s", w.Log(40))
		case <-ctx.Done():
			return fmt.Errorf("certificate Secret never filled (%v):\n%s", err, w.Log(40))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop terminates the process and waits for it to exit.
func (w *Webhook) Stop() {
	if w.proc != nil {
		w.proc.Stop()
	}
}

// Pid is the process id of the running webhook.
func (w *Webhook) Pid() int { return w.proc.Pid() }

// Running reports whether the process has not exited.
func (w *Webhook) Running() bool {
	exited, _ := w.proc.Exited()
	return !exited
}

// Log returns the last lines of the webhook's log.
func (w *Webhook) Log(lines int) string {
	return controlplane.Tail(filepath.Join(w.opts.Dir, "paved-webhook.log"), lines)
}

// URL is the https URL of a path on the admission server.
func (w *Webhook) URL(path string) string { return "https://" + w.Addr + path }

// SetConfig replaces paved.yaml the way the kubelet updates a mounted
// ConfigMap: the data goes into a new timestamped directory and the ..data
// symlink is swapped to it atomically; paved.yaml links through ..data.
func (w *Webhook) SetConfig(data []byte) error {
	w.gen++
	return writeAtomic(w.ConfigDir, map[string][]byte{ConfigFile: data}, w.gen)
}

// writeAtomic writes files into dir as the kubelet writes a ConfigMap or
// Secret volume: into a new timestamped directory, published by renaming
// the ..data symlink, with each file a symlink through ..data.
func writeAtomic(dir string, files map[string][]byte, gen int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ts := fmt.Sprintf("..%s_%d", time.Now().UTC().Format("2006_01_02_15_04_05"), gen)
	if err := os.Mkdir(filepath.Join(dir, ts), 0o700); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), data, 0o600); err != nil {
			return err
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return err
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitReady polls /readyz on the metrics address and on the admission
// address until one answers 200, for up to a minute.
func (w *Webhook) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// Readiness only: the certificate is verified by the API server later.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	urls := []string{"http://" + w.MetricsAddr + "/readyz", "https://" + w.Addr + "/readyz"}
	var last string
	for {
		for _, u := range urls {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			resp, err := client.Do(req)
			if err != nil {
				last = err.Error()
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = u + ": " + resp.Status
		}
		select {
		case <-w.proc.Done():
			_, err := w.proc.Exited()
			return fmt.Errorf("paved-webhook exited before it was ready (%v):\n%s", err, w.Log(40))
		case <-ctx.Done():
			return fmt.Errorf("paved-webhook not ready: %s\n%s", last, w.Log(40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Metric returns the value of the sample of the webhook's metric name whose
// labels include labels (0 when there is none yet), read from /metrics.
func (w *Webhook) Metric(name string, labels map[string]string) (float64, error) {
	resp, err := http.Get("http://" + w.MetricsAddr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for k, v := range labels {
			if !strings.Contains(line, k+"="+strconv.Quote(v)) {
				match = false
			}
		}
		if !match {
			continue
		}
		fields := strings.Fields(line)
		return strconv.ParseFloat(fields[len(fields)-1], 64)
	}
	return 0, nil
}

// ServingCA returns a pool with the CA that signed the serving certificate.
func (w *Webhook) ServingCA() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.CAData)
	return pool
}

// Done is closed when the running process exits.
func (w *Webhook) Done() <-chan struct{} { return w.proc.Done() }

// ManifestEnv returns the environment variables with a literal value that
// the webhook container of the Deployment in path sets (GOGC, GOMEMLIMIT):
// what a benchmark gives the process to run it as the manifests do.
func ManifestEnv(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "webhook" {
			continue
		}
		var env []string
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				env = append(env, e.Name+"="+e.Value)
			}
		}
		return env, nil
	}
	return nil, fmt.Errorf("%s: no container webhook", path)
}
