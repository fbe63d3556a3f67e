// Command audit measures paved audit at cluster scale against a local
// kube-apiserver: it loads Deployments (two containers each), with a PDB
// and an HPA per Deployment, across namespaces, then runs `paved audit` as
// a separate process several times and reports its wall time, CPU and peak
// resident size, and the bytes the per-namespace reports occupy. No kubelet
// or controller manager runs: the objects only have to exist.
//
//	go run ./bench/audit [-deployments 10000] [-namespaces 100] [-runs 3] [-loop=false] [-profile DIR] [-report-cost N]
//
// With -loop (the default) it then runs paved-webhook with --audit, as the
// manifests do, and reports its first full pass (duration, peak resident
// size), how soon a Deployment's change reaches its namespace's Report,
// and the bytes the Reports occupy.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/e2e/pavedwebhook"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
	"github.com/paved-k8s/paved/internal/procstat"
	"github.com/paved-k8s/paved/webhook"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench/audit", flag.ContinueOnError)
	deployments := fs.Int("deployments", 10000, "Deployments to load, each with a PDB and an HPA")
	namespaces := fs.Int("namespaces", 100, "namespaces they are spread over")
	runs := fs.Int("runs", 3, "paved audit runs to measure")
	workers := fs.Int("workers", 32, "concurrent creates while loading")
	loop := fs.Bool("loop", true, "then run paved-webhook with --audit and measure its full pass, a change's way to its Report, and the Reports' bytes")
	profile := fs.String("profile", "", "write CPU profiles of paved-webhook and kube-apiserver during the in-cluster pass's first seconds, and paved-webhook's heap profile at the pass's end, to this directory (see -profile-seconds)")
	profileSeconds := fs.Int("profile-seconds", 30, "length of the -profile CPU profiles")
	webhookEnv := fs.String("webhook-env", "", "environment variables (NAME=value, space-separated) for paved-webhook on top of the manifests' (GOGC, GOMEMLIMIT)")
	reportCost := fs.Int("report-cost", 0, "after loading, create this many copies of the first namespace's Report at each of several result bounds, and print what one create costs kube-apiserver and etcd")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrllog.SetLogger(logr.Discard()) // the report client's logs
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "paved-bench-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pavedBin := filepath.Join(dir, "paved")
	if out, err := exec.Command("go", "build", "-o", pavedBin, "./cmd/paved").CombinedOutput(); err != nil {
		return fmt.Errorf("build paved: %v\n%s", err, out)
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: filepath.Join(dir, "cluster"), Profiling: *profile != "",
		Log: func(f string, a ...any) { fmt.Printf("control plane: "+f+"\n", a...) }})
	if err != nil {
		return err
	}
	defer cp.Stop()
	cfg := cp.RESTConfig(controlplane.AdminUser)
	cfg.QPS, cfg.Burst = 2000, 4000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	kubeconfig, err := cp.WriteKubeconfig(controlplane.AdminUser)
	if err != nil {
		return err
	}

	start := time.Now()
	if err := load(ctx, cs, *deployments, *namespaces, *workers); err != nil {
		return err
	}
	fmt.Printf("loaded %d Deployments, %d PDBs and %d HPAs in %d namespaces in %.1fs\n",
		*deployments, *deployments, *deployments, *namespaces, time.Since(start).Seconds())

	if *reportCost > 0 {
		if err := measureReportCost(ctx, cp, *reportCost); err != nil {
			return err
		}
	}

	fmt.Printf("\npaved audit -o json over the whole cluster, %d runs:\n", *runs)
	fmt.Printf("%-5s %10s %10s %12s %10s %8s\n", "run", "wall", "CPU", "CPU/object", "peak RSS", "exit")
	var walls []time.Duration
	var outBytes int64
	for i := range *runs {
		// The report is counted, not kept.
		var stdout byteCounter
		cmd := exec.Command(pavedBin, "audit", "-o", "json", "--kubeconfig", kubeconfig)
		cmd.Stdout = &stdout
		cmd.Stderr = os.Stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		// The peak resident size is read from /proc while it runs: the
		// rusage of a child started with vfork counts the parent's peak
		// until it execs, and this process may have held more than it.
		hwm := make(chan int64)
		stop := make(chan struct{})
		go func() {
			var peak int64
			for {
				peak = max(peak, vmHWM(cmd.Process.Pid))
				select {
				case <-stop:
					hwm <- peak
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		err := cmd.Wait()
		wall := time.Since(t0)
		close(stop)
		peak := <-hwm
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			return err
		}
		if code > 1 {
			return fmt.Errorf("paved audit exited %d", code)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		objects := 3 * *deployments
		fmt.Printf("%-5d %9.2fs %9.2fs %10.2fms %8dMiB %8d\n", i+1, wall.Seconds(), cpu.Seconds(),
			float64(cpu.Microseconds())/1000/float64(objects), peak>>10, code)
		walls = append(walls, wall)
		outBytes = stdout.n
	}
	if len(walls) > 0 {
		slices.Sort(walls)
		fmt.Printf("median wall %.2fs (goal: under 30s); the JSON report is %d bytes\n", walls[len(walls)/2].Seconds(), outBytes)
	}

	if *loop {
		return measureLoop(ctx, cp, cs, dir, *namespaces, *profile, *profileSeconds, strings.Fields(*webhookEnv))
	}
	return nil
}

// measureLoop runs paved-webhook with the audit on, as the manifests run
// it, and reports its first full pass (duration and the process's peak
// resident size), how soon one Deployment's change reaches its namespace's
// Report, and the bytes the Reports occupy.
func measureLoop(ctx context.Context, cp *controlplane.ControlPlane, cs *kubernetes.Clientset, dir string, namespaces int, profile string, profileSeconds int, extraEnv []string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := pavedwebhook.ApplyCRDs(ctx, cp.Kubectl(), cp.KubeconfigPath(controlplane.AdminUser), filepath.Join(root, "manifests", "paved")); err != nil {
		return err
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "paved-system"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	bin, err := pavedwebhook.Build(ctx, root, dir)
	if err != nil {
		return err
	}
	kubeconfig, err := cp.WriteKubeconfig(controlplane.AdminUser)
	if err != nil {
		return err
	}
	// The environment the manifests give the container (GOGC and
	// GOMEMLIMIT), to the webhook only: kube-apiserver and etcd keep theirs.
	env, err := pavedwebhook.ManifestEnv(filepath.Join(root, "manifests", "paved", "deployment.yaml"))
	if err != nil {
		return err
	}
	env = append(env, extraEnv...) // the later of two settings wins
	fmt.Printf("\npaved-webhook runs with the manifests' environment and -webhook-env: %s\n", strings.Join(env, " "))
	start := func(name string, args ...string) (*pavedwebhook.Webhook, error) {
		return pavedwebhook.Start(ctx, pavedwebhook.Options{Binary: bin, Dir: filepath.Join(dir, name), Kubeconfig: kubeconfig,
			Namespace: "paved-system", Config: []byte("apiVersion: paved.dev/v1alpha1\nkind: Config\n"), Args: args, Env: env})
	}
	// First the webhook alone: what its admission cache of the cluster
	// costs once it is ready (synced).
	syncAPI := procstat.CPU(cp.Pid("kube-apiserver"))
	alone, err := start("webhook-alone")
	if err != nil {
		return err
	}
	fmt.Printf("\npaved-webhook without the audit, ready (its cache synced): peak RSS %s; CPU to get there: paved-webhook %.1fs, kube-apiserver %.1fs\n",
		peakRSS(alone.Pid()), procstat.CPU(alone.Pid()).Seconds(), (procstat.CPU(cp.Pid("kube-apiserver")) - syncAPI).Seconds())
	alone.Stop()

	// What the pass costs each process on the machine: the loop, and the
	// API server and etcd that serve its lists and store its Reports.
	apiCPU, etcdCPU := procstat.CPU(cp.Pid("kube-apiserver")), procstat.CPU(cp.Pid("etcd"))
	started := time.Now()
	args := []string{"--audit", "--audit-resync=1h"}
	if profile != "" {
		args = append(args, "--profiling")
	}
	w, err := start("webhook", args...)
	if err != nil {
		return err
	}
	defer w.Stop()
	if profile != "" {
		// Its log, for what -webhook-env GODEBUG=gctrace=1 prints.
		defer func() {
			b, err := os.ReadFile(filepath.Join(dir, "webhook", "paved-webhook.log"))
			if err == nil {
				err = os.WriteFile(filepath.Join(profile, "paved-webhook.log"), b, 0o644)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: the webhook's log: %v\n", err)
			}
		}()
	}
	var profiles sync.WaitGroup
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return err
		}
		seconds := fmt.Sprint(profileSeconds)
		profiles.Add(2)
		go func() {
			defer profiles.Done()
			b, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", seconds).
				Timeout(time.Duration(profileSeconds+30) * time.Second).DoRaw(ctx)
			saveProfile(filepath.Join(profile, "kube-apiserver.pprof"), b, err)
		}()
		go func() {
			defer profiles.Done()
			b, err := httpGet("http://" + w.MetricsAddr + "/debug/pprof/profile?seconds=" + seconds)
			saveProfile(filepath.Join(profile, "paved-webhook.pprof"), b, err)
		}()
	}
	defer profiles.Wait()
	var last float64
	for last == 0 {
		if time.Since(started) > 10*time.Minute {
			return fmt.Errorf("no full audit pass in 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
		if last, err = w.Metric("paved_audit_last_pass_timestamp_seconds", nil); err != nil {
			return err
		}
	}
	took, err := w.Metric("paved_audit_pass_duration_seconds", nil)
	if err != nil {
		return err
	}
	if profile != "" {
		// What the webhook holds once the pass is done: its cache of the
		// cluster, the verdicts kept for changes, and what the pass left.
		b, err := httpGet("http://" + w.MetricsAddr + "/debug/pprof/heap")
		saveProfile(filepath.Join(profile, "paved-webhook-heap.pprof"), b, err)
	}
	fmt.Printf("in-cluster audit (paved-webhook --audit, --audit-qps %d): first full pass %.1fs (goal: under 30s), %.1fs after start; peak RSS %s (goal: under 300 MiB)\n",
		webhook.DefaultAuditQPS, took, time.Since(started).Seconds(), peakRSS(w.Pid()))
	fmt.Printf("CPU from the webhook's start to the pass's end: paved-webhook %.1fs, kube-apiserver %.1fs, etcd %.1fs\n",
		procstat.CPU(w.Pid()).Seconds(), (procstat.CPU(cp.Pid("kube-apiserver")) - apiCPU).Seconds(), (procstat.CPU(cp.Pid("etcd")) - etcdCPU).Seconds())

	scheme := runtime.NewScheme()
	if err := reportsv1alpha1.Install(scheme); err != nil {
		return err
	}
	rc, err := client.New(cp.RESTConfig(controlplane.AdminUser), client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// One Deployment at a time moves to a mutable tag; its namespace's
	// Report must count the new image-tag-mutable warning.
	var lat []time.Duration
	for i := range 5 {
		ns, name := nsName(i*7%namespaces), fmt.Sprintf("svc-%05d", i*7%namespaces)
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example/` + name + `:latest"}]}}}}`)
		var before reportsv1alpha1.Report
		if err := rc.Get(ctx, client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &before); err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
		for {
			// The new warning may fall past the Report's result bound,
			// but its summary counts it.
			var rep reportsv1alpha1.Report
			if err := rc.Get(ctx, client.ObjectKey{Namespace: ns, Name: audit.ReportName}, &rep); err == nil && (rep.Summary.Warn > before.Summary.Warn || reportNames(&rep, name, "image-tag-mutable")) {
				break
			}
			if time.Since(t0) > 2*time.Minute {
				return fmt.Errorf("the Report of %s did not count the new warning of %s within 2 minutes; the webhook's log ends:\n%s", ns, name, w.Log(30))
			}
			time.Sleep(20 * time.Millisecond)
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(1500 * time.Millisecond) // past --audit-debounce, so each change stands alone
	}
	slices.Sort(lat)
	fmt.Printf("a Deployment's change reached its namespace's Report in %v (5 changes, sorted; goal: within 2s)\n", lat)

	var list reportsv1alpha1.ReportList
	if err := rc.List(ctx, &list); err != nil {
		return err
	}
	total, largest, results := 0, 0, 0
	for _, r := range list.Items {
		r.ManagedFields = nil
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		total += len(b)
		largest = max(largest, len(b))
		results += len(r.Results)
	}
	fmt.Printf("Reports in the cluster: %d, %d results, %d bytes in all as JSON (managedFields left out), the largest %d bytes\n", len(list.Items), results, total, largest)
	fmt.Printf("paved-webhook peak RSS at the end: %s\n", peakRSS(w.Pid()))
	return nil
}

// measureReportCost evaluates the first namespace as the audit loop does,
// creates n copies of its Report (under other names, in that namespace) at
// each of several bounds on its results, and prints the CPU one create
// costs kube-apiserver and etcd, with the Report's size.
func measureReportCost(ctx context.Context, cp *controlplane.ControlPlane, n int) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := pavedwebhook.ApplyCRDs(ctx, cp.Kubectl(), cp.KubeconfigPath(controlplane.AdminUser), filepath.Join(root, "manifests", "paved")); err != nil {
		return err
	}
	cfg := cp.RESTConfig(controlplane.AdminUser)
	cfg.QPS, cfg.Burst = 2000, 4000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := reportsv1alpha1.Install(scheme); err != nil {
		return err
	}
	rc, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	eng, err := engine.New(ctx)
	if err != nil {
		return err
	}
	ns := nsName(0)
	snap, err := audit.List(ctx, dyn, audit.ListOptions{Namespace: ns})
	if err != nil {
		return err
	}
	run, err := audit.Evaluate(ctx, eng, enforce.New(eng, nil), snap, audit.Options{})
	if err != nil {
		return err
	}
	fmt.Printf("\nwhat one Report create costs, %d creates each (namespace %s, %d objects):\n", n, ns, len(snap.Objects))
	fmt.Printf("%-12s %9s %12s %18s %12s\n", "max results", "results", "bytes", "kube-apiserver CPU", "etcd CPU")
	for _, max := range []int{audit.DefaultMaxResults, 500, 250, 100} {
		rep := audit.NamespaceReport(ns, run.Results, eng.Checks(), audit.ReportOptions{MaxResults: max})
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		api, etcd := procstat.CPU(cp.Pid("kube-apiserver")), procstat.CPU(cp.Pid("etcd"))
		for i := range n {
			r := rep.DeepCopy()
			r.Name = fmt.Sprintf("cost-%d-%d", max, i)
			if err := rc.Create(ctx, r); err != nil {
				return err
			}
		}
		apiPer := (procstat.CPU(cp.Pid("kube-apiserver")) - api) / time.Duration(n)
		etcdPer := (procstat.CPU(cp.Pid("etcd")) - etcd) / time.Duration(n)
		fmt.Printf("%-12d %9d %12d %15.0f ms %9.0f ms\n", max, len(rep.Results), len(b), float64(apiPer.Microseconds())/1000, float64(etcdPer.Microseconds())/1000)
		for i := range n {
			r := &reportsv1alpha1.Report{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("cost-%d-%d", max, i)}}
			if err := rc.Delete(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// saveProfile writes a fetched profile to path, or says why there is none.
func saveProfile(path string, b []byte, err error) {
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: profile %s: %v\n", path, err)
		return
	}
	fmt.Printf("profile written: %s (go tool pprof -top %s)\n", path, path)
}

func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return b, err
}

// byteCounter counts what is written to it.
type byteCounter struct{ n int64 }

func (c *byteCounter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// reportNames reports whether rep has a result of check for the object name.
func reportNames(rep *reportsv1alpha1.Report, name, check string) bool {
	for _, r := range rep.Results {
		for _, s := range r.Subjects {
			if r.Policy == check && s.Name == name {
				return true
			}
		}
	}
	return false
}

// vmHWM is the process's peak resident size in KiB (VmHWM), 0 when it
// cannot be read (the process ended).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}

// peakRSS is the process's peak resident size (VmHWM), as the kernel counts it.
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")), "%d", &kb)
			return fmt.Sprintf("%d MiB", kb>>10)
		}
	}
	return "unknown"
}

func nsName(i int) string { return fmt.Sprintf("team-%03d", i) }

// load creates the namespaces, then each Deployment with its PDB and HPA,
// workers at a time.
func load(ctx context.Context, cs *kubernetes.Clientset, n, namespaces, workers int) error {
	for i := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName(i)}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := create(ctx, cs, i, nsName(i%namespaces)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func create(ctx context.Context, cs *kubernetes.Clientset, i int, ns string) error {
	name := fmt.Sprintf("svc-%05d", i)
	labels := map[string]string{"app": name}
	replicas := int32(3)
	container := func(name, image string, port int32) corev1.Container {
		return corev1.Container{Name: name, Image: image, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					container("app", fmt.Sprintf("registry.example/%s:1.%d.0", name, i%7), 8080),
					container("proxy", "registry.example/proxy:2.1.0", 9901),
				}}}}}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	minAvailable := intstr.FromInt32(2)
	p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return err
	}
	// Every tenth HPA may scale down to the budget's minimum: a finding on
	// both, as real clusters have some.
	minReplicas := int32(3)
	if i%10 == 0 {
		minReplicas = 2
	}
	target := int32(65)
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minReplicas, MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}},
		}}
	_, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
	return err
}
