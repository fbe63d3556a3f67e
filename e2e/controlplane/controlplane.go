// Package controlplane starts a real Kubernetes control plane on loopback:
// etcd, kube-apiserver and, when asked, kube-controller-manager, built by
// hack/k8s into $PAVED_K8S_BIN. It generates the serving CA, the
// service-account key pair, one bearer token per user and a kubeconfig per
// user, and removes its processes and files on Stop.
package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Version is the Kubernetes version hack/k8s builds.
const Version = "v1.37.2"

// AdminUser is the user every control plane has; it is in system:masters.
const AdminUser = "admin"

// User is a principal that authenticates with a bearer token. Users other
// than the admin have no permissions until RBAC grants them some.
type User struct {
	Name   string
	Groups []string
}

// Options says what to start.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager and kubectl.
	// Empty means BinDir().
	BinDir string
	// Dir is where data, certificates, kubeconfigs and logs go. Empty means a
	// new temporary directory, removed by Stop.
	Dir string
	// ControllerManager starts kube-controller-manager, so that Deployments
	// create ReplicaSets and Pods, namespaces get their default
	// ServiceAccount, and Services get EndpointSlices.
	ControllerManager bool
	// ServiceCIDR is the range Service cluster IPs come from; default
	// 10.0.0.0/24. A range inside 127.0.0.0/8 makes cluster IPs reachable
	// on this machine without kube-proxy, so that the API server can call a
	// webhook registered through a Service reference, as in a cluster.
	ServiceCIDR string
	// Users are extra token users besides AdminUser.
	Users []User
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// Profiling serves kube-apiserver's runtime profiles under
	// /debug/pprof/ (to AdminUser), for benchmarks that ask where its CPU goes.
	Profiling bool
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	// Dir holds everything the control plane wrote.
	Dir string
	// BinDir holds the binaries it runs, kubectl among them.
	BinDir string
	// Host is the API server's URL.
	Host string
	// CAData is the PEM certificate of the CA that signed the API server's
	// serving certificate.
	CAData []byte
	// ServiceAccountKey is the path of the service-account signing key.
	ServiceAccountKey string

	ownDir bool
	tokens map[string]string
	procs  []*process
	log    func(string, ...any)
}

// BinDir is where hack/k8s/build.sh puts the binaries: $PAVED_K8S_BIN, or
// the user cache folder.
func BinDir() string {
	if d := os.Getenv("PAVED_K8S_BIN"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "paved", "k8s", Version, "bin")
}

// Missing lists the binaries absent from dir.
func Missing(dir string) []string {
	var missing []string
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

// Start starts etcd and kube-apiserver (and kube-controller-manager when
// asked) and returns once the API server is ready. On error everything it
// started is stopped again.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	// Free ports are found by binding port 0 and closing the listener, so
	// another process may take one before etcd or the API server binds it;
	// start again on new ports when that happens.
	for attempt := 1; ; attempt++ {
		cp, err := start(ctx, opts)
		if err == nil || attempt == 3 || !IsAddressInUse(err) {
			return cp, err
		}
		if opts.Dir != "" {
			// Start afresh: etcd must not find the failed attempt's data.
			if err := os.RemoveAll(opts.Dir); err != nil {
				return nil, err
			}
		}
	}
}

// IsAddressInUse reports whether err says a port was taken.
func IsAddressInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

