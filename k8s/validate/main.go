// Command validate decodes every object of a rendered Helm chart strictly against the Go API types of
// Kubernetes v1.37 (k8s.io/api v0.37.2) and prometheus-operator v0.95 (ServiceMonitor, PrometheusRule),
// and against KEDA v2's ScaledObject fields (keda.go; KEDA's own module is too large to build here).
//
// Strict means: an unknown field, a field of the wrong type or a kind no type is known for is an
// error. This is what `kubectl apply --validate=strict` would refuse at the API server, found without
// a cluster and without downloading JSON schemas (impossible here). It does not run the API server's
// semantic validation (for example a Deployment whose selector does not match its labels): the chart
// tests check the invariants that matter to chatmesh themselves.
//
// Usage: helm template ... | validate   (or validate file.yaml ...). Prints one line per object and
// exits 1 when any object fails, 2 on unreadable input.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// newObject returns an empty object of the Go type registered for gvk.
func newObject(gvk schema.GroupVersionKind) (any, error) {
	switch gvk {
	case monitoringv1.SchemeGroupVersion.WithKind("ServiceMonitor"):
		return &monitoringv1.ServiceMonitor{}, nil
	case monitoringv1.SchemeGroupVersion.WithKind("PrometheusRule"):
		return &monitoringv1.PrometheusRule{}, nil
	case schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}:
		return &ScaledObject{}, nil
	}
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes v1.37 type for %s: %w", gvk, err)
	}
	return obj, nil
}

func validate(doc []byte) (string, error) {
	var meta typeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return "?", fmt.Errorf("not a YAML object: %w", err)
	}
	if meta.APIVersion == "" || meta.Kind == "" {
		return "?", errors.New("apiVersion and kind are required")
	}
	name := fmt.Sprintf("%s %s/%s", meta.APIVersion, meta.Kind, meta.Metadata.Name)
	if meta.Metadata.Name == "" {
		return name, errors.New("metadata.name is required")
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return name, err
	}
	obj, err := newObject(gv.WithKind(meta.Kind))
	if err != nil {
		return name, err
	}
	// UnmarshalStrict: unknown fields and duplicate keys are errors; types must match the Go fields.
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return name, err
	}
	if ro, ok := obj.(runtime.Object); ok {
		if got := ro.GetObjectKind().GroupVersionKind(); got.Kind != meta.Kind {
			return name, fmt.Errorf("decoded as %s", got.Kind)
		}
	}
	return name, nil
}

func main() {
	var inputs []io.Reader
	if len(os.Args) > 1 {
		for _, path := range os.Args[1:] {
			f, err := os.Open(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer f.Close()
			inputs = append(inputs, f)
		}
	} else {
		inputs = append(inputs, os.Stdin)
	}
	failed, total := 0, 0
	for _, input := range inputs {
		reader := utilyaml.NewYAMLReader(bufio.NewReader(input))
		for {
			doc, err := reader.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			total++
			name, err := validate(doc)
			if err != nil {
				failed++
				fmt.Printf("FAIL %s: %v\n", name, err)
			} else {
				fmt.Printf("ok   %s\n", name)
			}
		}
	}
	fmt.Printf("%d objects, %d failed (Kubernetes API types v1.37, prometheus-operator v0.95, KEDA v2 ScaledObject)\n", total, failed)
	if failed > 0 || total == 0 {
		os.Exit(1)
	}
}

func stripComments(doc []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}
