"""Resolve stage: the ${...} reference language compiles to Go-template expressions."""

from chartgen.expressions import Scope, compile_string, has_reference, placeholders

CATALOG = {
    "rabbitmq": {"components": {"server": {"kind": "StatefulSet", "quorum": True, "replicas": 3, "ports": {"amqp": {"port": 5672}}}}},
    "galera": {"components": {"haproxy": {"kind": "Deployment", "replicas": 2, "ports": {"mysql": {"port": 3306}}}}},
    "keystone": {"dependsOn": ["rabbitmq", "galera"], "components": {"api": {"kind": "Deployment", "replicas": 1, "ports": {"public": {"port": 5000}}}}},
}


def compile_(text: str) -> tuple[str, list[str], Scope]:
    problems: list[str] = []
    scope = Scope("keystone", CATALOG, frozenset({"rabbitmq", "galera"}))
    return compile_string(text, scope, problems.append), problems, scope


def test_plain_text_is_a_string_literal() -> None:
    assert compile_("hello")[0] == '"hello"'


def test_host_and_port() -> None:
    expr, problems, _ = compile_("mysql://u:$(P)@${host:galera.haproxy}:${port:galera.haproxy.mysql}/db")
    assert problems == []
    assert expr == ('(print "mysql://u:$(P)@" (include "oaas-lib.names.fullname" (dict "context" $ "service" "galera" '
                    '"component" "haproxy")) ":" "3306" "/db")')


def test_members_follow_the_global_replica_count_and_are_recorded() -> None:
    expr, problems, scope = compile_("rabbit://${members:rabbitmq.server.amqp|u:$(P)@[host]:[port]}/")
    assert problems == []
    assert '"replicas" (int $.Values.global.replicas.rabbitmq)' in expr
    assert '"format" "u:$(P)@[host]:[port]"' in expr
    assert scope.replicas_read == {"rabbitmq": 3}


def test_references_outside_dependsOn_and_unknown_names_are_refused() -> None:
    assert compile_("${host:memcached.server}")[1] == ["${host:memcached.server}: no service 'memcached' (known: galera, keystone, rabbitmq)"]
    assert "has no port 'amqps'" in compile_("${port:rabbitmq.server.amqps}")[1][0]
    assert "only quorum or members components can be counted" in compile_("${members:galera.haproxy}")[1][0]
    assert "unknown reference kind" in compile_("${url:galera.haproxy}")[1][0]


def test_shell_variables_are_not_references() -> None:
    assert not has_reference('for p in ${PEERS}; do echo "${name##*-} ${name} ${name:-x} ${name:=y}"; done')
    assert has_reference("${release}") and has_reference("${hots:galera.haproxy}")
    assert compile_("${PEERS} and ${host:galera.haproxy}")[1] == []


def test_placeholders_are_found_in_nested_values() -> None:
    assert placeholders({"a": ["x $(ONE)", {"b": "$(TWO) $(lower)"}], "c": 3}) == {"ONE", "TWO"}
