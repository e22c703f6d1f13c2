// Command config-check validates a kind cluster configuration with kind's own API types, the way
// `kind create cluster --config` decodes it: unknown or misspelt fields are errors, not ignored.
// It runs without Docker, so the kind recipe is checked here (test/kind/src/kind.test.ts).
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: config-check <kind-config.yaml>")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cluster v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(data, &cluster); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		fmt.Fprintf(os.Stderr, "%s: kind %q apiVersion %q, want Cluster kind.x-k8s.io/v1alpha4\n", os.Args[1], cluster.Kind, cluster.APIVersion)
		os.Exit(1)
	}
	v1alpha4.SetDefaultsCluster(&cluster)
	for i, node := range cluster.Nodes {
		if node.Role != v1alpha4.ControlPlaneRole && node.Role != v1alpha4.WorkerRole {
			fmt.Fprintf(os.Stderr, "%s: nodes[%d].role %q is neither control-plane nor worker\n", os.Args[1], i, node.Role)
			os.Exit(1)
		}
	}
	fmt.Printf("%s: valid kind configuration, %d nodes\n", os.Args[1], len(cluster.Nodes))
}
