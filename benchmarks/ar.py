"""Training speed of latentlab's AR model on this machine, as model FLOP utilisation (MFU), in one run.

Measures, in one run so the machine's load is shared by all figures:
- the matmul peaks (fp32, bf16) from large square matmuls;
- the default model (`ARConfig()`: 6 × 256, about 4.7 M backbone parameters, 64-frame windows at 12.5 Hz, gmm
  head), batch 32: the FLOPs of one training step counted by `torch.utils.flop_counter` against the analytic
  `flops_per_frame`, seconds per step in float32 and under bf16 autocast, frames/s, and MFU against the peaks;
- the Engram memory's cost: the same float32 step with the memory on (keys precomputed, as in training);
- with `--compile`, the same step with the model under `torch.compile` (Inductor), in both precisions.
  Every step above is timed in the same rounds, `--rounds` of them, the order rotating from round to round, and each
  ratio (bf16's speed-up, the memory's share, compiled against eager) is the median of the rounds' ratios: a noisy
  machine slows a round's timings alike (one-off timings of the memory's share here ranged from +6.6% to +14.6%);
- with `--real` (timed first, before the other measures have touched the process), the seconds a default model
  takes to reach its best validation loss on the 65-minute sample, under bf16 autocast and again in float32, with
  both held-out NLLs and their intervals. The recipe (`--real-*`, bf16, lr 2e-3, validation every 100 steps) is
  1300 steps of 16 windows, the fastest found to a good NLL on 2 CPU cores: held-out -0.064, -0.080, -0.054
  nats/dim (seeds 0, 1, 2; intervals about ±0.03) in 118, 107, 110 s. It is not the model's best: 1500 steps of
  32 reached -0.120 [-0.152, -0.091] (seed 0, 248 s) and -0.132 [-0.164, -0.102] (seed 1, 270 s), so the
  <= 2 min target is missed by 0.04-0.07 nats/dim (about 2x the time). Attention in float32 under CPU autocast
  and a leaner mixture loss made a bf16 step about 88 ms, from 97-100 (before them, 1400 steps of 16: -0.098 in
  139 s). Decaying to lr/100 rather than lr/10 (`--real-final-lr 0.01`, the default here) gave -0.099 [-0.132,
  -0.070] (seed 0, 108 s), -0.114 [-0.146, -0.085] (seed 1, 106 s) and -0.095 [-0.125, -0.066] (seed 2, run on
  a slower AMD EPYC host without AMX: bf16 peak 430 GFLOP/s, 245 s there). The reference improves with the same
  decay too: 1500 steps of 32 to lr/100 reached -0.129 [-0.163, -0.102] (seed 0), so two of the three 2-minute
  seeds end just outside its interval, 0.015-0.035 nats/dim short: the target is still missed, if narrowly.
  Longer runs do overfit: on an H100, 6000 steps of 32 reached only -0.043 (best validation at step 3300).
  Timings depend on the host: the figures above are from an Intel host with AMX (peaks 223 and 895 GFLOP/s).
  On an AMD EPYC with AVX-512 BF16 but no AMX (2026-11-28, peaks 165-198 and 385-426 GFLOP/s: bf16's is only
  2.2x fp32's, which bounds the speed-up from above), with attention under CPU autocast in float32 flash, four runs
  gave bf16 1.62x to 1.77x, fp32 at 70-83% of its peak, the memory +8.5% and +1.1% (per-round medians); profiled,
  the matmuls ran near the bf16 peak and about 135 ms of a 260-280 ms bf16 step was outside them (attention,
  the mixture's loss, casts, layer norms). Attention as two bf16 matmuls around a float32 softmax (`attend`, the
  block's CPU-autocast path since) then gave 1.85x and 1.73x (bf16 steps 230 and 265 ms), the memory +6.1% and
  +6.5%; the real-speech recipe in bf16 took 195 s (against 245 s for seed 2 on this kind of host before), held-out
  -0.086 [-0.119, -0.056] against float32's -0.111 [-0.144, -0.083] (335 s): within each other's intervals.
  `--compile` made the step 1.06-1.09x faster in fp32 and 1.10-1.16x in bf16 (compiling took 7-35 s and 20-24 s
  in a process; 3-5 s from Inductor's cache), bf16 over fp32 both compiled 1.77x before `attend`, 1.89x with it,
  and compiled bf16 against eager fp32 1.98x. So on this host the 2x is within a few per cent only with compiling,
  which the training loop does not do (its compile time would eat a 2-minute run); the AMX host's bf16 peak is 4x
  its fp32 one, so the target should be judged there. On 2026-11-29 (the same kind of host), profiled again: the bf16
  step's matmuls took 155 ms at about 395 GFLOP/s (its peak), the rest 80-95 ms, a third of that the rotary
  embedding's round trips through float32; turning q and k in one pass in their dtype made the step 3-5% shorter
  (float32 unchanged to the bit), and two runs gave bf16 1.77x and 1.71x, fp32 at 71% and 72% of its peak, the memory
  +6.3% and +7.1%, compiled bf16 1.13x eager, bf16 over fp32 both compiled 1.88x. What is left outside the matmuls
  is elementwise work in pieces of 2-10 ms (casts, the mixture's loss, GELU, layer norms), so on this host 2x needs
  fused kernels rather than fewer passes. The recipe's weight decay, 0.1 until then: at 0.05 its held-out NLL was
  better in each of three seeds, by 0.008-0.010 (seeds 0, 1, 2: -0.097 [-0.128, -0.068], -0.102, -0.084 against
  -0.086, -0.094, -0.073, bf16 on this host, 204-224 s each), and lr 3e-3 gave -0.092 (seed 0); the reference at
  0.05 reached -0.126 [-0.158, -0.097] (seed 0, 456 s here), so one seed of three is within its interval, one 0.0005
  and one 0.013 nats/dim outside. 0.05 is the default of `--real-weight-decay` since (recipe and reference alike).
  Later that day `attend` dropped its scores' round trip through float32: a bf16 softmax on a CPU computes in float32
  and rounds its output, so the forward values are unchanged and the copies go (one layer's attention, forward and
  backward, batch 32: 3.3 ms against 5.1; float32 flash 5.8). Three runs gave bf16 over fp32 1.88x, 1.84x and 1.88x
  (rounds 1.56-2.05x), fp32 at 69%, 77% and 72% of its peak, the memory +3.8%, +3.8% and +6.8%; the recipe (seed 0)
  in bf16 -0.0997 [-0.1329, -0.0700] in 202 s, in float32 -0.1064 [-0.1378, -0.0782] in 340 s (within each other's
  intervals). A fused mixture loss (a hand-written backward, in float32) was no faster in bf16 (18.5 ms against 16.9
  for the head, forward and backward) and was dropped; the scale and mask folded into a `baddbmm` gained 1-2%, within
  the noise. Outside the matmuls (and float32's flash attention) the two steps now take about as long as each other
  (profiled: some 75 ms of a bf16 step, 90 of a float32 one: memory-bound elementwise work), which is what keeps the
  ratio under 2x on a host whose bf16 peak is 2.2x its fp32 one.
Targets on 2 CPU cores: >= 60% of the fp32 peak in fp32; bf16 >= 2x fp32's frames/s; the memory adds <= 10%;
the real-speech model at its best in <= 2 min (`--real-reference` judges "at its best" against the 1500 × 32 run);
bf16's held-out NLL within fp32's interval. `--device cuda` measures the same on a GPU (peaks and steps there).

    .venv/bin/python benchmarks/ar.py [--steps 10] [--rounds 5] [--compile] [--real [--real-steps 1300] [--real-batch 16] [--real-lr 2e-3]
        [--real-final-lr 0.01] [--real-weight-decay 0.05] [--real-reference]] [--device cuda]
"""
import argparse, json, statistics, sys, tempfile, time
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
sys.path.insert(0, str(Path(__file__).parent))
from train_encoder import matmul_peak, step_seconds
from latentlab.models.ar import ARConfig, LatentAR, flops_per_frame, n_params
from latentlab.models.runs import ARTrainConfig, train_ar
from latentlab.train.runs import make_optimizer

