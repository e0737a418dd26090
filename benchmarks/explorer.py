"""How fast the coarseness explorer answers a move, on a store of 200,000 frames x 512 dims.

Builds (once, in --dir) a float16 switching-walk store, opens `CoarsenessExplorer` on it, and times a series of
moves of each control until the new point is shown, twice: moving again as soon as each point is shown
(nothing computed ahead), and after a pause in which the worker finishes the curve and the settings one move
away. A first clustering without PCA of wide contexts is answered on a quicker sample first (flagged `quick`),
then on the whole sample: both times are printed. Target: under 1 s a move on 2 cores.

    .venv/bin/python benchmarks/explorer.py [--frames 200000] [--dim 512] [--dir /tmp/latentlab-bench]
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from phase0 import make_store
from latentlab.widgets import CoarsenessExplorer

MOVES = [('K', 16), ('K', 256), ('target', 'dx_std'), ('target', 'x'), ('target', 'dx_white'), ('target', 'dx'),
         ('coarsener', 'mean'), ('d', 0), ('K', 64), ('coarsener', 'concat'), ('d', 8), ('L', 5), ('L', 6), ('L', 4)]

def shown(ex, full:bool=False):
    "Wait until the explorer shows the current setting (on the whole sample if `full`), or its worker ended."
    while ((ex.shown != ex.cond or (full and ex.values.get('sample', 'full') != 'full'))
           and ex._threads[-1].is_alive()): time.sleep(0.002)

def run(store, pause:bool) -> tuple[list[float], list[float]]:
    "Seconds until each move's first answer (a quick estimate where flagged) and until its whole-sample answer."
    t0 = time.perf_counter(); ex = CoarsenessExplorer(store, L=4, coarsener='concat', d=8, K=64); shown(ex)
    print(f"  open (reads the sample, first point) {time.perf_counter() - t0:.2f} s")
    first, whole, cpu = [], [], []
    for control, value in MOVES:
        if pause: ex.wait()
        t0, c0 = time.perf_counter(), time.process_time()
        ex.controls[control].value = value; shown(ex)
        first.append(time.perf_counter() - t0); cpu.append(time.process_time() - c0)
        quick = ex.values.get('sample') == 'quick'
        status = ex.status.value
        shown(ex, full=True); whole.append(time.perf_counter() - t0)
        print(f"  {control:9s} = {value!s:8s} {first[-1]:5.2f} s (cpu {cpu[-1]:5.2f} s)"
              + (f" (quick; whole sample {whole[-1]:.2f} s)" if quick else '') + f"   {status}")
    ex.wait()
    return first, whole, cpu

def summary(times:list[float]) -> str:
    "How many of `times` are under a second, the slowest and the median."
    return f"under 1 s: {sum(x < 1 for x in times)}/{len(times)} moves; slowest {max(times):.2f} s; median {sorted(times)[len(times)//2]:.2f} s"

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--frames', type=int, default=200_000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--dir', default='/tmp/latentlab-bench')
    a = p.parse_args()
    store = make_store(Path(a.dir)/f'walk-{a.frames}-{a.dim}', a.frames, a.dim)
    print(f"{len(store.x):,} frames x {a.dim}")
    for pause in (False, True):
        print('after a pause (the worker has finished)' if pause else 'moving again as soon as each point is shown')
        first, whole, cpu = run(store, pause)
        print(f"  first answer  {summary(first)}")
        print(f"  whole sample  {summary(whole)}")
        print(f"  CPU seconds to the first answer (both cores; a guide when the machine is shared): {summary(cpu)}")

if __name__ == '__main__': main()
