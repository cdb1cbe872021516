// Command kube-scheduler is the upstream scheduler, so affinity and
// nodeSelector rules are evaluated exactly as in a real cluster.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
