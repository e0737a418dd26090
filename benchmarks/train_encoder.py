"""Training speed of latentlab's encoders on this machine, as model FLOP utilisation (MFU).

Measures, in one run so the machine's load is shared by all figures:
- the matmul peaks (fp32, and bf16 where the CPU has bf16 units) from large square matmuls;
- the model FLOPs of one training step (forward + backward, counted by `torch.utils.flop_counter`) and the
  achieved FLOP/s of the default mel autoencoder in float32 and under bf16 autocast, as shares of those peaks;
- where the time goes (the top operators of `torch.profiler`);
- the seconds of one pass over the 65-minute LibriSpeech sample (as many steps as its training chunks fill), from
  the bare step and measured through `train_encoder` itself on the training speakers (5.6 s here, 2026-11-27);
- whether bf16 autocast keeps the results: one short run in each precision, its losses and Phase 0 ratio;
- with `--sweep`, the wall time of an 8-run λ sweep with Phase 0 on each (`latentlab sweep-encoders`);
- with `--kind wave`, the same figures for the SEANet waveform codec instead of the mel models, at its default width
  and at EnCodec's (`channels=512`: 32 channels at the waveform doubling to 512 at 12.5 Hz, 5.8M parameters), the
  size a lent GPU would train (`latentlab train-encoder --model kind=wave channels=512`). Seen on 2 cores of an AMD
  EPYC without AMX (2026-11-27, batch 16 × 40 960 samples): the default codec 10.7 GFLOP a step, 830 ms in float32
  (6.9% of the fp32 peak), 579 ms under bf16; at channels=512, 157 GFLOP, 4.1 s (20%) and 2.2 s (38%), so a pass
  over the 65-minute sample takes 6.5 min in float32 and 3.5 min under bf16 here: a GPU's job. On a lent H100
  (2026-11-27, `--kind wave --device cuda`; fp32 matmul peak 51.6 TFLOP/s with TF32 off, convolutions in TF32):
  the default codec 26.5 ms a step in float32, 32.0 ms under bf16 (a pass over the sample at that width, from the
  bare step timed again: 3.0 s);
  at channels=512, 40.2 ms (3.9 TFLOP/s, 7.6% of that peak; 100x the 2 cores) and 51.9 ms under bf16. The steps
  are bound by launches and elementwise kernels (convolutions' backward 38% of the GPU's time, copies and
  elementwise 16%), so bf16 autocast is slower there, while keeping the results (150 steps: 9.21 dB against 9.27,
  Δz ratio 0.639 [0.545, 0.723] against 0.654 [0.591, 0.767]): train the codec in float32 on a GPU.
Targets on 2 CPU cores: >= 30% of the fp32 peak, a pass in <= 60 s, the sweep in <= 30 min; on a lent GPU, the
sweep >= 20x faster than on 2 CPU cores (`--device cuda`: the peaks, steps and runs on the GPU; the sweep's
training and extraction on the GPU, its Phase 0 on the CPU cores). Seen on a lent H100 (16 cores): 74 s one at a
time, 33 s with `--jobs 8`, against 138 s here: 1.9x and 4.2x, short of the target (launch-bound steps, and
reading the audio and Phase 0 on the CPU). Of the H100's 74 s one at a time (2026-11-26, `--sweep --device cuda`),
40 s were training steps of about 15 ms, launch-bound; extracting on the GPU rather than the CPU left the other
34 s much as they were (35 s); `--jobs 8` gave the same table to its third decimal. Decoding the corpus once per
sweep (`audio_cache`; a synthetic corpus is also made once) took the part outside training from 60.2 s to 49.9 s
for that sweep on 2 cores of an AMD EPYC without AMX (2026-11-26; 246 s to 231 s in all, the same table to every
printed decimal), and from 15.4 s to 8.9 s for a 4-run sweep of 100 steps on `espeak`. The AR models' step is
replayed as a CUDA graph on a GPU (`GraphedStep`: 3 to 9 times faster on an H100, `benchmarks/ar_loop.py`). Since
2026-11-28 the encoders' step is too (`train_encoder(graphs=...)`, on by default on one GPU): the objectives use
masked sums where they gathered the valid frames by boolean masks, metrics stay tensors until a log line, and a
VQ bottleneck resets its dead codes without counting them on the CPU; `nbs/train/01_runs.ipynb` traces every
bottleneck's and objective's forward with `torch._dynamo` and finds no graph break, and `benchmarks/cuda_check.py
--only enc-graphs` measures the graphed step against the eager one. The sweep on a lent GPU has not been timed
again since (no GPU lent on 2026-11-28); that change moved the CPU results at float32 rounding, not the CPU's
speed (a predictability step of the default model, old and new code alternated twice: 144/160 against 154/149 ms).
The CPU sweep with it, 2026-11-28 on 2 cores of the AMD EPYC on a slow day (fp32 matmul peak 163 GFLOP/s against
208): 431 s, of which 353 s training steps; its table keeps the earlier runs' shape (Δz ratio 0.95 at λ = 0 down
to 0.27 at λ = 30, the mel distance 6.5 to 13.2 dB). The sweep now also says where its time goes outside the
training steps (one run at a time): on 2026-11-28, on the same host in a slower hour still (its training steps took
398 s against 353 s), 477 s in all; outside the steps, extraction 35.1 s (the whole
corpus's log-mel and latents, 4.4 s a run), held-out evaluation 23.0 s, Phase 0 10.6 s, the training features 5.4 s
(once), setting up runs 4.0 s. Taking the log-mel power as re² + im² (`power_spectrum`) halved that step of the
front end (2.8 s to 1.4 s in a profiled 2-run sweep); a sweep's training features are computed on the run's device
(a GPU's STFT, as `train_encoder` alone does), no longer on the CPU.

    .venv/bin/python benchmarks/train_encoder.py [--steps 20] [--batch-size 16] [--kind wave] [--sweep [--jobs N]] [--device cuda]
"""
import argparse, contextlib, os, tempfile, time
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
from latentlab.autoencoders import AEConfig, build_model, n_params
from latentlab.train.runs import Objective, TrainConfig, make_optimizer

