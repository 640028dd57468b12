"""Build code runs in a child process: whatever it does to its process, the exporter reports one clear
error (exit status 2, the build file named, no output) or exports as usual -- never exit 0 without
an output, never a hang, never a traceback.  Networks are built with ``--lasagne compat``.
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NETWORK = '''
from lasagne.layers import DenseLayer, InputLayer


def network():
    return DenseLayer(InputLayer((None, 4), name="input"), 3, name="fc")
'''


def build_file(tmp_path, body, module_level=""):
    """A build file whose ``build()`` runs ``body`` and then returns a small network."""
    text = "import os, sys, signal, threading, time\n" + NETWORK + textwrap.dedent(module_level) + \
        "\n\ndef build():\n" + textwrap.indent(textwrap.dedent(body), "    ") + "\n    return network()\n"
    (tmp_path / "net.py").write_text(text)
    return tmp_path / "net.py"


@pytest.fixture
def work(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "model.npz", rng.standard_normal((4, 3)).astype(np.float32),
             rng.standard_normal(3).astype(np.float32))
    (tmp_path / "out").mkdir()
    return tmp_path


def export(work, *extra, output=None, cwd=ROOT, timeout=120):
    output = output or work / "out" / "m.onnx"
    args = [sys.executable, "-m", "exporter", str(work / "model.npz"), str(output), "--network",
            f"{work / 'net.py'}:build", "--lasagne", "compat", *map(str, extra)]
    start = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=timeout,
                       env={**os.environ, "PYTHONPATH": ROOT})
    r.seconds = time.monotonic() - start
    return r


def line_of(work, text):
    """``net.py:N``: where ``text`` is in the build file."""
    lines = (work / "net.py").read_text().splitlines()
    return f"net.py:{next(i for i, l in enumerate(lines, 1) if text in l)}"


def refused(r, work, *words):
    """Exit 2, one ``error:`` line naming the build file and ``words``, nothing in out/."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
    assert len(errors) == 1, r.stderr
    for w in ("net.py",) + words:
        assert w in errors[0], f"{w!r} not in {errors[0]!r}"
    assert os.listdir(work / "out") == []
    return errors[0]


def exported(r, work):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert os.path.exists(work / "out" / "m.onnx")


# -- ending the process -------------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["sys.exit(0)", "sys.exit()", "raise SystemExit(3)"])
def test_sys_exit_in_the_build_function(work, call):
    build_file(work, call)
    build_call = call.split("(")[0].split()[-1]
    refused(export(work), work, "build function called sys.exit(", line_of(work, build_call))


def test_sys_exit_while_the_build_file_is_imported(work):
    build_file(work, "pass", module_level="sys.exit(0)\n")
    refused(export(work), work, "importing the network file failed", "sys.exit(0)")


def test_os_exit_in_the_build_function(work):
    build_file(work, "os._exit(0)")
    refused(export(work), work, "ended its process", "status 0", "before the network was captured")


def test_os_exit_from_a_thread(work):
    build_file(work, "threading.Thread(target=os._exit, args=(0,)).start()\ntime.sleep(30)")
    refused(export(work), work, "ended its process")


@pytest.mark.parametrize("exception", ["GeneratorExit", "KeyboardInterrupt"])
def test_base_exceptions_raised_by_build_code(work, exception):
    build_file(work, f"raise {exception}()")
    refused(export(work), work, exception, "net.py:")


# -- left running, moving, printing ---------------------------------------------------------------------
def test_threads_and_processes_left_running_do_not_keep_the_exporter(work):
    build_file(work, """
        threading.Thread(target=time.sleep, args=(600,)).start()   # not a daemon
        import subprocess
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    """)
    r = export(work, timeout=60)
    exported(r, work)
    assert r.seconds < 30