def batch(cfg:ARConfig, B:int, tables:int=0, device:str='cpu'):
    x = torch.randn(B, cfg.context, cfg.dim, device=device)
    pos = torch.arange(cfg.context, device=device).repeat(B, 1)
    rows = torch.randint(0, cfg.table_size, (B, cfg.context, tables), device=device) if tables else None
    return torch.randn_like(x), x, pos, rows

def ar_step_seconds(model, data, steps:int, precision:str, device:str='cpu') -> float:
    "Seconds per training step of `model` on `data`, timed as the encoder benchmark times its steps."
    loss = lambda *_: (model(*data).float().mean(), {})
    return step_seconds(loss, make_optimizer(model, ARTrainConfig()), None, None, steps, precision, device)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=10); p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--rounds', type=int, default=5, help="rounds of timing every step measured (the order rotating); each ratio is the median of the rounds'")
    p.add_argument('--compile', action='store_true', help="also time the step with the model under torch.compile (needs a C++ compiler on a CPU)")
    p.add_argument('--real', action='store_true')
    p.add_argument('--real-steps', type=int, default=1300)
    p.add_argument('--real-batch', type=int, default=16); p.add_argument('--real-lr', type=float, default=2e-3)
    p.add_argument('--real-eval-every', type=int, default=100)
    p.add_argument('--real-final-lr', type=float, default=0.01, help="the learning rate at the end, as a share of --real-lr")
    p.add_argument('--real-weight-decay', type=float, default=0.05, help="AdamW's weight decay of the recipe and the reference")
    p.add_argument('--real-reference', action='store_true',
                   help="also train the reference (bf16, the same schedule) and judge the 2-min target by its NLL")
    p.add_argument('--reference-steps', type=int, default=1500); p.add_argument('--reference-batch', type=int, default=32)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', help="cpu or cuda (default: cuda when present)")
    a = p.parse_args()
    if a.real_reference and not a.real: p.error('--real-reference judges the --real runs: pass --real too')
    dev = a.device
    torch.manual_seed(0)
    fp32, bf16 = matmul_peak(torch.float32, dev), matmul_peak(torch.bfloat16, dev)
    print(f"device {dev}{f' ({torch.cuda.get_device_name()})' if dev.startswith('cuda') else ''}; "
          f"matmul peak: fp32 {fp32 / 1e9:.1f} GFLOP/s, bf16 {bf16 / 1e9:.1f} GFLOP/s")
    if a.real: real(a, dev)                                    # first: a fresh process's timing, as a user's run has
    torch.manual_seed(0)                                       # the same synthetic model and data with --real or without
    cfg = ARConfig()
    model = LatentAR(cfg).train().to(dev)
    data = batch(cfg, a.batch_size, device=dev)
    with FlopCounterMode(display=False) as counter: model(*data).mean().backward()
    model.zero_grad(set_to_none=True)
    frames = a.batch_size * cfg.context
    analytic = sum(flops_per_frame(model).values()) * frames
    print(f"default model: {n_params(model)}; step FLOPs counted {counter.get_total_flops() / 1e9:.2f} G, "
          f"analytic {analytic / 1e9:.2f} G")
    mem = LatentAR(ARConfig(memory=True)).train().to(dev)
    mem_data = batch(mem.cfg, a.batch_size, len(mem.cfg.hash_spec.sizes), dev)
    timers = {'fp32': lambda: ar_step_seconds(model, data, a.steps, 'float32', dev),
              'bf16': lambda: ar_step_seconds(model, data, a.steps, 'bfloat16', dev),
              'memory': lambda: ar_step_seconds(mem, mem_data, a.steps, 'float32', dev)}
    if a.compile: timers |= compiled(model, data, a.steps, dev)
    t = alternate(timers, a.rounds)
    t32, t16, tm = (statistics.median(t[k]) for k in ('fp32', 'bf16', 'memory'))
    flops = counter.get_total_flops()
    print(f"fp32: {t32 * 1e3:.1f} ms/step, {frames / t32:.0f} frames/s, {flops / t32 / 1e9:.1f} GFLOP/s = "
          f"{flops / t32 / fp32:.0%} of the fp32 peak")
    print(f"bf16 autocast: {t16 * 1e3:.1f} ms/step, {frames / t16:.0f} frames/s, {flops / t16 / bf16:.0%} of the bf16 peak; "
          f"speed-up over fp32 per round (median of {a.rounds}): {per_round(t['fp32'], t['bf16'])}")
    print(f"with the Engram memory (fp32): {tm * 1e3:.1f} ms/step ({n_params(mem)['memory']:,} memory parameters); its share "
          f"of a step per round (median of {a.rounds}): {per_round(t['memory'], t['fp32'], lambda r: f'{r - 1:+.1%}')}")
    if a.compile:
        c32, c16 = statistics.median(t['compiled fp32']), statistics.median(t['compiled bf16'])
        print(f"torch.compile: fp32 {c32 * 1e3:.1f} ms/step, {flops / c32 / fp32:.0%} of the fp32 peak, against eager per round "
              f"{per_round(t['fp32'], t['compiled fp32'])}; bf16 {c16 * 1e3:.1f} ms/step, {flops / c16 / bf16:.0%} of the bf16 peak, "
              f"against eager {per_round(t['bf16'], t['compiled bf16'])}; bf16 over fp32, both compiled, {per_round(t['compiled fp32'], t['compiled bf16'])}")