def matmul_peak(dtype, device:str='cpu', n:int|None=None, reps:int=10) -> float:
    "FLOP/s of an n×n matmul in `dtype` on `device`, the best of `reps` (n = 2048 on CPU, 8192 on a GPU)."
    n = n or (8192 if device.startswith('cuda') else 2048)
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    best = min(_time(lambda: a @ b, device) for _ in range(reps))
    return 2 * n**3 / best

def sync(device:str='cpu'):
    "Wait for the GPU's queued work, so wall-clock times count it."
    if device.startswith('cuda'): torch.cuda.synchronize()

def _time(f, device:str='cpu') -> float:
    sync(device); t0 = time.perf_counter(); f(); sync(device); return time.perf_counter() - t0

def step_flops(obj, x, mask) -> int:
    "FLOPs of one forward + backward."
    with FlopCounterMode(display=False) as counter:
        loss, _ = obj(x, mask); loss.backward()
    obj.zero_grad(set_to_none=True)
    return counter.get_total_flops()

def step_seconds(obj, opt, x, mask, steps:int, precision:str, device:str='cpu') -> float:
    "Seconds per training step (after two warm-up steps)."
    def one():
        with (torch.autocast(device.split(':')[0], dtype=torch.bfloat16) if precision == 'bfloat16' else contextlib.nullcontext()):
            loss, _ = obj(x, mask)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    for _ in range(2): one()
    sync(device); t0 = time.perf_counter()
    for _ in range(steps): one()
    sync(device)
    return (time.perf_counter() - t0) / steps

