"""`chartgen build --watch` in a real process: it rebuilds after an edit, re-rendering only the
subchart the edit touched, reports bad input without stopping or touching the output, and
recovers when the input is fixed."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from helpers import ROOT, tree_bytes


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def pump(stream) -> None:
        for line in stream:
            found.put(line.rstrip("\n"))

    for stream in (process.stdout, process.stderr):
        threading.Thread(target=pump, args=(stream,), daemon=True).start()
    return found


def wait_for(found: queue.Queue[str], text: str, timeout: float = 60) -> list[str]:
    seen = []
    while True:
        line = found.get(timeout=timeout)  # queue.Empty fails the test with what was seen
        seen.append(line)
        if text in line:
            return seen


def test_watch_rebuilds_only_what_an_edit_touched(tmp_path: Path) -> None:
    for folder in ("blueprints", "values"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "chartgen", "build", "--watch", "--out", str(tmp_path / "out")],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # as from a terminal: an xdist worker ignores SIGINT, and a child inherits that
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        found = lines_of(process)
        wait_for(found, "rendered 16 of 16 subcharts")
        blueprint = tmp_path / "blueprints" / "memcached.yaml"
        good = blueprint.read_text()
        blueprint.write_text(good.replace("requests: {cpu: 50m, memory: 96Mi}", "requests: {cpu: 50m, memory: 128Mi}"))
        line = wait_for(found, "memcached.yaml changed")[-1]
        assert "rendered 1 of 16 subcharts, changed: charts/memcached" in line, line
        assert 'requests:\n      cpu: "50m"\n      ephemeral-storage: "64Mi"\n      memory: "128Mi"' in (tmp_path / "out" / "oaas" / "charts" / "memcached" / "values.yaml").read_text()

        before = tree_bytes(tmp_path / "out")
        blueprint.write_text(good.replace("service: memcached", "service: memcached\nbroken: [", 1))
        problems = wait_for(found, "left as it was")
        assert any("memcached.yaml:" in line and "CG101" in line for line in problems), problems
        assert tree_bytes(tmp_path / "out") == before
        assert process.poll() is None, "a bad edit must not end the watch"

        blueprint.write_text(good)
        line = wait_for(found, "memcached.yaml changed")[-1]
        assert "changed: charts/memcached" in line, line
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError("chartgen build --watch did not stop within 30 s of Ctrl-C") from None
    assert process.returncode == 0, "Ctrl-C is how a watch ends, whether it waits or rebuilds"