def alternate(timers:dict, rounds:int) -> dict[str, list[float]]:
    "Each timer's result over `rounds` rounds, the order rotating from round to round, so that warm-up and a noisy machine's slow spells fall on each alike."
    names, out = list(timers), {k: [] for k in timers}
    for i in range(rounds):
        for k in names[i % len(names):] + names[:i % len(names)]: out[k].append(timers[k]())
    return out

def per_round(num:list[float], den:list[float], fmt=lambda r: f'{r:.2f}x') -> str:
    "The median of the rounds' ratios num/den, and each round's."
    ratios = sorted(n / d for n, d in zip(num, den))
    return f"{fmt(statistics.median(ratios))} [{', '.join(fmt(r) for r in ratios)}]"

def compiled(model, data, steps:int, dev:str) -> dict:
    "Timers of the same step with the model under `torch.compile` (Inductor), in each precision, compiled first (the time printed)."
    cm = torch.compile(model)
    for p in ('float32', 'bfloat16'):                          # the first call of each precision compiles it
        t0 = time.perf_counter(); ar_step_seconds(cm, data, 1, p, dev)
        print(f"torch.compile, {p}: compiled in {time.perf_counter() - t0:.0f} s (two warm-up steps included)")
    return {'compiled fp32': lambda: ar_step_seconds(cm, data, steps, 'float32', dev),
            'compiled bf16': lambda: ar_step_seconds(cm, data, steps, 'bfloat16', dev)}

