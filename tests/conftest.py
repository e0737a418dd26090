import os, sys
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')      # never wait on a hub that cannot be reached
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
# The suite checks CPU results, some to the bit (resumed runs, two processes against one); on a machine with a GPU it
# still runs on the CPU (unless LATENTLAB_TESTS_ON_GPU=1). The CUDA paths are checked by benchmarks/cuda_check.py.
if not os.environ.get('LATENTLAB_TESTS_ON_GPU'): os.environ['CUDA_VISIBLE_DEVICES'] = ''

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent/'shared'/'speech'/'real'
LATENTLAB = str(Path(sys.executable).parent/'latentlab')

# The files that take longest (seconds of both workers' time on 2 cores, 2026-11-29: 150, 115, 66, 48, 44, 36, 36, 21),
# collected first. tools/test.sh hands whole files to two workers (`--dist loadfile`) in collection order
# (`--no-loadscope-reorder`; xdist's own order is by the number of tests in a file), so the longest start first and no
# long file starts last while the other worker idles.
LONGEST = ['test_train.py', 'test_experiment.py', 'test_ar.py', 'test_geometry.py', 'test_cli.py', 'test_pretrained.py',
           'test_reports.py', 'test_phase0_defects.py']

def pytest_collection_modifyitems(config, items):
    "The longest files' tests first (`LONGEST`), the rest after them; within a file, and among the rest, as collected."
    items.sort(key=lambda item: LONGEST.index(item.path.name) if item.path.name in LONGEST else len(LONGEST))

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real speech not found at {REAL} (../shared is absent in this clone)")

def latentlab(*args, **kw):
    "Run the `latentlab` command with `args`; its completed process, output captured."
    import subprocess
    return subprocess.run([LATENTLAB, *map(str, args)], capture_output=True, text=True, **kw)

def latentlab_here(*args):
    """Run `latentlab *args` in this process, as `latentlab` runs it (`latentlab.cli.main`, its exit code, its output
    captured): for tests whose subject is not the process, without a fresh interpreter importing torch for each
    call (about 6 s here). Kills, torchrun and settings read from the environment keep `latentlab`'s own process."""
    import contextlib, io, subprocess
    from latentlab.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main(list(map(str, args)))
        except SystemExit as e: code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1   # argparse's refusals, --help
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())

def kill_once_checkpointed(args, out:Path, first:str, timeout:float=300.):
    "Start `latentlab *args --out out` and SIGKILL it as soon as checkpoint folder `first` (or a later one) is written."
    import signal, subprocess, time
    p = subprocess.Popen([LATENTLAB, *map(str, args), '--out', str(out)])
    ckpts, deadline = out/'checkpoints', time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        if ckpts.is_dir() and any(c.name >= first for c in ckpts.glob('step-*')): break
        time.sleep(0.02)
    assert p.poll() is None, "the run finished before it could be killed"
    p.send_signal(signal.SIGKILL); p.wait()

def one_and_two_processes(args, tmp_path:Path) -> tuple[Path, Path]:
    "Run `latentlab *args` as one process into tmp_path/'one' and as two gloo processes under torchrun into tmp_path/'two'; both must succeed."
    import subprocess
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    one = latentlab(*args, '--out', tmp_path/'one', env=env)
    assert one.returncode == 0, one.stderr
    torchrun = str(Path(sys.executable).parent/'torchrun')
    two = subprocess.run([torchrun, '--standalone', '--nproc-per-node', '2', LATENTLAB, *map(str, args), '--out', str(tmp_path/'two')],
                         capture_output=True, text=True, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    return tmp_path/'one', tmp_path/'two'
