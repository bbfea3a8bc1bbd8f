"""A Ctrl-C is never lost: even when Python drops the KeyboardInterrupt (it does when the
signal's handler runs inside a finaliser, which the garbage collector may call anywhere),
the command stops with exit 130 and one line (pipeline.faults)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

# The SIGINT arrives while a finaliser runs, as it did in the flaky crash test: Python runs
# the handler there, the KeyboardInterrupt is "ignored", and the command would go on.
SWALLOWED = """
import os, signal, sys
from pipeline.cli import main

class Finalised:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100):  # bytecode: where Python runs the handler
            pass

fired = []

def hook(event, args):
    if event == "open" and not fired and str(args[0]).endswith(".yaml"):
        fired.append(True)
        Finalised()  # freed at once: its __del__ takes the signal

sys.addaudithook(hook)
sys.exit(main(["validate", sys.argv[1]]))
"""


def test_an_interrupt_swallowed_in_a_finaliser_still_stops_the_command() -> None:
    result = subprocess.run([sys.executable, "-c", SWALLOWED,
                             str(ROOT / "config" / "forums" / "demo.yaml")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "KeyboardInterrupt" in result.stderr  # Python did drop it ("Exception ignored")
    assert result.returncode == 130, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("sort-archive:")]
    assert lines == ["sort-archive: error: interrupted; finished work is kept, run the same "
                     "command to resume"], result.stderr


def test_a_plain_interrupt_exits_130() -> None:
    script = ("import os, signal, sys\nfrom pipeline.cli import main\n"
              "sys.addaudithook(lambda e, a: e == 'open' and str(a[0]).endswith('.yaml') "
              "and os.kill(os.getpid(), signal.SIGINT))\n"
              "sys.exit(main(['validate', sys.argv[1]]))\n")
    result = subprocess.run([sys.executable, "-c", script,
                             str(ROOT / "config" / "forums" / "demo.yaml")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
