"""rabbitmq: RabbitMQ's own configuration loading, run offline on Debian's RabbitMQ (no broker is
started): in an Erlang VM with RabbitMQ's code, `rabbit_env:get_context()` reads the container's
RABBITMQ_* environment as the broker would, and `rabbit_prelaunch_conf:setup/1` loads the main
config exactly as the broker's prelaunch does, new-style `rabbitmq.conf` through cuttlefish and
RabbitMQ's schemas (an unknown key or a bad value is an error) or the classic Erlang-term file.
The enabled plugins file is read with `rabbit_plugins:read_enabled/1` (a plugin RabbitMQ does not
have is a warning, as at boot) and the definitions file `load_definitions` names is decoded with
`rabbit_json`. RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS are given to the VM, as the broker's start script
does. Every file of the group must be one of these three, or RabbitMQ never reads it.

Debian's RabbitMQ may be of another version than the image's (3.10 vs the images' 3.6 or 4.x):
keys one version lacks are the version rules' business.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from chartgen.configcheck.base import Machine, Result, Unit, error_lines
from chartgen.configcheck.pod import PodRoot, Rendering, RenderedFile
from chartgen.model import FileCheck

PER_FILE = False
KIND = "rabbitmq"
HOME = Path("/usr/lib/rabbitmq/lib")
# The image's defaults (RabbitMQ's package layout), pointed into the scratch root unless the
# container's environment says otherwise.
DEFAULTS = {
    "RABBITMQ_CONFIG_FILE": "/etc/rabbitmq/rabbitmq",
    "RABBITMQ_ADVANCED_CONFIG_FILE": "/etc/rabbitmq/advanced.config",
    "RABBITMQ_CONF_ENV_FILE": "/etc/rabbitmq/rabbitmq-env.conf",
    "RABBITMQ_ENABLED_PLUGINS_FILE": "/etc/rabbitmq/enabled_plugins",
    "RABBITMQ_MNESIA_BASE": "/var/lib/rabbitmq/mnesia",
    "RABBITMQ_LOG_BASE": "/var/log/rabbitmq",
    "HOME": "/var/lib/rabbitmq",
}
MARK = "chartgen-check"
# Erlang run with -eval. RabbitMQ logs prelaunch errors in its own logger domain, which a plain erl's
# default handler drops unless filter_default is log; the handler writes asynchronously, so it is
# flushed (filesync) before halt.
SCRIPT = r"""
logger:set_primary_config(level, error),
logger:set_handler_config(default, filter_default, log),
Say = fun(What, Term) -> io:format("MARK ~s ~0p~n", [What, Term]) end,
Context = rabbit_env:get_context(),
Say("config_files", [maps:get(main_config_file, Context, undefined), maps:get(advanced_config_file, Context, undefined)]),
Say("config_result", catch rabbit_prelaunch_conf:setup(Context)),
Main = maps:get(main_config_file, Context, ""),
Classic = case filename:extension(Main) of ".config" -> Main; "" -> Main ++ ".config"; _ -> none end,
case Classic =/= none andalso filelib:is_regular(Classic) of
    true -> Say("consult", file:consult(Classic));
    false -> ok
end,
Enabled = maps:get(enabled_plugins_file, Context),
Say("plugins_file", Enabled),
case filelib:is_regular(Enabled) of
    true ->
        case catch rabbit_plugins:read_enabled(Enabled) of
            Plugins when is_list(Plugins) ->
                Known = rabbit_plugins:plugin_names(rabbit_plugins:list(maps:get(plugins_path, Context))),
                Say("plugins_missing", Plugins -- Known);
            PluginsError -> Say("plugins_error", PluginsError)
        end;
    false -> ok
end,
Definitions = [Path || {App, Key} <- [{rabbit, load_definitions}, {rabbitmq_management, load_definitions}],
                       {ok, Path} <- [application:get_env(App, Key)]],
lists:foreach(fun(Path) ->
    Say("definitions_file", Path),
    case file:read_file(Path) of
        {ok, Bin} -> Say("definitions_result", case catch rabbit_json:decode(Bin) of M when is_map(M) -> ok; L when is_list(L) -> ok; E -> E end);
        ReadError -> Say("definitions_result", ReadError)
    end end, Definitions),
