// Command audit measures paved audit at cluster scale against a local
// kube-apiserver: it loads Deployments (two containers each), with a PDB
// and an HPA per Deployment, across namespaces, then runs `paved audit` as
// a separate process several times and reports its wall time, CPU and peak
// resident size, and the bytes the per-namespace reports occupy. No kubelet
// or controller manager runs: the objects only have to exist.
//
//	go run ./bench/audit [-deployments 10000] [-namespaces 100] [-runs 3]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/paved-k8s/paved/audit"
	"github.com/paved-k8s/paved/e2e/controlplane"
	"github.com/paved-k8s/paved/enforce"
	"github.com/paved-k8s/paved/engine"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
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
	cp, err := controlplane.Start(ctx, controlplane.Options{Dir: filepath.Join(dir, "cluster"),
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

	fmt.Printf("\npaved audit -o json over the whole cluster, %d runs:\n", *runs)
	fmt.Printf("%-5s %10s %10s %12s %10s %8s\n", "run", "wall", "CPU", "CPU/object", "peak RSS", "exit")
	var walls []time.Duration
	var out []byte
	for i := range *runs {
		var stdout bytes.Buffer
		cmd := exec.Command(pavedBin, "audit", "-o", "json", "--kubeconfig", kubeconfig)
		cmd.Stdout = &stdout
		cmd.Stderr = os.Stderr
		t0 := time.Now()
		err := cmd.Run()
		wall := time.Since(t0)
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
			float64(cpu.Microseconds())/1000/float64(objects), ru.Maxrss>>10, code)
		walls = append(walls, wall)
		out = stdout.Bytes()
	}
	slices.Sort(walls)
	fmt.Printf("median wall %.2fs (goal: under 30s); the JSON report is %d bytes\n", walls[len(walls)/2].Seconds(), len(out))

	// The per-namespace reports the in-cluster audit writes.
	eng, err := engine.New(ctx)
	if err != nil {
		return err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	snap, err := audit.List(ctx, client, audit.ListOptions{})
	if err != nil {
		return err
	}
	result, err := audit.Evaluate(ctx, eng, enforce.New(eng, nil), snap, audit.Options{})
	if err != nil {
		return err
	}
	total, largest, count := 0, 0, 0
	for n := range *namespaces {
		rep := audit.NamespaceReport(nsName(n), result.Results, eng.Checks(), audit.ReportOptions{})
		b, err := yaml.Marshal(rep)
		if err != nil {
			return err
		}
		total += len(b)
		largest = max(largest, len(b))
		count += len(rep.Results)
	}
	fmt.Printf("reports: %d (one per namespace), %d results, %d bytes in all as YAML, the largest %d bytes\n",
		*namespaces, count, total, largest)
	return nil
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
