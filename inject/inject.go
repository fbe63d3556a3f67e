// Package inject adds the paved metrics/health sidecar to pods that opt in
// with the label paved.dev/sidecar: enabled (on the pod or its namespace).
//
// Traffic reaches the sidecar without iptables: the app container's port
// named "http" is renamed "http-app" and the sidecar, a native sidecar (an
// init container with restartPolicy Always), declares the port "http" on
// 15080 and proxies to the app on 127.0.0.1. A Service with targetPort: http
// therefore selects the sidecar's port.
package inject

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/sidecar/ports"
)

// Labels and annotations that steer injection.
const (
	// Label opts a pod or a namespace in ("enabled"); on a pod, "disabled"
	// opts it out of its namespace's choice.
	Label    = "paved.dev/sidecar"
	Enabled  = "enabled"
	Disabled = "disabled"
	// AnnotationInjected records the injection on the pod.
	AnnotationInjected = "paved.dev/sidecar-injected"
	// AnnotationOpenAPI names where the sidecar reads route templates: a
	// path on the app (default /openapi.json), a URL, a mounted file, or
	// "off".
	AnnotationOpenAPI = "paved.dev/openapi-path"
	// AnnotationReadinessPath is paved's readiness path annotation; the
	// sidecar checks the app's readiness there.
	AnnotationReadinessPath = "paved.dev/readiness-path"
)

// Names and ports of the injected container.
const (
	ContainerName = "paved-sidecar"
	PortName      = "http"     // the sidecar's proxy port takes the app's name
	AppPortName   = "http-app" // the app's port after the swap
	AdminPortName = "paved-admin"
	ProxyPort     = ports.Proxy
	AdminPort     = ports.Admin
	// Binary is the sidecar's path in its image (see the Dockerfile).
	Binary = "/paved-sidecar"
)

// Defaults for the config.Sidecar fields left empty.
const (
	DefaultImage           = "ghcr.io/paved-k8s/paved-sidecar:v0.1.0"
	DefaultImagePullPolicy = corev1.PullIfNotPresent
	DefaultCPURequest      = "50m"
	DefaultMemoryRequest   = "32Mi"
	DefaultCPULimit        = "1"
	DefaultMemoryLimit     = "64Mi"
	defaultReadinessPath   = "/readyz"
	defaultOpenAPIPath     = "/openapi.json"
	runAsUser              = 10001
)

// Result says what Pod did.
type Result struct {
	// Injected is true when the pod was changed.
	Injected bool
	// Warnings are messages for the user (admission warnings), such as why
	// a pod that asked for the sidecar did not get it.
	Warnings []string
}

// Wants reports whether a pod with podLabels in a namespace with
// namespaceLabels asks for the sidecar.
func Wants(podLabels, namespaceLabels map[string]string) bool {
	switch podLabels[Label] {
	case Enabled:
		return true
	case Disabled:
		return false
	}
	return namespaceLabels[Label] == Enabled
}

// Injected reports whether pod already carries the sidecar.
func Injected(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == ContainerName {
			return true
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == ContainerName {
			return true
		}
	}
	return false
}

// Pod injects the sidecar into pod when the pod or its namespace is labelled
// paved.dev/sidecar: enabled. Idempotent; already-injected pods are left alone.
func Pod(pod *corev1.Pod, namespaceLabels map[string]string, cfg config.Sidecar) (Result, error) {
	if pod == nil {
		return Result{}, fmt.Errorf("inject: pod is nil")
	}
	if !Wants(pod.Labels, namespaceLabels) || Injected(pod) {
		return Result{}, nil
	}
	res, err := resources(cfg)
	if err != nil {
		return Result{}, err
	}
	pullPolicy := corev1.PullPolicy(cfg.ImagePullPolicy)
	switch pullPolicy {
	case "":
		pullPolicy = DefaultImagePullPolicy
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return Result{}, fmt.Errorf("inject: sidecar.imagePullPolicy %q: want Always, IfNotPresent or Never", cfg.ImagePullPolicy)
	}

	app, port, warnings := findApp(pod)
	if app < 0 {
		return Result{Warnings: warnings}, nil
	}

	c := &pod.Spec.Containers[app]
	upstreamPort := c.Ports[port].ContainerPort
	readyPort, readyPath := readiness(pod, c)
	c.Ports[port].Name = AppPortName
	renamePortRefs(c)

	sidecar := container(cfg, pullPolicy, res, sidecarArgs(pod, upstreamPort, readyPort, readyPath), env(pod, c, cfg))
	pod.Spec.InitContainers = append([]corev1.Container{sidecar}, pod.Spec.InitContainers...)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationInjected] = fmt.Sprintf("%s:%d->%s:%d", PortName, ProxyPort, c.Name, upstreamPort)
	return Result{Injected: true, Warnings: warnings}, nil
}

