// Command etcd is the upstream etcd server. It lives in its own module
// because etcd's dependency versions differ from Kubernetes'.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
