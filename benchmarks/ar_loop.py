"""Milliseconds per step of `train_ar`'s whole loop (windows drawn, the step, its checks and logging; up to the
last log line before the final validation) at the experiment presets' model sizes, and, with `--profile`, where
the default model's time goes (cProfile, by own time, the whole run).

`benchmarks/ar.py` times the bare step of the default model; this times the loop every AR run goes through, on a
switching walk (16 dims), after one short warm-up run:
- `ci`'s model (16 wide, 2 layers, 16-frame windows, batch 8);
- `small`'s (64 wide, 2 layers, 32-frame windows, batch 32);
- the default, `large`'s (256 wide, 6 layers, 64-frame windows, batch 64), with and without the Engram memory.

On a GPU the loop runs the step as a CUDA graph (`GraphedStep`; `train_ar(graphs=...)`); `--graphs both` times
each size eagerly and as a graph, one after the other in the same run.

Seen on a lent H100 (2026-11-28, torch 2.11.0+cu130, 300 steps each, `--graphs both`): eager 9.5, 11.7, 21.9 and
22.9 ms a step (memory on); as a CUDA graph 1.2, 1.3, 5.8 and 7.3 ms: 7.9, 9.0, 3.8 and 3.1 times faster. The
default model's step does about 1.2e11 FLOPs, so 21.9 ms eager is 5.5 TFLOP/s, 11% of that GPU's fp32 matmul peak
(51.6 TFLOP/s, TF32 off), and 5.8 ms as a graph 21 TFLOP/s, 40%. Eager, the loop is bound by launching the
forward's, backward's and optimiser's small kernels from Python, not by the GPU's arithmetic: the ci model, with a
twenty-thousandth of the default's FLOPs a step, still took 9.5 ms (on 2026-11-27, 200 steps: 8.0, 12.0, 18.7
and 20.9 ms). Each of `large`'s AR models (5e14 FLOPs: about 4,000 steps of the default model) now trains in
about half a minute (23 s of steps, 29 s with the memory) instead of about 1.3 min, and its 470 or so (39 rows, 3
seeds, 4 settings) in about 3.5 hours one after another instead of 10: still a job for `latentlab experiment
large --plan`, its rows side by side. On 2 cores of an AMD EPYC without AMX (2026-11-27, torch 2.13.0, float32,
100 steps, eager: there is nothing to capture on a CPU): 4.0, 16.4, 986 and 1028 ms: the ci model's loop was
twice as fast there as on the H100 eagerly, a third as fast as its graph; the default's 170 times slower than its
graph.

    .venv/bin/python benchmarks/ar_loop.py [--device cuda] [--steps 200] [--graphs auto|on|off|both] [--profile] [--skip-default]
"""
import argparse, cProfile, io, pstats, tempfile, time
import torch
from latentlab.models.ar import ARConfig
from latentlab.models.runs import ARTrainConfig, train_ar
from latentlab.train.runs import read_metrics

STORE = 'walk:speakers=8,utts=40,dim=16'
SIZES = [('ci', dict(d_model=16, layers=2, n_heads=2, context=16, components=2), 8),
         ('small', dict(d_model=64, layers=2, n_heads=4, context=32), 32),
         ('default (large)', {}, 64), ('default (large) + memory', dict(memory=True), 64)]

def loop_ms(model:dict, batch:int, steps:int, device:str, profile:bool=False, graphs:bool|None=None) -> float:
    "Milliseconds per step of `train_ar`'s loop, as its own metrics log them; with `profile`, print the top functions."
    t = ARTrainConfig(steps=steps, batch_size=batch, warmup=10, eval_every=10 * steps, ckpt_every=10 * steps,
                      log_every=max(1, steps // 4))
    with tempfile.TemporaryDirectory() as d:
        prof = cProfile.Profile() if profile else None
        if prof: prof.enable()
        train_ar(f'{d}/run', STORE, ARConfig(dim=16, **model), t, device=device, progress=False, graphs=graphs)
        if prof:
            prof.disable(); s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats('tottime').print_stats(15); print(s.getvalue())
        before_val = read_metrics(f'{d}/run').iloc[-2]               # the last line holds the final validation
    return before_val['seconds'] / before_val['step'] * 1e3

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--steps', type=int, default=200)
    p.add_argument('--profile', action='store_true', help="cProfile the default model's run")
    p.add_argument('--skip-default', action='store_true', help="time the ci and small models only (the default is slow on a CPU)")
    p.add_argument('--graphs', default='auto', help="the step as a CUDA graph: auto (on a GPU), on, off, or both (each size twice)")
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}"
          + (f" ({torch.cuda.get_device_name()})" if a.device.startswith('cuda') else ''))
    loop_ms(SIZES[0][1], SIZES[0][2], 20, a.device)                               # warm-up: kernels, caches
    modes = dict(auto=[None], on=[True], off=[False], both=[False, True])[a.graphs]
    for name, model, batch in SIZES[:2] if a.skip_default else SIZES:
        for graphs in modes:
            t0 = time.perf_counter()
            ms = loop_ms(model, batch, a.steps, a.device, profile=a.profile and name == 'default (large)', graphs=graphs)
            how = '' if graphs is None else ', CUDA graph' if graphs else ', eager'
            print(f"{name:26s} batch {batch:3d}{how:13s}: {ms:6.1f} ms/step ({a.steps} steps; the run {time.perf_counter() - t0:.1f} s)", flush=True)

if __name__ == '__main__': main()
