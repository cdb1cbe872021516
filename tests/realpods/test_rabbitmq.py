"""RabbitMQ keeps its messages, on real pods: three real RabbitMQ 4 members
(tests/realpods/rabbitmq-three-members.yaml puts them on the one real node) form one cluster from
the chart's member list; a durable quorum queue keeps every persistent message when the member
leading it is deleted, and the messages are consumed through another member while it is away; the
cluster follows `global.replicas.rabbitmq` from 3 to 5 and back to 3 with `helm upgrade`.

Messages go through the management HTTP API of a member's pod address, as the admin of the
generated Secret. The tests of this module run in order on one installation of RabbitMQ alone.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import installs  # noqa: E402
from cluster import RealCluster  # noqa: E402
from summary import REPORT  # noqa: E402

pytestmark = [pytest.mark.realpods, pytest.mark.steps]

MEMBER = "oaas-rabbitmq-server-{}"
QUEUE = "e2e-durable"
MESSAGES = 200
MANAGEMENT_PORT = 15672
TIMEOUT = 600


class RabbitMQ:
    """One installation of RabbitMQ alone in a namespace, spoken to through the management API."""

    def __init__(self, cluster: RealCluster, chart: Path, namespace: str):
        self.cluster, self.chart, self.namespace = cluster, chart, namespace
        secret = cluster.kubectl_json("get", "secret", "oaas-rabbitmq", "--namespace", namespace)
        password = base64.b64decode(secret["data"]["adminPassword"]).decode()
        self.auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

    def pod_ip(self, ordinal: int) -> str:
        pod = self.cluster.kubectl_json("get", "pod", MEMBER.format(ordinal), "--namespace", self.namespace)
        return pod.get("status", {}).get("podIP", "")

    def api(self, ordinal: int, method: str, path: str, body: object = None) -> object:
        """One management API call on member `ordinal`'s own address (not the Service: we pick the member)."""
        request = urllib.request.Request(
            f"http://{self.pod_ip(ordinal)}:{MANAGEMENT_PORT}/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": self.auth, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=20) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def running_nodes(self, ordinal: int) -> set[str]:
        """The cluster's running nodes as member `ordinal` sees them; empty while it does not answer."""
        try:
            return {node["name"] for node in self.api(ordinal, "GET", "nodes") if node.get("running")}
        except (OSError, ValueError, urllib.error.URLError):
            return set()

    def wait_for_running(self, count: int, what: str, via: int = 0) -> float:
        began = time.monotonic()
        self.cluster.wait_for(f"{count} running RabbitMQ nodes {what}",
                              lambda: len(self.running_nodes(via)) == count, timeout=TIMEOUT)
        return time.monotonic() - began

    def queue(self, ordinal: int) -> dict:
        return self.api(ordinal, "GET", f"queues/%2F/{QUEUE}")

    def publish(self, ordinal: int, payloads: list[str]) -> None:
        for payload in payloads:
            routed = self.api(ordinal, "POST", "exchanges/%2F/amq.default/publish", {
                "properties": {"delivery_mode": 2}, "routing_key": QUEUE, "payload": payload,
                "payload_encoding": "string"})
            assert routed == {"routed": True}, routed

    def consume(self, ordinal: int, count: int) -> list[str]:
        got = self.api(ordinal, "POST", f"queues/%2F/{QUEUE}/get",
                       {"count": count, "ackmode": "ack_requeue_false", "encoding": "auto"})
        return [message["payload"] for message in got]

    def helm(self, *args: str) -> None:
        self.cluster.helm(*args, "--namespace", self.namespace, major=4, timeout=1500)


def member_of(node: str) -> int:
    """rabbit@oaas-rabbitmq-server-2.oaas-rabbitmq-server... -> 2."""
    return int(node.split("@", 1)[1].split(".", 1)[0].rsplit("-", 1)[1])


