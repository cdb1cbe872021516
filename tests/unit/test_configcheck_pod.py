"""The config checks' view of a rendered pod (chartgen/configcheck/pod.py), and the check kinds the
blueprint schema allows being exactly the checkers there are. No external program runs here."""

import json
from pathlib import Path

from chartgen.configcheck import CHECKERS
from chartgen.configcheck.pod import PodRoot, parse
from chartgen.model import FileCheck

MANIFEST = """
apiVersion: v1
kind: Secret
metadata: {name: oaas-demo}
data: {dbPassword: c2VjcmV0MQ==}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: oaas-demo-config, labels: {app.kubernetes.io/name: demo}}
data:
  demo.conf: "[database]\\nconnection = mysql://demo:$(DB_PASSWORD)@db/demo\\nhost = $(POD_NAME)\\n"
  vhost.conf: "Listen 80\\n"
---
apiVersion: v1
kind: Service
metadata: {name: oaas-demo-server}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: oaas-demo-server}
spec:
  serviceName: oaas-demo-server
  replicas: 2
  template:
    spec:
      initContainers:
        - name: render-config
          env:
            - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: oaas-demo, key: dbPassword}}}
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
          volumeMounts:
            - {name: config, mountPath: /oaas/config-templates}
            - {name: rendered-config, mountPath: /oaas/config}
      containers:
        - name: server
          env:
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: NODE, value: "rabbit@$(POD_NAME).oaas-demo-server"}
            - {name: LITERAL, value: "$$(POD_NAME)"}
            - {name: CONF, value: /etc/demo/demo}
          volumeMounts:
            - {name: rendered-config, mountPath: /etc/demo/demo.conf, subPath: demo.conf}
            - {name: config, mountPath: /etc/apache2/conf-enabled/vhost.conf, subPath: vhost.conf}
            - {name: data, mountPath: /var/lib/demo}
      volumes:
        - {name: config, configMap: {name: oaas-demo-config}}
        - {name: rendered-config, emptyDir: {medium: Memory}}
  volumeClaimTemplates:
    - metadata: {name: data}
"""


def test_a_container_sees_its_files_filled_and_its_env_resolved() -> None:
    rendering = parse(MANIFEST, "openstack")
    (container,) = rendering.containers
    mounts = {mount.path: mount.text for mount in container.mounts}
    assert mounts["/etc/demo/demo.conf"] == "[database]\nconnection = mysql://demo:secret1@db/demo\nhost = oaas-demo-server-0\n"
    assert mounts["/etc/apache2/conf-enabled/vhost.conf"] == "Listen 80\n"  # straight from the ConfigMap: not filled
    env = dict(container.env)
    assert env["NODE"] == "rabbit@oaas-demo-server-0.oaas-demo-server"  # Kubernetes' $(VAR) expansion
    assert env["LITERAL"] == "$(POD_NAME)"  # $$ escapes it
    assert container.directories == ("/var/lib/demo",)


def test_cluster_names_of_services_and_statefulset_pods() -> None:
    names = {name for _, name in parse(MANIFEST, "openstack").hosts}
    assert {"oaas-demo-server", "oaas-demo-server.openstack.svc.cluster.local", "oaas-demo-server-1.oaas-demo-server",
            "oaas-demo-server-1.oaas-demo-server.openstack.svc"} <= names
    assert "oaas-demo-server-2.oaas-demo-server" not in names


def test_pod_root_points_the_containers_paths_into_scratch(tmp_path: Path) -> None:
    (container,) = parse(MANIFEST, "openstack").containers
    root = PodRoot(tmp_path, container)
    text = "config = /etc/demo/demo, data = /var/lib/demo/x, url = http://host/etc/demo/demo.conf, other = /usr/lib/demo"
    assert root.rewrite(text) == (f"config = {tmp_path}/etc/demo/demo, data = {tmp_path}/var/lib/demo/x, "
                                  "url = http://host/etc/demo/demo.conf, other = /usr/lib/demo")
    assert (tmp_path / "var/lib/demo").is_dir()


def test_schema_check_kinds_are_the_checkers() -> None:
    schema = json.loads((Path(__file__).resolve().parents[2] / "chartgen/schemas/blueprint.schema.json").read_text())
    simple, oslo = schema["$defs"]["fileCheck"]["oneOf"]
    assert set(simple["enum"]) | {"oslo"} == set(CHECKERS)
    assert FileCheck.from_spec({"oslo": ["cinder/cinder.conf"], "groups": {"NFS": ["backend"]}}) == \
        FileCheck("oslo", ("cinder/cinder.conf",), (("NFS", ("backend",)),))
