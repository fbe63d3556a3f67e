package inject_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/paved-k8s/paved/config"
	"github.com/paved-k8s/paved/inject"
)

func ExamplePod() {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "web:v1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		}}},
	}
	res, err := inject.Pod(pod, map[string]string{inject.Label: inject.Enabled}, config.Sidecar{})
	if err != nil {
		panic(err)
	}
	sc := pod.Spec.InitContainers[0]
	fmt.Println(res.Injected, sc.Name, *sc.RestartPolicy)
	fmt.Println(sc.Ports[0].Name, sc.Ports[0].ContainerPort, "->", pod.Spec.Containers[0].Ports[0].Name, pod.Spec.Containers[0].Ports[0].ContainerPort)
	fmt.Println(sc.Args)
	// Output:
	// true paved-sidecar Always
	// http 15080 -> http-app 8080
	// [--listen=:15080 --admin=:15021 --upstream=127.0.0.1:8080 --ready-path=/readyz --openapi=/openapi.json]
}