@pytest.fixture(scope="module")
def rabbitmq(real_cluster: RealCluster, busybox: str, tmp_path_factory: pytest.TempPathFactory):  # busybox: global.waitImage
    # Five volumes: members 0-4 at the widest.
    with installs.installed_alone(real_cluster, overlay="tests/realpods/rabbitmq-three-members.yaml", standins=("rabbitmq",),
                                  volumes=5, out=tmp_path_factory.mktemp("rabbitmq-chart"),
                                  namespace_prefix="rabbitmq") as installed:
        REPORT.append(f"rabbitmq, 3 members on one real node: helm 4 install --wait in {installed.install_seconds:.0f}s")
        yield RabbitMQ(real_cluster, installed.chart, installed.namespace)


def test_three_members_form_one_cluster(rabbitmq: RabbitMQ) -> None:
    rabbitmq.wait_for_running(3, "after the install")
    views = [rabbitmq.running_nodes(ordinal) for ordinal in range(3)]
    assert views[0] == views[1] == views[2] and len(views[0]) == 3, views


def test_losing_the_leader_of_a_quorum_queue_loses_no_message(rabbitmq: RabbitMQ) -> None:
    rabbitmq.api(0, "PUT", f"queues/%2F/{QUEUE}", {"durable": True, "arguments": {"x-queue-type": "quorum"}})
    sent = [f"message-{index}" for index in range(MESSAGES)]
    rabbitmq.publish(0, sent)
    rabbitmq.cluster.wait_for(f"{MESSAGES} messages in {QUEUE}",
                              lambda: rabbitmq.queue(0).get("messages") == MESSAGES, timeout=60)
    queue = rabbitmq.queue(0)
    assert queue["type"] == "quorum" and len(queue["members"]) == 3, queue
    leader = member_of(queue["leader"])
    survivor = (leader + 1) % 3
    began = time.monotonic()
    rabbitmq.cluster.kubectl("delete", "pod", MEMBER.format(leader), "--namespace", rabbitmq.namespace, "--wait=false")
    rabbitmq.cluster.wait_for(f"the queue's leader {MEMBER.format(leader)} gone from the cluster",
                              lambda: len(rabbitmq.running_nodes(survivor)) == 2, timeout=TIMEOUT)
    # While the old leader is away, a new one serves every message, once.
    rabbitmq.cluster.wait_for(f"a new leader of {QUEUE} with every message",
                              lambda: rabbitmq.queue(survivor).get("messages") == MESSAGES, timeout=120)
    received = rabbitmq.consume(survivor, MESSAGES + 10)
    assert sorted(received) == sorted(sent), (len(received), len(sent))
    # Acknowledged on consumption: the queue empties (its figure lags by the statistics interval).
    rabbitmq.cluster.wait_for(f"{QUEUE} empty after the consumption",
                              lambda: rabbitmq.queue(survivor).get("messages") == 0, timeout=60)
    back = rabbitmq.wait_for_running(3, f"after deleting {MEMBER.format(leader)}", via=survivor)
    REPORT.append(f"rabbitmq, leader of a quorum queue deleted: {MESSAGES} of {MESSAGES} messages consumed while it "
                  f"was away; 3 members running again {time.monotonic() - began:.0f}s after the loss ({back:.0f}s wait)")


@pytest.mark.parametrize("replicas", [5, 3])
def test_the_cluster_follows_the_replica_count(rabbitmq: RabbitMQ, replicas: int) -> None:
    began = time.monotonic()
    rabbitmq.helm("upgrade", "oaas", str(rabbitmq.chart), "--reuse-values", "--set",
                  f"global.replicas.rabbitmq={replicas}", "--wait", "--timeout", "20m")
    waited = rabbitmq.wait_for_running(replicas, f"after helm upgrade to {replicas} replicas")
    # Every member serves the queue: publish through the newest, consume through the first.
    newest = replicas - 1
    payloads = [f"after-scaling-to-{replicas}-{index}" for index in range(10)]
    rabbitmq.publish(newest, payloads)
    rabbitmq.cluster.wait_for(f"10 messages in {QUEUE}", lambda: rabbitmq.queue(0).get("messages") == 10, timeout=60)
    assert sorted(rabbitmq.consume(0, 20)) == sorted(payloads)
    REPORT.append(f"rabbitmq, helm upgrade to {replicas} members: {replicas} running after "
                  f"{time.monotonic() - began:.0f}s ({waited:.0f}s after helm returned)")
