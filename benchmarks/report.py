"""Time `latentlab report` on a store of 1 M frames x 512 dims (about 22 hours of 12.5 Hz latents).

Builds (once, in --dir) a float16 switching-walk store, then runs `latentlab report STORE --out ...` in a fresh
process and prints its wall time, peak memory and the size of the page (`--plotly inline`, the default, puts
plotly.js in the page; `cdn` loads it from plotly's CDN). Target on 2 CPU cores: under 2 minutes.

    .venv/bin/python benchmarks/report.py [--frames 1000000] [--dir /tmp/latentlab-bench] [--plotly inline|cdn]
"""
import argparse, os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from phase0 import make_store, timed_run

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--frames', type=int, default=1_000_000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--dir', default='/tmp/latentlab-bench', help="where the store is built (kept for re-runs)")
    p.add_argument('--plotly', choices=['inline', 'cdn'], default='inline', help="how the page loads plotly.js")
    a = p.parse_args()
    store = make_store(Path(a.dir)/f'walk-{a.frames}-{a.dim}', a.frames, a.dim)
    page = Path(f'{store.path}.report.html')
    cmd = [str(Path(sys.executable).parent/'latentlab'), 'report', str(store.path), '--out', str(page), '--quiet',
           '--plotly', a.plotly]
    wall, peak = timed_run(cmd)
    print(f"{os.cpu_count()} cores; latentlab report on {len(store.x):,} frames x {a.dim}: {wall:.1f} s, peak {peak:.2f} GiB; "
          f"page {page.stat().st_size / 1e6:.2f} MB (plotly {a.plotly})")

if __name__ == '__main__': main()