logger_std_h:filesync(default),
halt(0).
""".replace("MARK", MARK)


def _server_dir() -> Path:
    found = sorted(HOME.glob("rabbitmq_server-*"))
    if not found:
        from chartgen.configcheck.base import CheckerMissing
        raise CheckerMissing("RabbitMQ is not installed: run `make tools` as root (Debian package rabbitmq-server)")
    return found[-1]


def program(machine: Machine) -> str:
    def compute() -> str:
        otp = machine.run([machine.program("erl"), "-noshell", "-eval", 'io:format("~s", [erlang:system_info(otp_release)]), halt().']).stdout
        return f"rabbitmq {_server_dir().name.split('-', 1)[1]} prelaunch (Erlang/OTP {otp or '?'})"
    return machine.memo(KIND, compute)


def units(rendering: Rendering, files: list[tuple[RenderedFile, FileCheck]]) -> Iterator[Unit]:
    """One unit per container mounting RabbitMQ files (all of them together); a file no container
    mounts cannot be judged: it is reported as never read."""
    wanted = {file: check for file, check in files}
    seen: set[tuple[object, ...]] = set()
    mounted: set[RenderedFile] = set()
    for container in rendering.containers:
        group = tuple(sorted((m.file for m in container.mounts if m.file in wanted), key=lambda f: f.name))
        if group:
            mounted.update(group)
            key = tuple((m.path, m.text) for m in container.mounts if m.file in wanted)
            if key not in seen:
                seen.add(key)
                yield Unit(group, wanted[group[0]], container)
    for file, check in files:
        if file not in mounted:
            yield Unit((file,), check, None)


def run(unit: Unit, machine: Machine, scratch: Path) -> list[Result]:
    if unit.container is None:
        return [Result(file, ("no container mounts it: RabbitMQ never reads it",)) for file in unit.files]
    container = unit.container
    root = PodRoot(scratch / "root", container)
    for mount in container.mounts:
        root.place(mount)
    env = {name: value for name, value in DEFAULTS.items()}
    env.update({name: value for name, value in container.env if name.startswith("RABBITMQ_") or name == "HOME"})
    env = {name: root.rewrite(value) if name != "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS" else value for name, value in env.items()}
    for name in ("RABBITMQ_CONFIG_FILE", "RABBITMQ_ADVANCED_CONFIG_FILE", "RABBITMQ_CONF_ENV_FILE", "RABBITMQ_ENABLED_PLUGINS_FILE",
                 "RABBITMQ_MNESIA_BASE", "RABBITMQ_LOG_BASE", "HOME"):
        if not env[name].startswith(str(root.root)):  # a default the container did not mount: the scratch root's
            env[name] = str(root.path(env[name]))
    for name in ("RABBITMQ_MNESIA_BASE", "RABBITMQ_LOG_BASE", "HOME"):
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    server = _server_dir()
    env.update({"PATH": "/usr/bin:/bin", "RABBITMQ_PLUGINS_DIR": str(server / "plugins"), "LANG": "C.UTF-8", "ERL_CRASH_DUMP_SECONDS": "0"})
    # Unquoted in the start script: split on blanks, quotes kept (erl reads "/path" as a string).
    erl_args = root.rewrite(env.pop("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "")).split()
    ebins = [path for ebin in sorted((server / "plugins").glob("*/ebin")) for path in ("-pa", str(ebin))]
    env.update(machine.resolver_env(scratch))
    result = machine.run([machine.program("erl"), "-noshell", *ebins, *erl_args, "-eval", SCRIPT], env=env, cwd=scratch)
    return _results(unit, root, result.returncode, root.unrewrite(result.stdout), root.unrewrite(result.stderr))


def _results(unit: Unit, root: PodRoot, code: int, stdout: str, stderr: str) -> list[Result]:
    said = [(line.split(" ", 2)[1], line.split(" ", 2)[2]) for line in stdout.splitlines() if line.startswith(MARK + " ")]
    reports = [line for line in (stdout + stderr).splitlines() if line.strip() and not line.startswith(MARK) and "REPORT====" not in line]
    errors: dict[str, list[str]] = {}
    warnings: dict[str, list[str]] = {}
    read: dict[str, str] = {}  # pod path -> role
    config_files = next((value for what, value in said if what == "config_files"), "[]")
    main = re.findall(r'"([^"]*)"', config_files)
    for what, value in said:
        if what == "config_result":
            read.update({path: "config" for path in main if path})
            if value != "ok":
                errors.setdefault("config", []).extend([f"rabbit_prelaunch_conf:setup/1 returned {value}", *reports[-8:]])
        elif what == "consult" and not value.startswith("{ok,"):
            errors.setdefault("config", []).append(f"file:consult: {value}")
        elif what == "plugins_file":
            read[value.strip('"')] = "plugins"
        elif what == "plugins_error":
            errors.setdefault("plugins", []).append(value)
        elif what == "plugins_missing" and value != "[]":
            warnings.setdefault("plugins", []).append(f"enabled plugins RabbitMQ does not have (ignored at boot): {value}")
        elif what == "definitions_file":
            read[value.strip('"')] = "definitions"
        elif what == "definitions_result" and value != "ok":
            errors.setdefault("definitions", []).append(f"definitions: {value}")
    if code and not said:
        errors.setdefault("config", []).extend(error_lines(stdout + stderr))
    results = []
    for file in unit.files:
        mount = unit.mount(file)
        path = mount.path if mount else file.name
        role = next((role for read_path, role in read.items() if read_path in (path, path.rsplit(".", 1)[0])), None)
        if role is None:
            results.append(Result(file, (f"mounted at {path}, but RabbitMQ reads no such file "
                                         f"(config {main[0] if main else '?'}, plugins and definitions as configured)",),
                                  where=unit.container.label if unit.container else ""))
            continue
        results.append(Result(file, tuple(errors.get(role, [])), tuple(warnings.get(role, [])), where=unit.container.label if unit.container else ""))
    return results
