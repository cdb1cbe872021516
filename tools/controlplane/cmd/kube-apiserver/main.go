// Command kube-apiserver is the upstream API server, built from our wrapper
// module because k8s.io/kubernetes cannot be `go install`ed directly.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
