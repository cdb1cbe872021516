// Command kube-controller-manager runs the upstream controllers (PV binder,
// Job, StatefulSet, garbage collector, ...) for the e2e control plane.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