func start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	if opts.BinDir == "" {
		opts.BinDir = BinDir()
	}
	if opts.ServiceCIDR == "" {
		opts.ServiceCIDR = "10.0.0.0/24"
	}
	if m := Missing(opts.BinDir); len(m) > 0 {
		return nil, fmt.Errorf("control plane binaries %s missing from %s: run make control-plane", strings.Join(m, ", "), opts.BinDir)
	}
	cp := &ControlPlane{BinDir: opts.BinDir, Dir: opts.Dir, tokens: map[string]string{}, log: opts.Log}
	if cp.log == nil {
		cp.log = func(string, ...any) {}
	}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "paved-controlplane-"); err != nil {
			return nil, fmt.Errorf("create control plane directory: %w", err)
		}
		cp.ownDir = true
	} else if err := os.MkdirAll(cp.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create control plane directory: %w", err)
	}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()

	pki := filepath.Join(cp.Dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, err
	}
	ca, err := NewCA("paved-e2e-apiserver-ca")
	if err != nil {
		return nil, err
	}
	serving, err := ca.Issue("kube-apiserver", []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	cp.CAData = ca.CertPEM
	saKey, err := newRSAKeyPEM()
	if err != nil {
		return nil, err
	}
	saPub, err := publicKeyPEM(saKey)
	if err != nil {
		return nil, err
	}
	cp.ServiceAccountKey = filepath.Join(pki, "sa.key")
	files := map[string][]byte{
		"ca.crt":          ca.CertPEM,
		"apiserver.crt":   serving.CertPEM,
		"apiserver.key":   serving.KeyPEM,
		"sa.key":          saKey,
		"sa.pub":          saPub,
		"tokens.csv":      nil,
		"admin.token.txt": nil,
	}
	users := append([]User{{Name: AdminUser, Groups: []string{"system:masters"}}}, opts.Users...)
	var csv strings.Builder
	for i, u := range users {
		if _, dup := cp.tokens[u.Name]; dup {
			return nil, fmt.Errorf("user %q given twice", u.Name)
		}
		tok, err := randomToken()
		if err != nil {
			return nil, err
		}
		cp.tokens[u.Name] = tok
		fmt.Fprintf(&csv, "%s,%s,uid-%d,\"%s\"\n", tok, u.Name, i, strings.Join(u.Groups, ","))
	}
	files["tokens.csv"] = []byte(csv.String())
	files["admin.token.txt"] = []byte(cp.tokens[AdminUser])
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o600); err != nil {
			return nil, err
		}
	}

	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	cp.Host = fmt.Sprintf("https://127.0.0.1:%d", ports[2])

	start := time.Now()
	if err := cp.run("etcd",
		"--name=paved-e2e",
		"--data-dir="+filepath.Join(cp.Dir, "etcd"),
		"--listen-client-urls="+etcdClient,
		"--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer,
		"--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=paved-e2e="+etcdPeer,
		"--listen-metrics-urls=http://127.0.0.1:"+fmt.Sprint(ports[3]),
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	); err != nil {
		return nil, err
	}
	if err := cp.wait(ctx, "etcd", etcdClient+"/health", ""); err != nil {
		return nil, err
	}
	if err := cp.run("kube-apiserver",
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The default reconciler refuses a loopback address for the
		// kubernetes Service; nothing here needs that Service's endpoints.
		"--endpoint-reconciler-type=none",
		"--secure-port="+fmt.Sprint(ports[2]),
		"--tls-cert-file="+filepath.Join(pki, "apiserver.crt"),
		"--tls-private-key-file="+filepath.Join(pki, "apiserver.key"),
		"--cert-dir="+filepath.Join(cp.Dir, "apiserver-certs"),
		"--token-auth-file="+filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range="+opts.ServiceCIDR,
		// paved, not the API server, must be the one that refuses
		// privileged containers.
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
		"--profiling="+strconv.FormatBool(opts.Profiling),
		"--v=0",
	); err != nil {
		return nil, err
	}
	if err := cp.wait(ctx, "kube-apiserver", cp.Host+"/readyz", cp.tokens[AdminUser]); err != nil {
		return nil, err
	}
	cp.log("control plane: etcd and kube-apiserver %s ready at %s in %s", Version, cp.Host, time.Since(start).Round(10*time.Millisecond))

	for _, u := range users {
		if _, err := cp.WriteKubeconfig(u.Name); err != nil {
			return nil, err
		}
	}
	if opts.ControllerManager {
		if err := cp.run("kube-controller-manager",
			"--kubeconfig="+cp.KubeconfigPath(AdminUser),
			"--authentication-kubeconfig="+cp.KubeconfigPath(AdminUser),
			"--authorization-kubeconfig="+cp.KubeconfigPath(AdminUser),
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--service-account-private-key-file="+filepath.Join(pki, "sa.key"),
			"--root-ca-file="+filepath.Join(pki, "ca.crt"),
			"--use-service-account-credentials=false",
			// No kubelet heartbeats here: node lifecycle would mark test
			// nodes NotReady and their pods unready.
			"--controllers=*,-nodelifecycle,-nodeipam",
			"--v=0",
		); err != nil {
			return nil, err
		}
		// The default ServiceAccount appears once the controllers run.
		if err := cp.wait(ctx, "kube-controller-manager", cp.Host+"/api/v1/namespaces/default/serviceaccounts/default", cp.tokens[AdminUser]); err != nil {
			return nil, err
		}
		cp.log("control plane: kube-controller-manager running")
	}
	return cp, nil
}

// Token is the bearer token of a user given in Options.Users or AdminUser.
func (cp *ControlPlane) Token(user string) string { return cp.tokens[user] }

// Kubectl is the path of the kubectl binary the build provides.
func (cp *ControlPlane) Kubectl() string { return filepath.Join(cp.BinDir, "kubectl") }

// KubeconfigPath is where WriteKubeconfig writes the user's kubeconfig.
func (cp *ControlPlane) KubeconfigPath(user string) string {
	return filepath.Join(cp.Dir, user+".kubeconfig")
}

// RESTConfig returns a client configuration that authenticates as user.
// It drops admission warnings; kubectl shows them to people.
func (cp *ControlPlane) RESTConfig(user string) *rest.Config {
	return &rest.Config{
		WarningHandler:  rest.NoWarnings{},
		Host:            cp.Host,
		BearerToken:     cp.tokens[user],
		TLSClientConfig: rest.TLSClientConfig{CAData: cp.CAData},
		QPS:             100,
		Burst:           200,
	}
}

// Clientset returns a typed client that authenticates as user.
func (cp *ControlPlane) Clientset(user string) (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(cp.RESTConfig(user))
}

