"""The real node's names, addresses and configuration files.

Every setting that these machines need is explained where it is set; the
background is ../../../shared/reference/real-cluster.md (no systemd, cgroup
v1, no CAP_SYS_RESOURCE, no registry, no dummy links).
"""

from __future__ import annotations

from pathlib import Path

import addons
from controlplane import free_port  # tests/e2e is on sys.path (cluster.py)

NODE_IP = "10.250.0.1"            # on lo; private, never routed off the machine
NODE_NAME = "realpods-node-0"
POD_SUBNET = "10.244.0.0/24"      # the real node's pods (kwok nodes use 10.244.1+.0/24)
CLUSTER_CIDR = "10.244.0.0/16"
BRIDGE = "cni-chartgen0"
CNI_NETWORK = "chartgen-realpods"
CGROUP_PARENT = "chartgen-realpods"
CNI_BIN_DIR = Path("/usr/lib/cni")
PAUSE_IMAGE = "docker.io/local/pause:chartgen"


def containerd_socket(containerd_dir: Path) -> Path:
    return containerd_dir / "containerd.sock"


def containerd_config(containerd_dir: Path, cni_conf_dir: Path) -> str:
    """containerd 1.6 (config version 2) with everything under `containerd_dir`."""
    d = containerd_dir
    return f"""version = 2
root = "{d / 'root'}"
state = "{d / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{containerd_socket(d)}"
[ttrpc]
  address = "{containerd_socket(d)}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'opt'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # This sandbox lacks CAP_SYS_RESOURCE: without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  # Network namespaces under our state folder, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d / 'runc'}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{cni_conf_dir}"
"""


def cni_config(ipam_dir: Path) -> dict:
    """Debian's bridge + host-local on the pod subnet."""
    # No ipMasq: pods reach only the node (the API server on lo) and each
    # other; the FORWARD rule drops the rest (host.add_forward_drop).
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [{
            "type": "bridge",
            "bridge": BRIDGE,
            "isGateway": True,
            "ipMasq": False,
            "hairpinMode": True,  # a pod reaching itself through its Service
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": POD_SUBNET}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": str(ipam_dir),
            },
        }],
    }


def kubelet_config(workdir: Path) -> dict:
    """KubeletConfiguration for a kubelet whose folders all live in `workdir`."""
    runtime = f"unix://{containerd_socket(workdir / 'containerd')}"
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": free_port(),
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": free_port(),
        # The API server's kubelet client certificate (logs, exec) is checked
        # against our CA; everything else is asked of the API server.
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(workdir / "pki" / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        # No systemd here, and cgroup v1 (1.35+ refuses v1 unless told).
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        # Pod cgroups under a parent of ours, removed at teardown (host.py).
        "cgroupRoot": f"/{CGROUP_PARENT}",
        "failSwapOn": False,
        "clusterDNS": [addons.DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        "containerRuntimeEndpoint": runtime,
        "imageServiceEndpoint": runtime,
        "podLogsDir": str(workdir / "pod-logs"),
        "volumePluginDir": str(workdir / "kubelet" / "volume-plugins"),
        # A shared machine's disk may be fuller than 85 %: never evict pods,
        # never collect images (they cannot be pulled again).
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "shutdownGracePeriod": "0s",  # graceful node shutdown needs systemd-logind
    }


def kube_proxy_config(kubeconfig: Path) -> dict:
    """kube-proxy in iptables mode, touching no sysctl it need not."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{free_port()}",
        "metricsBindAddress": f"127.0.0.1:{free_port()}",
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "nodePortAddresses": [f"{NODE_IP}/32"],
        # Zero leaves the machine's conntrack settings alone; no
        # route_localnet for localhost NodePorts.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "syncPeriod": "10s", "minSyncPeriod": "1s"},
    }
