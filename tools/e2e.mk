# e2e targets; included from the top-level Makefile.
#   make control-plane   build (or confirm cached) etcd, kube-*, kubectl and kwok
#   make e2e-smoke       prove the control plane is a real one
.PHONY: control-plane e2e-smoke

control-plane:
	bash tools/build-control-plane.sh

e2e-smoke: control-plane
	.venv/bin/python -m pytest -m e2e tests/e2e/test_control_plane.py -v