// WriteKubeconfig writes a kubeconfig for user and returns its path.
func (cp *ControlPlane) WriteKubeconfig(user string) (string, error) {
	tok, ok := cp.tokens[user]
	if !ok {
		return "", fmt.Errorf("unknown user %q", user)
	}
	return cp.KubeconfigPath(user), cp.WriteTokenKubeconfig(cp.KubeconfigPath(user), user, tok)
}

// WriteTokenKubeconfig writes a kubeconfig that authenticates with token,
// such as a ServiceAccount token, to path.
func (cp *ControlPlane) WriteTokenKubeconfig(path, user, tok string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["paved-e2e"] = &clientcmdapi.Cluster{Server: cp.Host, CertificateAuthorityData: cp.CAData}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: tok}
	cfg.Contexts[user+"@paved-e2e"] = &clientcmdapi.Context{Cluster: "paved-e2e", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = user + "@paved-e2e"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig of %s: %w", user, err)
	}
	return nil
}

// Stop stops every process in reverse order of start and removes the
// directory if Start created it. It is safe to call more than once.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop()
	}
	cp.procs = nil
	if cp.ownDir && cp.Dir != "" {
		os.RemoveAll(cp.Dir)
		cp.Dir = ""
	}
}

// Logs returns the last lines of each process's log, for failure reports.
func (cp *ControlPlane) Logs(lines int) string {
	var b strings.Builder
	for _, p := range cp.procs {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, Tail(p.logPath, lines))
	}
	return b.String()
}

func (cp *ControlPlane) run(name string, args ...string) error {
	p, err := startProcess(name, filepath.Join(cp.BinDir, name), args, filepath.Join(cp.Dir, name+".log"), nil)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	return nil
}

// StopAPIServer stops kube-apiserver (etcd and the controllers keep
// running), as a crash or an upgrade of the API server does to its clients.
// StartAPIServer starts it again.
func (cp *ControlPlane) StopAPIServer() error {
	p := cp.proc("kube-apiserver")
	if p == nil {
		return fmt.Errorf("no kube-apiserver running")
	}
	p.stop()
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, with the
// same flags, port, certificates and etcd, and waits until it is ready.
func (cp *ControlPlane) StartAPIServer(ctx context.Context) error {
	for i, p := range cp.procs {
		if p.name != "kube-apiserver" {
			continue
		}
		select {
		case <-p.done:
		default:
			return fmt.Errorf("kube-apiserver still running")
		}
		np, err := startProcess(p.name, p.cmd.Path, p.cmd.Args[1:], p.logPath, nil)
		if err != nil {
			return err
		}
		cp.procs[i] = np
		return cp.waitProc(ctx, np, p.name, cp.Host+"/readyz", cp.tokens[AdminUser])
	}
	return fmt.Errorf("no kube-apiserver to start")
}

// Pid is the process id of the component named name ("etcd",
// "kube-apiserver", "kube-controller-manager"), 0 when it does not run.
func (cp *ControlPlane) Pid(name string) int {
	if p := cp.proc(name); p != nil && p.cmd.Process != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

func (cp *ControlPlane) proc(name string) *process {
	for _, p := range cp.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// wait polls url until it answers 200, the process last started exits, or
// a minute passes.
func (cp *ControlPlane) wait(ctx context.Context, name, url, token string) error {
	return cp.waitProc(ctx, cp.procs[len(cp.procs)-1], name, url, token)
}

func (cp *ControlPlane) waitProc(ctx context.Context, p *process, name, url, token string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	if strings.HasPrefix(url, "https:") {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(cp.CAData)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); log %s:\n%s", name, p.err, p.logPath, Tail(p.logPath, 30))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %s; log %s:\n%s", name, url, last, p.logPath, Tail(p.logPath, 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePorts returns n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Tail returns the last n lines of a file.
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// process is a child process with its own process group, killed with the
// test binary if that dies first.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

func startProcess(name, path string, args []string, logPath string, env []string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, and SIGKILL after 10 seconds.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

// Process is a long-running child process started with StartProcess.
type Process struct{ p *process }

// StartProcess starts a binary in its own process group with output to
// logPath; env entries are added to the current environment.
func StartProcess(name, path string, args []string, logPath string, env []string) (*Process, error) {
	p, err := startProcess(name, path, args, logPath, env)
	if err != nil {
		return nil, err
	}
	return &Process{p: p}, nil
}

// Stop terminates the process (SIGTERM, then SIGKILL after 10 seconds) and
// waits for it to exit.
func (p *Process) Stop() { p.p.stop() }

// Pid is the process id.
func (p *Process) Pid() int { return p.p.cmd.Process.Pid }

// Exited reports whether the process has exited, and its error if so.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.p.done:
		return true, p.p.err
	default:
		return false, nil
	}
}

// Done is closed when the process exits.
func (p *Process) Done() <-chan struct{} { return p.p.done }

// LogPath is the file the process writes to.
func (p *Process) LogPath() string { return p.p.logPath }