KINDS = {'mel': [('mel (default)', AEConfig()), ('mel + 2 transformer layers', AEConfig(transformer_layers=2))],
         'wave': [('wave (default, channels=128)', AEConfig(kind='wave')),
                  ("wave at EnCodec's width (channels=512)", AEConfig(kind='wave', channels=512))]}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--sweep', action='store_true', help="also time an 8-run λ sweep on the real sample")
    p.add_argument('--jobs', type=int, default=1, help="--sweep: runs at a time, each in a process of its own")
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help="cpu or cuda (default: cuda when present)")
    p.add_argument('--kind', choices=KINDS, default='mel', help="mel: the mel autoencoders (default); wave: the SEANet codec at two widths")
    a = p.parse_args()
    dev = a.device
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, device {dev}"
          + (f" ({torch.cuda.get_device_name()}; float32 convolutions in TF32: {torch.backends.cudnn.allow_tf32}, "
             f"matmuls: {torch.backends.cuda.matmul.allow_tf32})" if dev.startswith('cuda') else ''))
    peaks = {'float32': matmul_peak(torch.float32, dev), 'bfloat16': matmul_peak(torch.bfloat16, dev)}
    for k, v in peaks.items(): print(f"matmul peak {k:8s}: {v / 1e9:6.1f} GFLOP/s")
    t = TrainConfig(batch_size=a.batch_size)
    for name, cfg in KINDS[a.kind]:
        torch.manual_seed(0)
        model = build_model(cfg)
        obj = Objective(model, [dict(name='predictability', lam=0.1)]).to(dev)
        opt = make_optimizer(obj, t)
        wave = cfg.kind == 'wave'
        x = torch.randn(a.batch_size, t.chunk_frames * model.stride, 1 if wave else cfg.n_mels, device=dev) * (0.1 if wave else 1)
        mask = torch.ones(x.shape[:2], dtype=torch.bool, device=dev)
        flops = step_flops(obj, x, mask)
        print(f"\n{name}: {n_params(model) / 1e6:.2f} M parameters, {flops / 1e9:.2f} GFLOP per step "
              f"(batch {a.batch_size} × {t.chunk_frames * model.stride} {'samples' if wave else 'mel frames'})")
        for precision in ('float32', 'bfloat16'):
            s = step_seconds(obj, opt, x, mask, a.steps, precision, dev)
            print(f"  {precision:8s}: {s * 1e3:6.1f} ms/step, {flops / s / 1e9:6.1f} GFLOP/s = "
                  f"{flops / s / peaks['float32']:5.1%} of the fp32 peak, {flops / s / peaks['bfloat16']:5.1%} of bf16's")
        if name == KINDS[a.kind][0][0]:
            sample_frames = 65.1 * 60 * (cfg.sample_rate if wave else cfg.mel_rate)
            steps = sample_frames / (a.batch_size * t.chunk_frames * model.stride)
            s = step_seconds(obj, opt, x, mask, a.steps, 'float32', dev)
            print(f"  one pass over the 65-minute sample, from the bare step: {steps:.0f} steps, {steps * s:.1f} s"
                  + ('' if wave else ' (target <= 60 s)'))
            if not wave: measured_pass(a.batch_size, dev)
            gpu = dev.startswith('cuda')
            acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if gpu else [])
            with torch.profiler.profile(activities=acts) as prof:
                for _ in range(3):
                    loss, _ = obj(x, mask); opt.zero_grad(); loss.backward(); opt.step()
                sync(dev)
            by = 'self_cuda_time_total' if gpu else 'self_cpu_time_total'
            print(f"  where the time goes (top operators by {by.replace('_', ' ')}):")
            print('\n'.join('    ' + l for l in prof.key_averages().table(sort_by=by, row_limit=8).splitlines()))
    precision_check(device=dev, cfg=KINDS[a.kind][0][1])
    if a.sweep: sweep(device=dev, jobs=a.jobs)

