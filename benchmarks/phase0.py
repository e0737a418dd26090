"""Phase 0 probe speed and memory at the size of 100 hours of 12.5 Hz latents.

Builds (once, in --dir) a memory-mapped float16 store of 4.5 M frames x 512 dims (36,000 utterances of about
10 s, switching-walk latents), then times `latentlab phase0 STORE --preset seed` in a fresh process: the two
seed conditions with random baselines, held-out ratios, 1000-resample bootstrap intervals, and the ridge and
k-NN references. Peak memory is that process's maximum resident set.

It also runs the same two conditions through a plain scikit-learn pipeline (PCA + KMeans on all frames,
in-sample ratios only; it cannot run at full size here, since the concatenated contexts alone would take 37 GB)
on a subset store of --subset frames, and `variance_ratio` on the same subset in the same process, and prints
the speed ratio, and the ratio per frame against the full-size run. Targets on 2 CPU cores: <= 60 s, <= 4 GB,
>= 10x the plain pipeline.

    .venv/bin/python benchmarks/phase0.py [--frames 4500000] [--subset 600000] [--dir /tmp/latentlab-bench]
"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path
import numpy as np
from latentlab.measure.probe import SEED, variance_ratio
from latentlab.store import Store
from latentlab.catalogue import switching_walk_store

def make_store(out:Path, frames:int, dim:int) -> Store:
    "A float16 switching-walk store of about `frames` frames in 10 s utterances, 120 speakers (built once)."
    if (out/'meta.json').exists(): return Store(out)
    speakers, per_utt = 120, 125
    return switching_walk_store(out, speakers=speakers, utts=max(1, round(frames / speakers / per_utt)), frames=per_utt,
                                dim=dim, modes=8, drift=0.5, noise=0.05, dtype='float16')

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

def time_cli(store:Path) -> tuple[float, float, list]:
    "Wall seconds and peak GiB of `latentlab phase0 STORE --preset seed --json` in a fresh process, and its table."
    cmd = [str(Path(sys.executable).parent/'latentlab'), 'phase0', str(store), '--preset', 'seed', '--json', '--quiet']
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
    p.add_argument('--frames', type=int, default=4_500_000)
    p.add_argument('--subset', type=int, default=600_000, help="frames of the store both pipelines run on")
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--dir', default='/tmp/latentlab-bench', help="where the stores are built (kept for re-runs)")
    a = p.parse_args()
    d = Path(a.dir); d.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} cores")
    for frames in (a.frames, a.subset):
        t0 = time.perf_counter(); s = make_store(d/f'walk-{frames}-{a.dim}', frames, a.dim)
        print(f"store {s.path}: {s.x.shape} {s.x.dtype} ({time.perf_counter() - t0:.0f} s to build or open)")
    full = Store(d/f'walk-{a.frames}-{a.dim}')
    wall, peak, table = time_cli(full.path)
    print(f"latentlab phase0 --preset seed, {len(full.x):,} frames x {a.dim}: {wall:.1f} s, peak {peak:.2f} GiB")
    for r in table:
        if r['method'] in ('lookup', 'random'): print(f"   {r['condition']:26s} {r['method']:6s} {r['split']:9s} {r['ratio']:.4f} [{r['lo']:.4f}, {r['hi']:.4f}]")
    sub = Store(d/f'walk-{a.subset}-{a.dim}')
    t0 = time.perf_counter()
    ours = variance_ratio(sub, SEED, refs=False)
    wall_sub = time.perf_counter() - t0
    plain, ratios = plain_pipeline(sub)
    print(f"the same two conditions on {len(sub.x):,} frames, in this process: latentlab {wall_sub:.1f} s (with held-out "
          f"ratios, random baselines and intervals; no references), plain scikit-learn {plain:.1f} s (in-sample ratios "
          f"only): {plain / wall_sub:.1f}x")
    print(f"per frame: latentlab at full size {wall / len(full.x) * 1e6:.1f} us (everything), plain on the subset "
          f"{plain / len(sub.x) * 1e6:.1f} us: {plain / len(sub.x) / (wall / len(full.x)):.1f}x")
    for name, r in ratios.items():
        ins = ours[(ours.condition == name) & (ours.method == 'lookup') & (ours.split == 'train')].ratio.item()
        print(f"   {name:26s} in-sample: plain {r:.4f}, latentlab {ins:.4f}")

if __name__ == '__main__': main()