// findApp returns the indexes of the main container and port named "http",
// or -1 with a warning saying why the pod cannot take the sidecar.
func findApp(pod *corev1.Pod) (app, port int, warnings []string) {
	name := podName(pod)
	if pod.Spec.HostNetwork {
		return -1, -1, []string{fmt.Sprintf("pod %s asks for the paved sidecar (label %s: %s) but uses hostNetwork, where ports %d and %d would clash between pods on a node: the sidecar was not injected",
			name, Label, Enabled, ProxyPort, AdminPort)}
	}
	app, port = -1, -1
	for i, c := range pod.Spec.Containers {
		for j, p := range c.Ports {
			if p.ContainerPort == ProxyPort || p.ContainerPort == AdminPort {
				return -1, -1, []string{fmt.Sprintf("pod %s asks for the paved sidecar but container %q already uses port %d, which the sidecar needs (%d proxy, %d admin): the sidecar was not injected",
					name, c.Name, p.ContainerPort, ProxyPort, AdminPort)}
			}
			if p.Name == AppPortName {
				return -1, -1, []string{fmt.Sprintf("pod %s asks for the paved sidecar but container %q already declares a port named %q, which the sidecar gives the app's port: rename it; the sidecar was not injected",
					name, c.Name, AppPortName)}
			}
			if p.Name != PortName {
				continue
			}
			if app >= 0 {
				warnings = append(warnings, fmt.Sprintf("pod %s: containers %q and %q both declare a port named %q; the paved sidecar fronts %q only",
					name, pod.Spec.Containers[app].Name, c.Name, PortName, pod.Spec.Containers[app].Name))
				continue
			}
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				return -1, -1, []string{fmt.Sprintf("pod %s asks for the paved sidecar but the port named %q of container %q is %s, not TCP: the sidecar was not injected",
					name, PortName, c.Name, p.Protocol)}
			}
			app, port = i, j
		}
	}
	if app < 0 {
		return -1, -1, []string{fmt.Sprintf("pod %s asks for the paved sidecar (label %s: %s) but none of its containers declares a port named %q: the sidecar was not injected; name the port your app serves HTTP on %q",
			name, Label, Enabled, PortName, PortName)}
	}
	return app, port, warnings
}

// readiness finds where the app reports readiness: its own readinessProbe
// when that is an httpGet, else the paved.dev/readiness-path annotation, else
// /readyz on the app's port. A port of 0 means the app's port.
func readiness(pod *corev1.Pod, c *corev1.Container) (port int32, path string) {
	path = defaultReadinessPath
	if p := pod.Annotations[AnnotationReadinessPath]; p != "" {
		path = p
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		return 0, path
	}
	g := c.ReadinessProbe.HTTPGet
	if g.Path != "" {
		path = g.Path
	}
	switch {
	case g.Port.Type == intstr.Int:
		port = g.Port.IntVal
	case g.Port.StrVal == PortName:
		port = 0
	default:
		for _, p := range c.Ports {
			if p.Name == g.Port.StrVal {
				port = p.ContainerPort
			}
		}
	}
	return port, path
}

// renamePortRefs points the app container's probes and lifecycle hooks that
// name the port "http" at "http-app", its new name; a named port can only
// refer to the container's own ports.
func renamePortRefs(c *corev1.Container) {
	fix := func(p *intstr.IntOrString) {
		if p.Type == intstr.String && p.StrVal == PortName {
			*p = intstr.FromString(AppPortName)
		}
	}
	handler := func(h *corev1.ProbeHandler) {
		if h.HTTPGet != nil {
			fix(&h.HTTPGet.Port)
		}
		if h.TCPSocket != nil {
			fix(&h.TCPSocket.Port)
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p != nil {
			handler(&p.ProbeHandler)
		}
	}
	if c.Lifecycle == nil {
		return
	}
	for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PreStop, c.Lifecycle.PostStart} {
		if h == nil {
			continue
		}
		if h.HTTPGet != nil {
			fix(&h.HTTPGet.Port)
		}
		if h.TCPSocket != nil {
			fix(&h.TCPSocket.Port)
		}
	}
}

