"""Phase 0 probe speed and memory at the size of 100 hours of 12.5 Hz latents, and how they grow with size.

Builds (once, in --dir) a memory-mapped float16 store of 4.5 M frames x 512 dims (36,000 utterances of about
10 s, switching-walk latents), then times `latentlab phase0 STORE --preset seed` in a fresh process: the seed
conditions for dx and x with random baselines, held-out ratios, 1000-resample bootstrap intervals, and the ridge
and k-NN references; and `--target dx` alone (the seed table before dx and x were shown side by side). Peak
memory is that process's maximum resident set. `--frames 500000,4500000,45000000` times each size in turn (a
45 M-frame store, all of LibriSpeech's 960 h, takes 46 GB of disk). `--baseline DIR` also times the checkout in
DIR (an older latentlab) on the same stores, alternating with this one, `--repeat` times each.

It also runs the same two conditions through a plain scikit-learn pipeline (PCA + KMeans on all frames,
in-sample ratios only; it cannot run at full size here, since the concatenated contexts alone would take 37 GB)
on a subset store of --subset frames, and `variance_ratio` on the same subset in the same process, and prints
the speed ratio, and the ratio per frame against the full-size run. Targets on 2 CPU cores: <= 60 s, <= 4 GB,
>= 10x the plain pipeline.

    .venv/bin/python benchmarks/phase0.py [--frames 4500000[,...]] [--subset 600000] [--dir /tmp/latentlab-bench]
                                          [--baseline DIR] [--repeat 1] [--no-plain]
"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd
from latentlab.measure.probe import SEED, variance_ratio
from latentlab.store import Store, write_store
from latentlab.catalogue import switching_walk_store

BASE_FRAMES = 4_500_000

def make_store(out:Path, frames:int, dim:int) -> Store:
    "A float16 switching-walk store of about `frames` frames in 10 s utterances, 120 speakers (built once)."
    if (out/'meta.json').exists(): return Store(out)
    if frames > 2 * BASE_FRAMES:                 # generating 45 M frames takes long: tile the 4.5 M store instead
        base = make_store(out.parent/f'walk-{BASE_FRAMES}-{dim}', BASE_FRAMES, dim)
        return tile_store(base, out, round(frames / len(base.x)))
    speakers, per_utt = 120, 125
    return switching_walk_store(out, speakers=speakers, utts=max(1, round(frames / speakers / per_utt)), frames=per_utt,
                                dim=dim, modes=8, drift=0.5, noise=0.05, dtype='float16')

def tile_store(source:Store, out:Path, copies:int) -> Store:
    "`copies` copies of `source` one after another, each with speakers of its own (a big store, quickly)."
    if (out/'meta.json').exists(): return Store(out)
    index = source.index.drop(columns='offset')
    index = pd.concat([index.assign(utt=f'c{copy}-' + index.utt, speaker=f'c{copy}-' + index.speaker)
                       for copy in range(copies)], ignore_index=True)
    chunk = 1 << 20
    blocks = (source.x[at:at + chunk] for _ in range(copies) for at in range(0, len(source.x), chunk))
    meta = {key: value for key, value in source.meta.items()
            if key not in ('sha256', 'n_utts', 'n_frames', 'latentlab_version')}
    meta['corpus'] = f"{copies} copies of {source.meta['corpus']}"
    write_store(out, index, blocks, np.tile(np.asarray(source.phones), copies), meta)
    return Store(out)

def timed_run(cmd:list, stdout:str|None=None) -> tuple[float, float]:
    "Wall seconds and peak GiB of `cmd` in a fresh process (its output to the file `stdout` if given)."
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        if stdout: os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.execv(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    if status: raise SystemExit(f"{' '.join(cmd)} failed ({status})")
    return time.perf_counter() - t0, usage.ru_maxrss / 2**20

def time_cli(store:Path, *extra:str, checkout:str|None=None) -> tuple[float, float, list]:
    "Wall seconds and peak GiB of `latentlab phase0 STORE --preset seed --json` in a fresh process, and its table."
    path = f"sys.path.insert(0, {checkout!r}); " if checkout else ''
    code = f"import sys; {path}from latentlab.cli import main; sys.exit(main())"
    cmd = [sys.executable, '-c', code, 'phase0', str(store), '--preset', 'seed', '--json', '--quiet', *extra]
    wall, peak = timed_run(cmd, f'{store}.json')
    return wall, peak, json.loads(Path(f'{store}.json').read_text())

def plain_pipeline(store:Store, L:int=4) -> tuple[float, dict]:
    "The seed conditions with numpy and scikit-learn only (in-sample ratios): seconds and ratios."
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    t0 = time.perf_counter()
    x = np.asarray(store.x, np.float32)
    b = store.bounds
    t = np.concatenate([np.arange(s + L, e) for s, e in zip(b[:-1], b[1:])])
    train = store.frames('train')[t]
    dx = x[t] - x[t - 1]
    def ratio(y, lab):
        within = sum(((y[lab == k] - y[lab == k].mean(0))**2).sum() for k in np.unique(lab))
        return within / ((y - y.mean(0))**2).sum()
    ctx = {'mean': sum(x[t - l] for l in range(1, L + 1)) / L, 'concat': np.concatenate([x[t - l] for l in range(L, 0, -1)], 1)}
    out = {}
    for name, feats, K in [('mean(4)→VQ(64)', ctx['mean'], 64), ('concat(4)→PCA(8)→VQ(256)', None, 256)]:
        if feats is None: feats = PCA(8, random_state=0).fit(ctx['concat'][train]).transform(ctx['concat'])
        lab = KMeans(K, n_init=1, random_state=0).fit(feats[train]).labels_
        out[name] = float(ratio(dx[train], lab))
    return time.perf_counter() - t0, out

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--frames', default='4500000', help="store sizes to time, comma-separated")
    p.add_argument('--subset', type=int, default=600_000, help="frames of the store both pipelines run on")
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--dir', default='/tmp/latentlab-bench', help="where the stores are built (kept for re-runs)")
    p.add_argument('--baseline', help="a checkout of another latentlab to time on the same stores")
    p.add_argument('--repeat', type=int, default=1, help="runs of each, alternating with the baseline's")
    p.add_argument('--no-plain', action='store_true', help="skip the scikit-learn comparison on the subset")
    a = p.parse_args()
    d = Path(a.dir); d.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in a.frames.split(',')]
    print(f"{os.cpu_count()} cores")
    for frames in sizes:
        t0 = time.perf_counter(); store = make_store(d/f'walk-{frames}-{a.dim}', frames, a.dim)
        print(f"store {store.path}: {store.x.shape} {store.x.dtype} ({time.perf_counter() - t0:.0f} s to build or open)")
        runs = {'dx and x (default)': (), 'dx only': ('--target', 'dx')}
        if a.baseline: runs['dx only, baseline'] = ('baseline',)
        times = {name: [] for name in runs}
        for _ in range(a.repeat):
            for name, extra in runs.items():
                checkout = a.baseline if extra == ('baseline',) else None
                wall, peak, table = time_cli(store.path, *(() if checkout else extra), checkout=checkout)
                times[name].append((wall, peak))
                print(f"  {name:20s} {len(store.x):>11,} frames x {a.dim}: {wall:6.1f} s, peak {peak:.2f} GiB, "
                      f"{wall / len(store.x) * 1e6:.2f} us/frame")
                if name == 'dx only': last = table
        medians = {name: float(np.median([w for w, _ in t])) for name, t in times.items()}
        if a.baseline:
            print(f"  median dx only: this checkout {medians['dx only']:.1f} s, baseline {medians['dx only, baseline']:.1f} s: "
                  f"{medians['dx only, baseline'] / medians['dx only']:.2f}x")
        for r in last:
            if r['method'] in ('lookup', 'random'):
                print(f"     {r['condition']:26s} {r['target']:3s} {r['method']:6s} {r['split']:8s} {r['ratio']:.4f} "
                      f"[{r['lo']:.4f}, {r['hi']:.4f}]")
    if a.no_plain: return
    full = Store(d/f'walk-{sizes[-1]}-{a.dim}')
    wall = medians['dx only']
    sub = make_store(d/f'walk-{a.subset}-{a.dim}', a.subset, a.dim)
    t0 = time.perf_counter()
    ours = variance_ratio(sub, [c for c in SEED if c.target == 'dx'], refs=False)
    wall_sub = time.perf_counter() - t0
    plain, ratios = plain_pipeline(sub)
    print(f"the same two conditions on {len(sub.x):,} frames, in this process: latentlab {wall_sub:.1f} s (with held-out "
          f"ratios, random baselines and intervals; no references), plain scikit-learn {plain:.1f} s (in-sample ratios "
          f"only): {plain / wall_sub:.1f}x")
    print(f"per frame: latentlab dx only at {len(full.x):,} frames {wall / len(full.x) * 1e6:.1f} us (everything), plain "
          f"on the subset {plain / len(sub.x) * 1e6:.1f} us: {plain / len(sub.x) / (wall / len(full.x)):.1f}x")
    for name, r in ratios.items():
        ins = ours[(ours.condition == name) & (ours.method == 'lookup') & (ours.split == 'train')].ratio.item()
        print(f"   {name:26s} in-sample: plain {r:.4f}, latentlab {ins:.4f}")

if __name__ == '__main__': main()
