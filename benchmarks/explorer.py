"""How fast the coarseness explorer answers a move, on a store of 200,000 frames x 512 dims.

Builds (once, in --dir) a float16 switching-walk store, opens `CoarsenessExplorer` on it, and times moves of
each control: the first time a setting is seen, and again once cached. Target: under 1 s a move on 2 cores.

    .venv/bin/python benchmarks/explorer.py [--frames 200000] [--dir /tmp/latentlab-bench]
"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from phase0 import make_store
from latentlab.widgets import CoarsenessExplorer

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--frames', type=int, default=200_000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--dir', default='/tmp/latentlab-bench')
    a = p.parse_args()
    store = make_store(Path(a.dir)/f'walk-{a.frames}-{a.dim}', a.frames, a.dim)
    t0 = time.perf_counter(); ex = CoarsenessExplorer(store, L=4, coarsener='concat', d=8, K=64)
    while ex.shown != ex.cond: time.sleep(0.005)
    print(f"{len(store.x):,} frames x {a.dim}: open (reads the contexts) {time.perf_counter() - t0:.2f} s")
    ex.wait()
    for control, value in [('K', 16), ('K', 256), ('target', 'dx_std'), ('coarsener', 'mean'), ('d', 0), ('K', 64),
                           ('coarsener', 'concat'), ('d', 8), ('target', 'dx'), ('L', 8), ('L', 4)]:
        ex.wait()
        t0 = time.perf_counter(); ex.controls[control].value = value
        while ex.shown != ex.cond and ex._threads[-1].is_alive(): time.sleep(0.005)   # until the new point is shown
        print(f"   {control} = {value!s:8s} {time.perf_counter() - t0:.2f} s   {ex.status.value}")

if __name__ == '__main__': main()
