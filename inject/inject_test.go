package inject

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/paved-k8s/paved/config"
)

func appPod(labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-1", Namespace: "orders", Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "orders",
				Image: "ghcr.io/paved-k8s/orders:v0.1.0",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
				Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
					Sleep: &corev1.SleepAction{Seconds: 10}}},
			}},
		},
	}
}

func sidecarOf(t *testing.T, pod *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.InitContainers {
		if c.Name == ContainerName {
			return c
		}
	}
	t.Fatalf("no init container %q in %v", ContainerName, pod.Spec.InitContainers)
	return corev1.Container{}
}

func TestPodOptIn(t *testing.T) {
	tests := []struct {
		name      string
		podLabels map[string]string
		nsLabels  map[string]string
		want      bool
	}{
		{"no labels", nil, nil, false},
		{"pod enabled", map[string]string{Label: Enabled}, nil, true},
		{"namespace enabled", nil, map[string]string{Label: Enabled}, true},
		{"pod disabled overrides namespace", map[string]string{Label: Disabled}, map[string]string{Label: Enabled}, false},
		{"other value", map[string]string{Label: "yes"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := appPod(tt.podLabels)
			before := pod.DeepCopy()
			res, err := Pod(pod, tt.nsLabels, config.Sidecar{})
			if err != nil {
				t.Fatalf("Pod: %v", err)
			}
			if res.Injected != tt.want {
				t.Fatalf("Injected = %v; want %v", res.Injected, tt.want)
			}
			if !tt.want && !reflect.DeepEqual(pod, before) {
				t.Errorf("pod changed although not injected: got %+v; want %+v", pod.Spec, before.Spec)
			}
		})
	}
}

func TestPodInjects(t *testing.T) {
	pod := appPod(map[string]string{Label: Enabled, "app.kubernetes.io/name": "orders"})
	pod.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "migrate:v1"}}
	res, err := Pod(pod, nil, config.Sidecar{Image: "registry.example/paved-sidecar:v1.2.3", OTLPEndpoint: "http://collector:4318"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Injected || len(res.Warnings) != 0 {
		t.Fatalf("got Injected %v, Warnings %q; want true and none", res.Injected, res.Warnings)
	}
	if got := pod.Spec.InitContainers[0].Name; got != ContainerName {
		t.Errorf("first init container = %q; want %q (the sidecar starts first)", got, ContainerName)
	}
	if got := pod.Spec.InitContainers[1].Name; got != "migrate" {
		t.Errorf("second init container = %q; want migrate", got)
	}
	sc := sidecarOf(t, pod)
	if sc.RestartPolicy == nil || *sc.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("restartPolicy = %v; want Always (native sidecar)", sc.RestartPolicy)
	}
	if sc.Image != "registry.example/paved-sidecar:v1.2.3" {
		t.Errorf("image = %q; want the configured one", sc.Image)
	}
	wantPorts := []corev1.ContainerPort{
		{Name: "http", ContainerPort: 15080, Protocol: corev1.ProtocolTCP},
		{Name: "paved-admin", ContainerPort: 15021, Protocol: corev1.ProtocolTCP},
	}
	if !reflect.DeepEqual(sc.Ports, wantPorts) {
		t.Errorf("sidecar ports = %+v; want %+v", sc.Ports, wantPorts)
	}
	app := pod.Spec.Containers[0]
	if got := app.Ports[0].Name; got != AppPortName {
		t.Errorf("app port name = %q; want %q", got, AppPortName)
	}
	if got := app.LivenessProbe.HTTPGet.Port.StrVal; got != AppPortName {
		t.Errorf("app liveness port = %q; want %q", got, AppPortName)
	}
	if got := app.ReadinessProbe.HTTPGet.Port.StrVal; got != AppPortName {
		t.Errorf("app readiness port = %q; want %q", got, AppPortName)
	}
	for _, want := range []string{"--listen=:15080", "--admin=:15021", "--upstream=127.0.0.1:8000", "--ready-path=/ready", "--openapi=/openapi.json"} {
		if !slices.Contains(sc.Args, want) {
			t.Errorf("args %q lack %q", sc.Args, want)
		}
	}
	if got := sc.Lifecycle.PreStop.Exec.Command; !reflect.DeepEqual(got, []string{"/paved-sidecar", "drain"}) {
		t.Errorf("preStop = %q; want [/paved-sidecar drain]", got)
	}
	envs := map[string]string{}
	for _, e := range sc.Env {
		envs[e.Name] = e.Value
	}
	if envs["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://collector:4318" || envs["OTEL_SERVICE_NAME"] != "orders" {
		t.Errorf("env = %v; want the OTLP endpoint and service name orders", envs)
	}
	if sc.StartupProbe == nil || sc.StartupProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("startupProbe = %+v; want /healthz (readiness follows the app and must not gate startup)", sc.StartupProbe)
	}
	if sc.ReadinessProbe == nil || sc.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readinessProbe = %+v; want /readyz", sc.ReadinessProbe)
	}
	sec := sc.SecurityContext
	if sec == nil || !*sec.RunAsNonRoot || *sec.AllowPrivilegeEscalation || !*sec.ReadOnlyRootFilesystem ||
		!reflect.DeepEqual(sec.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sec.Capabilities.Add) != 0 {
		t.Errorf("securityContext = %+v; want non-root, read-only, no escalation, drop ALL, add nothing", sec)
	}
	if pod.Annotations[AnnotationInjected] == "" {
		t.Errorf("annotation %s missing", AnnotationInjected)
	}
}