func sidecarArgs(pod *corev1.Pod, upstreamPort, readyPort int32, readyPath string) []string {
	args := []string{
		"--listen=:" + strconv.Itoa(ProxyPort),
		"--admin=:" + strconv.Itoa(AdminPort),
		"--upstream=127.0.0.1:" + strconv.Itoa(int(upstreamPort)),
		"--ready-path=" + readyPath,
	}
	if readyPort != 0 && readyPort != upstreamPort {
		args = append(args, "--ready-port="+strconv.Itoa(int(readyPort)))
	}
	openapi := defaultOpenAPIPath
	if p := pod.Annotations[AnnotationOpenAPI]; p != "" {
		openapi = p
	}
	return append(args, "--openapi="+openapi)
}

func env(pod *corev1.Pod, app *corev1.Container, cfg config.Sidecar) []corev1.EnvVar {
	service := app.Name
	if n := pod.Labels["app.kubernetes.io/name"]; n != "" {
		service = n
	} else if n := pod.Labels["app"]; n != "" {
		service = n
	}
	e := []corev1.EnvVar{
		{Name: "OTEL_SERVICE_NAME", Value: service},
		// The Go runtime collects garbage harder as it nears the limit
		// instead of being OOM-killed.
		{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
			ContainerName: ContainerName, Resource: "limits.memory",
		}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}
	if cfg.OTLPEndpoint != "" {
		e = append(e, corev1.EnvVar{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: cfg.OTLPEndpoint})
	}
	return e
}

func container(cfg config.Sidecar, pull corev1.PullPolicy, res corev1.ResourceRequirements, args []string, env []corev1.EnvVar) corev1.Container {
	image := cfg.Image
	if image == "" {
		image = DefaultImage
	}
	always := corev1.ContainerRestartPolicyAlways
	get := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(AdminPortName)}}
	}
	return corev1.Container{
		Name:            ContainerName,
		Image:           image,
		ImagePullPolicy: pull,
		Args:            args,
		Env:             env,
		Ports: []corev1.ContainerPort{
			{Name: PortName, ContainerPort: ProxyPort, Protocol: corev1.ProtocolTCP},
			{Name: AdminPortName, ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
		},
		Resources:     res,
		RestartPolicy: &always,
		// The app starts once the sidecar listens; the sidecar's readiness
		// follows the app's, so it must not gate startup.
		StartupProbe: &corev1.Probe{ProbeHandler: get("/healthz"),
			PeriodSeconds: 1, FailureThreshold: 30, TimeoutSeconds: 1, SuccessThreshold: 1},
		LivenessProbe: &corev1.Probe{ProbeHandler: get("/healthz"),
			PeriodSeconds: 10, FailureThreshold: 3, TimeoutSeconds: 1, SuccessThreshold: 1},
		ReadinessProbe: &corev1.Probe{ProbeHandler: get("/readyz"),
			PeriodSeconds: 2, FailureThreshold: 2, TimeoutSeconds: 1, SuccessThreshold: 1},
		// Runs as soon as the pod starts terminating, alongside the app's
		// preStop: readiness turns 503 and responses ask clients to close.
		Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
			Exec: &corev1.ExecAction{Command: []string{Binary, "drain"}},
		}},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			RunAsUser:                ptr(int64(runAsUser)),
			RunAsGroup:               ptr(int64(runAsUser)),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Privileged:               ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

func resources(cfg config.Sidecar) (corev1.ResourceRequirements, error) {
	q := func(field, v, def string) (resource.Quantity, error) {
		if v == "" {
			v = def
		}
		r, err := resource.ParseQuantity(v)
		if err != nil {
			return r, fmt.Errorf("inject: sidecar.%s %q: %w", field, v, err)
		}
		return r, nil
	}
	var errs []error
	get := func(field, v, def string) resource.Quantity {
		r, err := q(field, v, def)
		if err != nil {
			errs = append(errs, err)
		}
		return r
	}
	rr := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    get("cpuRequest", cfg.CPURequest, DefaultCPURequest),
			corev1.ResourceMemory: get("memoryRequest", cfg.MemoryRequest, DefaultMemoryRequest),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    get("cpuLimit", cfg.CPULimit, DefaultCPULimit),
			corev1.ResourceMemory: get("memoryLimit", cfg.MemoryLimit, DefaultMemoryLimit),
		},
	}
	if len(errs) > 0 {
		return rr, errs[0]
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := rr.Requests[r], rr.Limits[r]
		if req.Cmp(lim) > 0 {
			return rr, fmt.Errorf("inject: sidecar %s request %s is above its limit %s", r, req.String(), lim.String())
		}
	}
	return rr, nil
}

func podName(pod *corev1.Pod) string {
	n := pod.Name
	if n == "" {
		n = pod.GenerateName + "*"
	}
	if pod.Namespace != "" {
		n = pod.Namespace + "/" + n
	}
	return n
}

func ptr[T any](v T) *T { return &v }