def measured_pass(batch_size:int, device:str='cpu'):
    "One pass over the real sample's training speakers by `train_encoder` itself (batches drawn, clipping, checks, logging): the loop's seconds."
    import math
    from latentlab.catalogue import real_speech_dir
    from latentlab.data.corpora import load_corpus
    from latentlab.train.runs import features, read_metrics, speaker_split, train_encoder
    real = real_speech_dir()
    if real is None: print("  (no real speech found: the measured pass is skipped)"); return
    model, t0 = build_model(AEConfig()), time.perf_counter()
    feats = features(model, speaker_split(load_corpus(str(real)))[0], progress=False)
    frames = sum(len(x) for x in feats.x)
    steps = math.ceil(frames / (batch_size * TrainConfig().chunk_frames * model.stride))
    t = TrainConfig(batch_size=batch_size, steps=steps, ckpt_every=steps, log_every=max(1, steps // 10))
    took = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        run = train_encoder(f'{d}/pass', AEConfig(), [dict(name='predictability', lam=0.1)], t, str(real),
                            progress=False, feats=feats, device=device)
        loop = read_metrics(run).seconds.iloc[-1]
    print(f"  one pass measured through train_encoder: {t.steps} steps over the training speakers' {frames / AEConfig().mel_rate / 60:.1f} "
          f"minutes, {loop:.1f} s in the loop (target for the whole 65-minute sample <= 60 s; the features took {took:.0f} s, once per sweep)")

def precision_check(steps:int=150, device:str='cpu', cfg:AEConfig|None=None):
    "Does bf16 autocast keep the results? The same run of `cfg` (the default mel model) in float32 and bfloat16: losses, held-out mel distance, Phase 0."
    from latentlab.train.runs import train_encoder, read_metrics
    from latentlab.train.sweep import measure_run
    from latentlab.measure.probe import grid
    import json
    corpus = 'tones:speakers=4,utts=10,seconds=4'
    print(f"\nbf16 autocast against float32, {steps} steps with predictability (λ = 1) on {corpus}:")
    with tempfile.TemporaryDirectory() as d:
        for precision in ('float32', 'bfloat16'):
            t0 = time.perf_counter()
            run = train_encoder(f'{d}/{precision}', cfg or AEConfig(), [dict(name='predictability', lam=1.)],
                                TrainConfig(steps=steps, ckpt_every=steps, precision=precision), corpus, progress=False,
                                device=device)
            took = time.perf_counter() - t0
            row = measure_run(run, corpus, f'{d}/{precision}-store', grid(K=(16,), target=('dx',)), n_boot=100)
            m = read_metrics(run).iloc[-1]
            print(f"  {precision:8s}: {took:5.1f} s, final loss {m.loss:.4f} (rec {m.rec:.4f}), held-out mel distance "
                  f"{row['mel_distance_db']:.2f} dB, Δz ratio {row['dx mean']:.3f} [{row['dx mean lo']:.3f}, {row['dx mean hi']:.3f}]")

@contextlib.contextmanager
def timed_calls(spots:dict):
    "Sum the seconds spent in each function of `spots` ({label: (module, name)}) while the block runs: {label: seconds}."
    took, saved = dict.fromkeys(spots, 0.), {label: getattr(m, name) for label, (m, name) in spots.items()}
    def timer(label, f):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try: return f(*args, **kwargs)
            finally: took[label] += time.perf_counter() - t0
        return timed
    for label, (m, name) in spots.items(): setattr(m, name, timer(label, saved[label]))
    try: yield took
    finally:
        for label, (m, name) in spots.items(): setattr(m, name, saved[label])

def sweep(device:str='cpu', jobs:int=1):
    """Wall time of an 8-run λ sweep on the real sample, Phase 0 on each, the share of it spent in training steps and,
    one run at a time, where the rest goes (the functions `sweep_one` calls, timed)."""
    import json
    from latentlab.catalogue import real_speech_dir
    from latentlab.train import runs, sweep as sweeps
    root = real_speech_dir()
    if root is None: print("real sample not found; skipping --sweep"); return
    spots = {'training features (once)': (sweeps, 'features'), 'train_encoder': (sweeps, 'train_encoder'),
             'of which held-out evaluation': (runs, 'finish_run'), 'extraction': (sweeps, 'extract'),
             'Phase 0': (sweeps, 'variance_ratio')}
    with tempfile.TemporaryDirectory() as d, timed_calls(spots if jobs == 1 else {}) as took:
        t0 = time.perf_counter()
        table = sweeps.sweep_encoders('objective=predictability lam=0,0.03,0.1,0.3,1,3,10,30', d, str(root),
                                      TrainConfig(steps=300), progress=False, device=device, jobs=jobs)
        total = time.perf_counter() - t0
        steps = sum(json.loads(l)['seconds'] for run in Path(d, 'runs').iterdir()
                    for l in (run/'metrics.jsonl').read_text().splitlines()[-1:])
    print(f"\n8-run λ sweep on the real sample (300 steps each, Phase 0 seed conditions, training on {device}, {jobs} at a time): "
          f"{total / 60:.2f} min = {total:.1f} s (target <= 30 min on 2 CPU cores; on a GPU >= 20x faster than there); "
          f"training steps {steps:.1f} s (summed over runs)"
          + (f", the rest (features, held-out measures, extraction, Phase 0) {total - steps:.1f} s" if jobs == 1 else ''))
    if jobs == 1:
        took['of which training steps'] = steps
        took['of which setting up (models, optimisers, checkpoints)'] = took['train_encoder'] - steps - took['of which held-out evaluation']
        took['anything else (tables, the page)'] = total - sum(v for k, v in took.items() if not k.startswith('of which'))
        print("  where the time went: " + '; '.join(f"{k} {v:.1f} s" for k, v in took.items()))
    print(table[['run', 'mel_distance_db', 'dx mean', 'x mean']].round(3).to_string(index=False))

if __name__ == '__main__': main()
