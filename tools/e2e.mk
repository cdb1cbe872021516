# e2e targets; included from the top-level Makefile.
#   make control-plane   build (or confirm cached) etcd, kube-*, kubectl and kwok
#   make e2e-smoke       prove the control plane is a real one
#   make node            host packages (apt) + kubelet, kube-proxy, CoreDNS, pause and their images
#   make e2e-real        the real-pods tests: a real node runs real containers (root)
#   make e2e-real-clean  remove what a killed real-pods run left on the machine
#   make images          build the kolla-layout stand-in images (needs root; cached outside the clone):
#                        every one for IMAGES_RELEASE, and UPGRADE_IMAGES (keystone, glance-api
#                        and their bases)
#                        for each of UPGRADE_IMAGES_RELEASES
#   make images-test     build them, then run each image's programs in a chroot (pytest -m images)
.PHONY: e2e-chain control-plane e2e-smoke node-packages node e2e-real e2e-real-clean images images-test

IMAGES_RELEASE ?= 2025.1
# The releases the real-pods upgrade test moves keystone and glance to (2025.1 -> 2025.2 -> 2026.1,
# and the SLURP hop 2025.1 -> 2026.1); galera, RabbitMQ, memcached and HAProxy stay on
# IMAGES_RELEASE's.
UPGRADE_IMAGES_RELEASES ?= 2025.2 2026.1
UPGRADE_IMAGES ?= keystone glance-api
# What test_openstack.py installs: full (make test), every stand-in image; identity, galera,
# rabbitmq, memcached and keystone, then glance enabled by an upgrade (a quicker run).
REALPODS_SCOPE ?= full

control-plane:
	bash tools/build-control-plane.sh

# The kwok chain through every release (newton to the newest, 20 hops, about 30 minutes); make test
# walks its first six hops.
e2e-chain: setup tools control-plane
	CHARTGEN_E2E_HOPS=all $(BIN)/python -m pytest -m e2e tests/e2e/test_helm_lifecycle.py -v

e2e-smoke: control-plane
	.venv/bin/python -m pytest -m e2e tests/e2e/test_control_plane.py -v

node-packages:
	bash tools/install-node-packages.sh

node: control-plane node-packages
	bash tools/build-node.sh

e2e-real: setup tools node images
	CHARTGEN_REALPODS_SCOPE=$(REALPODS_SCOPE) $(BIN)/python -m pytest -m realpods tests/realpods -v

e2e-real-clean: setup
	$(BIN)/python tests/realpods/host.py --clean
images: setup
	$(BIN)/python tools/build_images.py --release $(IMAGES_RELEASE)
	set -e; for release in $(UPGRADE_IMAGES_RELEASES); do \
		$(BIN)/python tools/build_images.py --release $$release $(UPGRADE_IMAGES); \
	done

images-test: images
	CHARTGEN_IMAGES_RELEASE=$(IMAGES_RELEASE) $(BIN)/python -m pytest -m images tests/test_images.py -v
	set -e; for release in $(UPGRADE_IMAGES_RELEASES); do \
		CHARTGEN_IMAGES_RELEASE=$$release CHARTGEN_IMAGES="$(UPGRADE_IMAGES)" \
		  $(BIN)/python -m pytest -m images tests/test_images.py -v; \
	done
