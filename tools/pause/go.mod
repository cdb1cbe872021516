// The pod sandbox's `pause` process for the real-pods tests: our own, so no
// registry is needed for the sandbox image (tools/build-node.sh packs it).
module chartgen.local/tools/pause

go 1.24.0