def real(a, dev:str):
    "The seconds to the best validation loss on the real sample, bf16 then fp32 (run first, in a fresh process)."
    tmp, runs = Path(tempfile.mkdtemp()), {}
    for precision in ('bfloat16', 'float32'):
        t0 = time.perf_counter()
        train = ARTrainConfig(steps=a.real_steps, batch_size=a.real_batch, lr=a.real_lr, eval_every=a.real_eval_every, final_lr=a.real_final_lr,
                              weight_decay=a.real_weight_decay, ckpt_every=a.real_steps, precision=precision)
        run = train_ar(tmp/precision, 'real', ARConfig(dim=80), train, progress=False, device=dev)
        total = time.perf_counter() - t0
        best = json.loads((run/'best.json').read_text())
        metrics = [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines()]
        at = next(m['seconds'] for m in metrics if m['step'] == best['step'])
        runs[precision] = h = json.loads((run/'eval.json').read_text())['heldout']
        print(f"real speech (log-mel 80-d), {a.real_steps} steps × {a.real_batch}, lr {a.real_lr:g}, weight decay {a.real_weight_decay:g}, {precision}: best validation loss {best['val_loss']:.3f} at step "
              f"{best['step']} of {a.real_steps}, {at:.0f} s into training (target <= 120 s; {total:.0f} s with the held-out measures); held-out "
              f"NLL {h['nll_dim']:.4f} [{h['nll_dim_lo']:.4f}, {h['nll_dim_hi']:.4f}] nats/dim, "
              f"Δx 1 − R² {h['dx_ratio']:.3f}")
        if best['step'] == a.real_steps: print(f"  the best validation loss came at the last step, as a cosine schedule's often does "
                                               "(the docstring has longer schedules: better up to a point, then overfit)")
    f, b = runs['float32'], runs['bfloat16']
    same = b['nll_dim_lo'] <= f['nll_dim'] <= b['nll_dim_hi'] or f['nll_dim_lo'] <= b['nll_dim'] <= f['nll_dim_hi']
    print(f"bf16 against fp32 held-out NLL: {b['nll_dim'] - f['nll_dim']:+.4f} nats/dim "
          f"({'within' if same else 'outside'} the other's interval)")
    if not a.real_reference:
        print("the 2-min target asks for the model's *best* held-out NLL: a time under 120 s says nothing of that on its own "
              "(--real-reference trains the 1500 × 32 reference to judge it)")
        return
    train = ARTrainConfig(steps=a.reference_steps, batch_size=a.reference_batch, lr=a.real_lr, eval_every=a.real_eval_every,
                          final_lr=a.real_final_lr, weight_decay=a.real_weight_decay, ckpt_every=a.reference_steps, precision='bfloat16')
    t0 = time.perf_counter()
    r = json.loads((train_ar(tmp/'reference', 'real', ARConfig(dim=80), train, progress=False, device=dev)/'eval.json').read_text())['heldout']
    met = b['nll_dim'] <= r['nll_dim_hi']                     # lower is better: within the reference's interval, or below it
    print(f"reference, {a.reference_steps} steps × {a.reference_batch} (bf16, {time.perf_counter() - t0:.0f} s): held-out NLL {r['nll_dim']:.4f} "
          f"[{r['nll_dim_lo']:.4f}, {r['nll_dim_hi']:.4f}]; the recipe's bf16 run is "
          + ("within its interval: the NLL half of the target is met" if met else
             f"{b['nll_dim'] - r['nll_dim_hi']:.4f} nats/dim above its interval: the target is missed"))


if __name__ == '__main__': main()
