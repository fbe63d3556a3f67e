package inject

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ServiceWarnings returns one warning per port of svc whose numeric
// targetPort bypasses the sidecar. Call it for a Service whose selector
// matches pods that get the sidecar (see Wants); a targetPort of 15080 or
// the name "http" reaches the sidecar and is not reported.
func ServiceWarnings(svc *corev1.Service) []string {
	if svc == nil || len(svc.Spec.Selector) == 0 {
		return nil
	}
	var out []string
	for _, p := range svc.Spec.Ports {
		tp := p.TargetPort
		if tp.Type == intstr.String && tp.StrVal != "" {
			continue
		}
		n := tp.IntVal
		if tp.Type == intstr.Int && n == 0 {
			n = p.Port // an omitted targetPort defaults to port
		}
		if n == ProxyPort || n == AdminPort {
			continue
		}
		name := p.Name
		if name == "" {
			name = fmt.Sprint(p.Port)
		}
		out = append(out, fmt.Sprintf("service %s/%s port %s has the numeric targetPort %d, which bypasses the paved sidecar of the pods it selects (no metrics, access logs or drain for that traffic); use targetPort: %s",
			svc.Namespace, svc.Name, name, n, PortName))
	}
	return out
}
