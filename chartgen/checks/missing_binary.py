"""A command, probe or script calls a program the image does not have.

Every program a workload starts is looked up in its image's facts (`images.<name>.facts.binaries`):
the command and the exec probes, each step of a job, and, when the command runs a shell, every
command of its script (`sh -c '...'`, or a script file of the blueprint mounted into the workload).
A name called without a slash is found by a listed name or by a listed path that ends in it; a
path must be listed as it is called. `$NAME` is followed to the workload's `env`. Shell builtins,
keywords and `command -v` look-ups are not calls. Images without facts are not checked.

PASS::

    # values/queens.yaml: galera.images.mariadb.facts.binaries: [/bin/bash, timeout, mysqld, ...]
    command: ["/bin/bash", "/oaas/galera/start.sh"]   # its script calls timeout, mysqld, sed, tr

FAIL::

    # the script calls `nc`, which no kolla image installs
    if nc -z -w 2 "$peer" 4567; then peers_up=1; fi
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Iterator

from chartgen.checks.context import Context, block_line, image_of, workloads
from chartgen.diagnostics import Diagnostic
from chartgen.load import Path
from chartgen.model import Image

CODE = "CG413"

SHELLS = {"sh", "bash", "dash"}
# Builtins and keywords: not programs of the image. `exec`, `command` and `timeout` run the next word.
_NOT_PROGRAMS = {
    "!", ":", ".", "[", "[[", "]]", "{", "}", "break", "case", "cd", "continue", "do", "done", "echo", "elif", "else",
    "esac", "eval", "exit", "export", "false", "fi", "for", "function", "if", "in", "let", "local", "printf", "read",
    "return", "set", "shift", "source", "test", "then", "trap", "true", "ulimit", "umask", "unset", "until", "wait",
    "while",
}
_STARTS_COMMAND = {"then", "do", "else", "elif", "if", "while", "until", "{", ";", ";;", "&&", "||", "|", "&", "(", "\n"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_REDIRECTIONS = {">", ">>", "<", "<<", "<>", ">&", "<&", "&>", "2>", "2>&"}


def check(context: Context) -> Iterator[Diagnostic]:
    for service, section, key, spec in workloads(context):
        image = image_of(context, service, spec.get("image", ""))
        base: Path = ("services", service, section, key)
        env = {name: value for name, value in spec.get("env", {}).items() if isinstance(value, str)}
        scripts = _mounted_scripts(context, service, spec)
        targets: list[tuple[Path, list[Any], Image | None]] = []
        if spec.get("command"):
            targets.append((base + ("command",), list(spec["command"]) + list(spec.get("args", [])), image))
        for name, probe in sorted(spec.get("probes", {}).items()):
            if "exec" in probe:
                targets.append((base + ("probes", name, "exec"), list(probe["exec"]), image))
        for index, step in enumerate(spec.get("steps", [])):
            step_image = image_of(context, service, step["image"]) if "image" in step else image
            targets.append((base + ("steps", index, "command"), list(step["command"]), step_image))
        for path, argv, target_image in targets:
            if target_image is None or target_image.facts is None:
                continue
            for where, program in _calls(context, path, [str(word) for word in argv], env, scripts):
                if not _provided(program, target_image.facts.binaries):
                    file, line, col = where
                    yield Diagnostic(file, line, col, CODE, f"{service}.{key} calls {program!r}, which {target_image.reference} does not have (not in its facts.binaries)")


def _runs_string(flags: str) -> bool:
    """`-c`, `-ec`, `-xc`: the shell runs its next argument as a script."""
    return flags.startswith("-") and not flags.startswith("--") and "c" in flags


def _provided(program: str, binaries: tuple[str, ...]) -> bool:
    if "/" in program:
        return program in binaries
    return any(binary == program or binary.rsplit("/", 1)[-1] == program for binary in binaries)


def _mounted_scripts(context: Context, service: str, spec: dict[str, Any]) -> dict[str, Path]:
    """Mount path -> config file path, for the workload's text config files."""
    files = context.catalog[service].get("configFiles", {})
    return {mount: ("services", service, "configFiles", name) for name, mount in spec.get("configFiles", {}).items()
            if files.get(name, {}).get("format") == "text" and isinstance(files[name].get("content"), str)}


def _calls(context: Context, path: Path, argv: list[str], env: dict[str, str], scripts: dict[str, Path]) -> Iterator[tuple[tuple[str, int, int], str]]:
    """(position, program) of every program an argv starts, following shells into their scripts."""
    where = context.merged.where(path)
    if not argv:
        return
    program = _resolve(argv[0], env)
    if program is None:
        return
    yield where, program
    if program.rsplit("/", 1)[-1] not in SHELLS or len(argv) < 2:
        return
    if _runs_string(argv[1]) and len(argv) > 2:
        yield from ((where, called) for _, called in _script_calls(argv[2], env))
    elif argv[1] in scripts:
        script_path = scripts[argv[1]] + ("content",)
        content = _value(context, script_path)
        for index, called in _script_calls(content, env):
            yield block_line(context, script_path, index), called