func TestPodIdempotent(t *testing.T) {
	pod := appPod(nil)
	if _, err := Pod(pod, map[string]string{Label: Enabled}, config.Sidecar{}); err != nil {
		t.Fatal(err)
	}
	once := pod.DeepCopy()
	res, err := Pod(pod, map[string]string{Label: Enabled}, config.Sidecar{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Injected || len(res.Warnings) != 0 {
		t.Errorf("second call: got Injected %v, Warnings %q; want false and none", res.Injected, res.Warnings)
	}
	if !reflect.DeepEqual(pod, once) {
		t.Errorf("second call changed the pod: got %+v; want %+v", pod.Spec, once.Spec)
	}
}

func TestPodNotInjected(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*corev1.Pod)
		warn   string
	}{
		{"no http port", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Name = "web" }, `declares a port named "http"`},
		{"no ports", func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil }, `declares a port named "http"`},
		{"hostNetwork", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, "hostNetwork"},
		{"port clash", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "x", ContainerPort: 15080})
		}, "already uses port 15080"},
		{"http-app taken", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http-app", ContainerPort: 9000})
		}, `"http-app"`},
		{"udp", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolUDP }, "not TCP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := appPod(map[string]string{Label: Enabled})
			tt.modify(pod)
			before := pod.DeepCopy()
			res, err := Pod(pod, nil, config.Sidecar{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Injected {
				t.Fatalf("Injected = true; want false")
			}
			if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], tt.warn) || !strings.Contains(res.Warnings[0], "orders/orders-1") {
				t.Errorf("warnings = %q; want one naming the pod and containing %q", res.Warnings, tt.warn)
			}
			if !reflect.DeepEqual(pod, before) {
				t.Errorf("pod changed: got %+v; want %+v", pod.Spec, before.Spec)
			}
		})
	}
}