def test_chdir_in_build_code_does_not_move_a_relative_output(work, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    build_file(work, f"os.chdir({str(elsewhere)!r})")
    r = export(work, output=os.path.join("out", "m.onnx"), cwd=work)
    exported(r, work)
    assert os.listdir(elsewhere) == []


@pytest.mark.parametrize("how", ["sys.stdout.close()", "os.close(1)", "os.close(2)\nos.close(1)"])
def test_build_code_closing_stdout(work, how):
    build_file(work, how)
    r = export(work)
    exported(r, work)
    assert r.stdout.strip().startswith("wrote "), r.stdout


def test_flooded_stdout_is_drained_and_cut(work):
    build_file(work, "for i in range(400000):\n    print('flood line %06d' % i)")  # ~7 MB
    r = export(work)
    exported(r, work)
    assert len(r.stdout) < 1.5 * (1 << 20) and r.stdout.startswith("flood line 000000\n")
    assert "more bytes here; not shown" in r.stdout and r.stdout.strip().endswith("checked in onnxruntime")


def test_build_code_output_and_warnings_stay_visible(work):
    build_file(work, "print('progress: 1/2')\nimport warnings\nwarnings.warn('old API')\n"
                     "sys.stderr.write('to stderr\\n')")
    r = export(work)
    exported(r, work)
    assert r.stdout.startswith("progress: 1/2\n")
    assert "warning: old API" in r.stderr and "to stderr" in r.stderr


# -- signals, crashes, memory, time -----------------------------------------------------------------------
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGUSR1"])
def test_signal_ending_the_build_process(work, sig):
    build_file(work, f"os.kill(os.getpid(), signal.{sig})\ntime.sleep(30)")
    line = refused(export(work), work)
    assert sig in line or "KeyboardInterrupt" in line, line


def test_crash_names_the_users_line(work):
    build_file(work, "import ctypes\nctypes.string_at(0)")
    line = refused(export(work), work, "crashed (SIGSEGV", "no network was captured")
    assert "at " + line_of(work, "string_at(0)") in line, line


def test_killed_as_out_of_memory(work):
    build_file(work, "os.kill(os.getpid(), signal.SIGKILL)")  # what the kernel's OOM killer does
    refused(export(work), work, "killed (SIGKILL", "memory")


def test_memory_error_in_build_code(work):
    build_file(work, "import numpy\nx = numpy.ones(1 << 62, dtype=numpy.uint8)")
    refused(export(work), work, "MemoryError", line_of(work, "numpy.ones"))


def test_endless_loop_is_stopped_by_the_time_limit(work):
    build_file(work, "while True:\n    pass")
    r = export(work, "--build-timeout", "3")
    line = refused(r, work, "did not finish within 3 s", "--build-timeout")
    assert r.seconds < 30, r.seconds
    assert line.endswith(("it was stopped at " + line_of(work, "while True"),  # either line of the loop
                          "it was stopped at " + line_of(work, "    pass"))), line


def test_waiting_for_input_does_not_hang(work):
    build_file(work, "x = input('weights? ')")
    refused(export(work), work, "EOFError", line_of(work, "input("))


# -- the parent stays clean ----------------------------------------------------------------------------
def test_the_exporter_process_never_imports_the_build_code(work):
    build_file(work, "pass", module_level="open(os.environ['MARK'], 'a').write(str(os.getpid()) + '\\n')\n")
    script = textwrap.dedent(f'''
        import sys
        from exporter import cli
        status = cli.main([{str(work / "model.npz")!r}, {str(work / "out" / "m.onnx")!r}, "--network",
                           {str(work / "net.py") + ":build"!r}, "--lasagne", "compat", "-q"])
        import os
        print(status, "lasagne" in sys.modules, "theano" in sys.modules, os.getpid())
    ''')
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT, "MARK": str(work / "mark")})
    status, lasagne, theano, pid = r.stdout.split()
    assert (status, lasagne, theano) == ("0", "False", "False"), (r.stdout, r.stderr)
    build_pids = (work / "mark").read_text().split()
    assert len(build_pids) == 1 and build_pids[0] != pid  # the build file ran once, in another process


def test_capture_and_check_run_build_code_isolated_too(work):
    build_file(work, "sys.exit(0)")
    for args in (["capture", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat", "--out",
                  work / "out" / "a.json"],
                 ["check", work / "m.onnx", "--reference", work / "r.npz", "--network", f"{work / 'net.py'}:build",
                  "--lasagne", "compat"]):
        exported_model = work / "m.onnx"
        if args[0] == "check":  # check needs a model and a reference before it reads the network
            build_file(work, "pass")
            assert export(work, output=exported_model).returncode == 0
            np.savez(work / "r.npz", **{"in:input": np.zeros((2, 4), np.float32),
                                        "out:input": np.zeros((2, 4), np.float32),
                                        "out:fc": np.zeros((2, 3), np.float32)})
            build_file(work, "sys.exit(0)")
        r = subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                           cwd=ROOT)
        refused(r, work, "sys.exit(0)")