def _value(context: Context, path: Path) -> str:
    node: Any = context.merged.tree
    for part in path:
        node = node[part]
    return node


def _resolve(word: str, env: dict[str, str]) -> str | None:
    """The program a command word names: variables followed to literal env values; None if unknown."""
    match = _VARIABLE.match(word)
    if match:
        value = env.get(match.group(1))
        if value is None or "$" in value or not value.split():
            return None
        word = value.split()[0]
    if "$" in word or not re.fullmatch(r"[A-Za-z0-9_./+-]+", word):
        return None
    return word


_FUNCTION = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)", re.M)
_OPERATOR = re.compile(r";;|&&|\|\||>>|<<|<>|>&|<&|&>|[;&|()<>\n]")


def _script_calls(script: str, env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """(line index, program) of every command of a shell script (its own functions are not programs)."""
    functions = set(_FUNCTION.findall(script))
    starts, lines = _logical_lines(script)
    for line, program in _calls_in(_tokens("\n".join(lines)), env):
        if program not in functions:
            yield starts[line], program


def _logical_lines(script: str) -> tuple[list[int], list[str]]:
    """Continued lines joined, comment lines blanked; with the index of each one's first line."""
    starts: list[int] = []
    lines: list[str] = []
    pending = None
    for index, line in enumerate(script.split("\n")):
        text = "" if line.lstrip().startswith("#") else line
        if pending is None:
            starts.append(index)
            pending = ""
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1] + " "
            continue
        lines.append(pending + text)
        pending = None
    if pending is not None:
        lines.append(pending)
    return starts, lines


def _tokens(text: str) -> list[tuple[int, str]]:
    """(line, token) pairs; operators are tokens of their own, newlines included."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    found: list[tuple[int, str]] = []
    line = 0  # counted here: every newline is an operator token, or inside a quoted word
    try:
        for token in lexer:
            if token and all(char in ";&|()<>\n" for char in token):
                for operator in _OPERATOR.findall(token):
                    found.append((line, operator))
                    line += operator == "\n"
            else:
                found.append((line, token))
                line += token.count("\n")
    except ValueError:  # an unbalanced quote: not a script we can judge
        return []
    return found


def _calls_in(tokens: list[tuple[int, str]], env: dict[str, str]) -> Iterator[tuple[int, str]]:
    """A small state machine over the tokens: `expect` says the next word is a command; `$(` opens
    a substitution whose output is the enclosing command's word; `$((` is arithmetic."""
    expect, stack, skip, arithmetic = True, [], 0, 0
    case_header = case_pattern = False
    for position, (line, token) in enumerate(tokens):
        following = tokens[position + 1][1] if position + 1 < len(tokens) else ""
        if skip:
            skip -= 1
            continue
        if arithmetic:
            arithmetic += {"(": 1, ")": -1}.get(token, 0)
            continue
        if token.endswith("$") and following == "(":
            after = tokens[position + 2][1] if position + 2 < len(tokens) else ""
            if after == "(":
                arithmetic, skip = 1, 1
                if expect and not _ASSIGNMENT.match(token):
                    expect = False
                continue
            stack.append(expect if not _ASSIGNMENT.match(token) else True)
            expect, skip = True, 1
            continue
        if token == ")" and stack:
            expect = False
            stack.pop()
            continue
        if case_pattern:  # `pattern)` of a case item; the command follows the parenthesis
            case_pattern = token not in (")", "esac")
            expect = token == ")"
            continue
        if token == ";;":
            expect, case_pattern = True, True
            continue
        if token.isdigit() and following in _REDIRECTIONS:
            continue  # a file descriptor: 2>/dev/null, 3<>/dev/tcp/...
        if token in _REDIRECTIONS:
            skip = 1
            continue
        if token in _STARTS_COMMAND:
            expect = True
            continue
        if token == "!" and expect:  # `! cmd`: the command follows
            continue
        if not expect:
            if token == "in" and case_header:
                case_header, case_pattern = False, True
            continue
        if _ASSIGNMENT.match(token) or token == "exec":
            continue
        if token in ("for", "case"):
            expect, case_header = False, token == "case"
            continue
        if token == "command":
            expect = following != "-v"
            continue
        expect = False
        if token in _NOT_PROGRAMS:
            continue
        program = _resolve(token, env)
        if program is None:
            continue
        yield line, program
        if program.rsplit("/", 1)[-1] == "timeout":
            yield from ((line, called) for called in _wrapped([word for _, word in tokens[position + 1:]], env))


def _wrapped(rest: list[str], env: dict[str, str]) -> Iterator[str]:
    """The program `timeout [-s SIG] [-k T] DURATION PROGRAM ...` runs, and a shell's -c script."""
    words = list(rest)
    while words and words[0].startswith("-"):
        words = words[2:] if words[0] in ("-s", "-k") else words[1:]
    if len(words) < 2:
        return
    program = _resolve(words[1], env)
    if program is None:
        return
    yield program
    if program.rsplit("/", 1)[-1] in SHELLS and len(words) > 3 and _runs_string(words[2]):
        yield from (called for _, called in _script_calls(words[3], env))
