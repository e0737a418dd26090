"""Milliseconds per step of `train_ar`'s whole loop (windows drawn, the step, its checks and logging; up to the
last log line before the final validation) at the experiment presets' model sizes, and, with `--profile`, where
the default model's time goes (cProfile, by own time, the whole run).

`benchmarks/ar.py` times the bare step of the default model; this times the loop every AR run goes through, on a
switching walk (16 dims), after one short warm-up run:
- `ci`'s model (16 wide, 2 layers, 16-frame windows, batch 8);
- `small`'s (64 wide, 2 layers, 32-frame windows, batch 32);
- the default, `large`'s (256 wide, 6 layers, 64-frame windows, batch 64), with and without the Engram memory.

Seen on a lent H100 (2026-11-27, torch 2.11.0+cu130, 200 steps each): 8.0, 12.0, 18.7 and 20.9 ms a step (memory
on). The default model's step does about 1.2e11 FLOPs, so 18.7 ms is 6.5 TFLOP/s, 13% of that GPU's fp32 matmul peak
(TF32 off) and 1% of bf16's: of its 18.7 ms, 7 were in autograd's backward and most of the rest launching the
forward's small kernels from Python, so the loop is bound by kernel launches, not by the GPU's arithmetic (the ci
model, with a twenty-thousandth of the FLOPs a step, still takes 8 ms). At that rate each of `large`'s AR models (5e14 FLOPs: about 4,000
steps of the default model) trains in about 1.3 min, and its 470 or so (39 rows, 3 seeds, 4 settings) in about
10 hours one after another: run its rows as jobs side by side (`latentlab experiment large --plan`), which a
launch-bound GPU overlaps. On 2 cores of an AMD EPYC without AMX (2026-11-27, torch 2.13.0, float32, 100 steps):
4.0, 16.4, 986 and 1028 ms: the ci model's loop is twice as fast there as on the H100 (one reason the `ci`
experiment took 3 min 13 s there against 74 s here), the default's 53 times slower.

    .venv/bin/python benchmarks/ar_loop.py [--device cuda] [--steps 200] [--profile] [--skip-default]
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

def loop_ms(model:dict, batch:int, steps:int, device:str, profile:bool=False) -> float:
    "Milliseconds per step of `train_ar`'s loop, as its own metrics log them; with `profile`, print the top functions."
    t = ARTrainConfig(steps=steps, batch_size=batch, warmup=10, eval_every=10 * steps, ckpt_every=10 * steps,
                      log_every=max(1, steps // 4))
    with tempfile.TemporaryDirectory() as d:
        prof = cProfile.Profile() if profile else None
        if prof: prof.enable()
        train_ar(f'{d}/run', STORE, ARConfig(dim=16, **model), t, device=device, progress=False)
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
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}"
          + (f" ({torch.cuda.get_device_name()})" if a.device.startswith('cuda') else ''))
    loop_ms(SIZES[0][1], SIZES[0][2], 20, a.device)                               # warm-up: kernels, caches
    for name, model, batch in SIZES[:2] if a.skip_default else SIZES:
        t0 = time.perf_counter()
        ms = loop_ms(model, batch, a.steps, a.device, profile=a.profile and name == 'default (large)')
        print(f"{name:26s} batch {batch:3d}: {ms:6.1f} ms/step ({a.steps} steps; the run {time.perf_counter() - t0:.1f} s)", flush=True)

if __name__ == '__main__': main()