func TestPodReadiness(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*corev1.Pod)
		want   []string
		absent string
	}{
		{"probe path", func(*corev1.Pod) {}, []string{"--ready-path=/ready"}, "--ready-port"},
		{"no probe, default", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = nil }, []string{"--ready-path=/readyz"}, "--ready-port"},
		{"no probe, annotation", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = nil
			p.Annotations = map[string]string{AnnotationReadinessPath: "/health/ready"}
		}, []string{"--ready-path=/health/ready"}, "--ready-port"},
		{"probe on management port", func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: "mgmt", ContainerPort: 9090})
			c.ReadinessProbe.HTTPGet.Port = intstr.FromString("mgmt")
		}, []string{"--ready-path=/ready", "--ready-port=9090", "--upstream=127.0.0.1:8000"}, ""},
		{"numeric probe port", func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9091)
		}, []string{"--ready-port=9091"}, ""},
		{"openapi annotation", func(p *corev1.Pod) {
			p.Annotations = map[string]string{AnnotationOpenAPI: "/docs/openapi.yaml"}
		}, []string{"--openapi=/docs/openapi.yaml"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := appPod(map[string]string{Label: Enabled})
			tt.modify(pod)
			if _, err := Pod(pod, nil, config.Sidecar{}); err != nil {
				t.Fatal(err)
			}
			args := sidecarOf(t, pod).Args
			for _, w := range tt.want {
				if !slices.Contains(args, w) {
					t.Errorf("args %q lack %q", args, w)
				}
			}
			if tt.absent != "" {
				for _, a := range args {
					if strings.HasPrefix(a, tt.absent) {
						t.Errorf("args %q contain %q; want none", args, a)
					}
				}
			}
		})
	}
}

func TestPodTwoHTTPPorts(t *testing.T) {
	pod := appPod(map[string]string{Label: Enabled})
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
		Name: "admin", Image: "admin:v1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 9000}},
	})
	res, err := Pod(pod, nil, config.Sidecar{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Injected || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `fronts "orders" only`) {
		t.Errorf("got Injected %v, Warnings %q; want injected with one warning about the second http port", res.Injected, res.Warnings)
	}
	if got := pod.Spec.Containers[1].Ports[0].Name; got != "http" {
		t.Errorf("second container's port = %q; want it left as http", got)
	}
}

func TestPodConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Sidecar
		want string
	}{
		{"bad quantity", config.Sidecar{MemoryLimit: "lots"}, "sidecar.memoryLimit"},
		{"bad cpu", config.Sidecar{CPURequest: "1x"}, "sidecar.cpuRequest"},
		{"request above limit", config.Sidecar{MemoryRequest: "1Gi", MemoryLimit: "64Mi"}, "above its limit"},
		{"pull policy", config.Sidecar{ImagePullPolicy: "Sometimes"}, "sidecar.imagePullPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := appPod(map[string]string{Label: Enabled})
			_, err := Pod(pod, nil, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want one naming %q", err, tt.want)
			}
			if Injected(pod) {
				t.Errorf("pod injected despite the error")
			}
		})
	}
	if _, err := Pod(nil, nil, config.Sidecar{}); err == nil {
		t.Errorf("Pod(nil) err = nil; want an error")
	}
}

func TestServiceWarnings(t *testing.T) {
	svc := func(ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "orders"},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "orders"}, Ports: ports},
		}
	}
	tests := []struct {
		name string
		svc  *corev1.Service
		want int
	}{
		{"named http", svc(corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}), 0},
		{"numeric app port", svc(corev1.ServicePort{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8000)}), 1},
		{"omitted target", svc(corev1.ServicePort{Port: 8000}), 1},
		{"numeric sidecar port", svc(corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(15080)}), 0},
		{"two ports", svc(corev1.ServicePort{Name: "a", Port: 80, TargetPort: intstr.FromInt32(8000)},
			corev1.ServicePort{Name: "b", Port: 81, TargetPort: intstr.FromInt32(8001)}), 2},
		{"no selector", &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, 0},
		{"nil", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ServiceWarnings(tt.svc)
			if len(got) != tt.want {
				t.Fatalf("got %d warnings %q; want %d", len(got), got, tt.want)
			}
			for _, w := range got {
				if !strings.Contains(w, "targetPort: http") {
					t.Errorf("warning %q does not say how to fix it", w)
				}
			}
		})
	}
}
