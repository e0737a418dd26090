"""The CUDA paths that CPU cannot show, on a lent GPU: each check prints one line (ok or the error) and the next runs.

- encoder training on the GPU: every bottleneck, bf16 autocast, the objectives with their own heads;
- the SEANet waveform codec on the GPU (auraloss's STFT and mel losses, SI-SDR, STOI and PESQ), at its default
  width and at EnCodec's (channels=512), in float32 and bf16;
- a trained run opened as an encoder on the GPU, and its latents against the CPU's;
- AR training on the GPU (gmm with memory and CALM's stabilisers, flow, conditional), bf16, its held-out measures
  and rollouts;
- resume on the GPU: 10 steps, stopped, resumed to 20, against 20 straight (CUDA kernels need not be bit-identical:
  the largest weight difference is printed);
- the AR step as a CUDA graph (`GraphedStep`, on by default on one GPU) against the eager step: the weights after
  40 steps of each (gmm with memory and stabilisers, bf16, the flow map's Jacobian-vector product, a conditional
  Gaussian), whether every one was captured, a run stopped by a NaN with the same error as the eager loop's, and
  10 + 10 resumed steps against 20 straight;
- the encoders' step as a CUDA graph (`GraphedStep`, on by default on one GPU since 2026-11-28) against the eager
  step, for every bottleneck and objective, the dual model and the codec: captured or not, milliseconds a step of
  each, the weights after 60 steps and the held-out mel distance;
- DDP under torchrun (reconstruction only: objectives that normalise by batch statistics, such as predictability's
  1 − R², see each process's half batch, so their gradients differ from one process's by design): N processes with
  N the GPUs present, over NCCL; where only one GPU is, two processes on it, which latentlab runs over gloo (NCCL
  needs a GPU per process).

    python benchmarks/cuda_check.py [--out DIR] [--only encoder,wave,opened,ar,resume,graphs,enc-graphs,ddp]

Seen on a lent H100 (2026-11-27; torch 2.11.0+cu130, transformers 5.17, the other packages carried as wheels): all
six ok in 118 s. The codec at EnCodec's width trained its 20 steps in 3 s (28 s on 2 CPU cores); a trained run's
latents on the GPU differ from the CPU's by at most 6.4e-4 (TF32 convolutions); resume on the GPU ended with the
same weights as 20 straight steps (largest difference 0); two gloo processes on the one GPU against one process,
2.9e-4 (1.1e-6 on CPU). On a lent H100 (2026-11-28, `--only graphs,ar`, the AR step now a CUDA graph by default):
both ok in 30 s; every AR setting was captured, and ended 40 steps within 1e-6 of the eager step's weights in
float32 (gmm with memory and stabilisers 9.8e-7, the flow map 1.2e-7, the conditional Gaussian 6.0e-8; under bf16
6.0e-3, autocast's weight cache being off in a graph) with the same held-out NLL to three decimals; a NaN stopped
the graphed run with the eager run's error, at the same step; 10 + 10 resumed steps against 20 straight: 0.
"""
import argparse, json, os, subprocess, sys, tempfile, time, traceback
from pathlib import Path
import torch

ONLY = None                                                   # the checks to run (--only), by key; None: all

def check(name:str, key:str):
    "Run the decorated check now (unless --only leaves it out), printing ok (with what it returns) or the error, and go on."
    def go(f):
        if ONLY is not None and key not in ONLY: return
        t0 = time.perf_counter()
        try: said = f(); print(f"ok   {name} ({time.perf_counter() - t0:.1f} s): {said}", flush=True)
        except Exception as e:
            print(f"FAIL {name} ({time.perf_counter() - t0:.1f} s): {type(e).__name__}: {str(e)[:600]}", flush=True)
            traceback.print_exc(limit=-4)
    return go

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=None)
    p.add_argument('--device', default='cuda', help="cuda (default); cpu runs the same checks here, to check the script")
    p.add_argument('--only', default=None, help="comma-separated keys of the checks to run: encoder,wave,opened,ar,resume,graphs,enc-graphs,ddp")
    a = p.parse_args()
    global ONLY
    ONLY = None if a.only is None else set(a.only.split(','))
    dev = a.device
    out = Path(a.out or tempfile.mkdtemp())
    from latentlab.autoencoders import AEConfig, TrainedEncoder
    from latentlab.train.runs import TrainConfig, train_encoder
    from latentlab.models.ar import ARConfig
    from latentlab.models.runs import ARTrainConfig, train_ar
    from safetensors.torch import load_file
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name() if dev == 'cuda' else 'cpu'}, {torch.cuda.device_count()} GPU(s), "
          f"{os.cpu_count()} cores", flush=True)
    corpus = 'tones:speakers=4,utts=6,seconds=4'
    short = lambda **k: TrainConfig(steps=20, ckpt_every=10, log_every=5, batch_size=8, **k)

    @check("encoder: every bottleneck, objectives, bf16 autocast, on the device", 'encoder')
    def _():
        done = []
        for b, objs in [('ae', [dict(name='predictability', lam=1.)]), ('vae', [dict(name='concentration', lam=1.)]),
                        ('vq', [dict(name='cpc', lam=.1)]), ('fsq', [dict(name='prior', lam=.1)]),
                        ('mode', [dict(name='mode', lam=1.)])]:
            for precision in ('float32', 'bfloat16'):
                run = train_encoder(out/f'enc-{b}-{precision}', AEConfig(bottleneck=b), objs, short(precision=precision),
                                    corpus, device=dev, progress=False)
                h = json.loads((run/'eval.json').read_text())['heldout']
                done.append(f"{b}/{precision} {h['mel_distance_db']:.2f} dB")
        return ', '.join(done)

    @check("waveform codec on the device: default width and EnCodec's (channels=512), fp32 and bf16", 'wave')
    def _():
        done = []
        for channels in (128, 512):
            for precision in ('float32', 'bfloat16'):
                t0 = time.perf_counter()
                run = train_encoder(out/f'wave-{channels}-{precision}', AEConfig(kind='wave', channels=channels),
                                    [dict(name='predictability', lam=.1)], short(precision=precision), corpus, device=dev, progress=False)
                h = json.loads((run/'eval.json').read_text())['heldout']
                done.append(f"{channels}/{precision} {time.perf_counter() - t0:.0f} s, {h['mel_distance_db']:.2f} dB, "
                            + ', '.join(f"{k} {h[k]:.2f}" for k in ('si_sdr', 'stoi', 'pesq') if k in h))
        return '; '.join(done)

    @check("a trained run as an encoder on the device, against cpu", 'opened')
    def _():
        import numpy as np
        from latentlab.data.corpora import load_corpus
        audio = [u.audio for u in load_corpus(corpus)[:4]]
        z = {d: TrainedEncoder(out/'enc-ae-float32', device=d).encode(audio) for d in (dev, 'cpu')}
        return (f"{len(audio)} utterances, latents {z[dev][0].shape}, largest |{dev} − cpu| "
                f"{max(np.abs(g - c).max() for g, c in zip(z[dev], z['cpu'])):.2e}")

    @check("AR on the device: gmm + memory + noise + short context (fp32, bf16), flow, conditional; measures and rollouts "
           "(30 steps: a smoke test, so the measures are of untrained models, Δx 1−R² often far above 1)", 'ar')
    def _():
        done = []
        for name, cfg, precision in [('gmm-mem-stab', ARConfig(dim=16, d_model=64, layers=2, memory=True, noise=.3, short_context=4), 'float32'),
                                     ('gmm-bf16', ARConfig(dim=16, d_model=64, layers=2, memory=True), 'bfloat16'),
                                     ('flow', ARConfig(dim=16, d_model=64, layers=2, head='flow'), 'float32'),
                                     ('given', ARConfig(dim=16, d_model=64, layers=2, given=2), 'bfloat16')]:
            run = train_ar(out/f'ar-{name}', 'walk', cfg, ARTrainConfig(steps=30, eval_every=10, ckpt_every=10, precision=precision),
                           device=dev, progress=False)
            e = json.loads((run/'eval.json').read_text())
            done.append(f"{name} {precision}: NLL {e['heldout'].get('nll_dim', float('nan')):.3f} nats/dim, "
                        f"Δx 1−R² {e['heldout']['dx_ratio']:.3f}, rollouts {e['rollouts'].get('error') or 'measured'}")
        return '; '.join(done)

    @check("resume on the device: 10 steps + 10 resumed against 20 straight", 'resume')
    def _():
        cfg, t = AEConfig(), short()
        train_encoder(out/'straight', cfg, [dict(name='predictability', lam=1.)], t, corpus, device=dev, progress=False)
        train_encoder(out/'resumed', cfg, [dict(name='predictability', lam=1.)], t, corpus, device=dev, progress=False, until=10)
        train_encoder(out/'resumed', cfg, [dict(name='predictability', lam=1.)], t, corpus, device=dev, progress=False, resume=True)
        a, b = (load_file(out/r/'model.safetensors') for r in ('straight', 'resumed'))
        return f"largest weight difference {max((a[k] - b[k]).abs().max().item() for k in a):.2e}"

    @check("the AR step as a CUDA graph against the eager step; a NaN stop; resume", 'graphs')
    def _():
        import warnings
        from dataclasses import replace
        from latentlab.train.runs import TrainError, last_checkpoint
        done, t = [], ARTrainConfig(steps=40, batch_size=16, warmup=5, eval_every=20, ckpt_every=20)
        for name, cfg, precision in [('gmm-mem-stab', ARConfig(dim=16, d_model=64, layers=2, memory=True, noise=.3, short_context=4), 'float32'),
                                     ('gmm-bf16', ARConfig(dim=16, d_model=64, layers=2, memory=True), 'bfloat16'),
                                     ('flow-lsd', ARConfig(dim=16, d_model=64, layers=2, head='flow', flow_loss='lsd'), 'float32'),
                                     ('gauss-given', ARConfig(dim=16, d_model=64, layers=2, head='gauss', given=2), 'float32')]:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter('always')
                runs = [train_ar(out/f'graph-{name}-{g}', 'walk', cfg, replace(t, precision=precision), device=dev, progress=False, graphs=g)
                        for g in (False, True)]
            failed = [str(w.message)[:200] for w in said if 'CUDA graph' in str(w.message)]
            a, b = (load_file(r/'model.safetensors') for r in runs)
            nll = [json.loads((r/'eval.json').read_text())['heldout'].get('nll_dim', float('nan')) for r in runs]
            done.append(f"{name} {precision}: {'NOT captured: ' + failed[0] if failed else 'captured' if dev == 'cuda' else 'eager (no graphs on a cpu)'}, largest weight difference "
                        f"{max((a[k] - b[k]).abs().max().item() for k in a):.2e}, NLL/dim eager {nll[0]:.3f} graphed {nll[1]:.3f}")
        wild, said = ARTrainConfig(steps=100, batch_size=16, lr=1e4, warmup=1, grad_clip=1e9, weight_decay=0., ckpt_every=1), []
        for g in (False, True):
            try: train_ar(out/f'nan-{g}', 'walk', ARConfig(dim=16, d_model=64, layers=2), wild, device=dev, progress=False, graphs=g); said.append('no stop')
            except TrainError as e: said.append(str(e).replace(f'nan-{g}', 'nan'))
        done.append(f"NaN stop {'the same as eager' if said[0] == said[1] else 'DIFFERS: ' + ' | '.join(said)} ({said[1][:120]})")
        cfg = ARConfig(dim=16, d_model=64, layers=2, memory=True)
        train_ar(out/'graph-straight', 'walk', cfg, replace(t, steps=20, ckpt_every=10), device=dev, progress=False)
        train_ar(out/'graph-resumed', 'walk', cfg, replace(t, steps=20, ckpt_every=10), device=dev, progress=False, until=10)
        train_ar(out/'graph-resumed', 'walk', cfg, replace(t, steps=20, ckpt_every=10), device=dev, progress=False, resume=True)
        a, b = (load_file(out/r/'model.safetensors') for r in ('graph-straight', 'graph-resumed'))
        done.append(f"10 + 10 resumed against 20 straight: largest weight difference {max((a[k] - b[k]).abs().max().item() for k in a):.2e}")
        return '; '.join(done)

    @check("the encoders' step as a CUDA graph against the eager step: every bottleneck and objective, dual, codec; ms a step", 'enc-graphs')
    def _():
        import warnings
        from latentlab.train.runs import read_metrics
        done, objs = [], [dict(name='predictability', lam=1.), dict(name='concentration', lam=1.), dict(name='cpc', lam=.1),
                          dict(name='prior', lam=.1), dict(name='predictability', lam=1., predictor='lookup')]
        t = TrainConfig(steps=60, ckpt_every=60, log_every=10, batch_size=16, warmup=5)
        for name, cfg, o in [('ae+predictability', AEConfig(), objs[:1]), ('vae+concentration', AEConfig(bottleneck='vae'), objs[1:2]),
                             ('vq+cpc', AEConfig(bottleneck='vq'), objs[2:3]), ('fsq+prior', AEConfig(bottleneck='fsq'), objs[3:4]),
                             ('mode+mode+lookup', AEConfig(bottleneck='mode'), [dict(name='mode', lam=1.), objs[4]]),
                             ('dual', AEConfig(dual='residual'), objs[:1]), ('wave', AEConfig(kind='wave', channels=128), [])]:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter('always')
                runs = [train_encoder(out/f'egraph-{name}-{g}', cfg, o, t, corpus, device=dev, progress=False, graphs=g) for g in (False, True)]
            failed = [str(w.message)[:200] for w in said if 'CUDA graph' in str(w.message)]
            a, b = (load_file(r/'model.safetensors') for r in runs)
            ms = [1e3 * (m.seconds.iloc[-1] - m.seconds.iloc[0]) / (m.step.iloc[-1] - m.step.iloc[0]) for m in map(read_metrics, runs)]
            db = [json.loads((r/'eval.json').read_text())['heldout']['mel_distance_db'] for r in runs]
            done.append(f"{name}: {'NOT captured: ' + failed[0] if failed else 'captured' if dev == 'cuda' else 'eager (cpu)'}, "
                        f"{ms[0]:.1f} → {ms[1]:.1f} ms a step, largest weight difference {max((a[k] - b[k]).abs().max().item() for k in a):.1e}, "
                        f"{db[0]:.2f} / {db[1]:.2f} dB")
        return '; '.join(done)

    @check("DDP under torchrun", 'ddp')
    def _():
        n = max(2, torch.cuda.device_count())
        script = out/'latentlab_cli.py'
        script.write_text("import sys\nfrom latentlab.cli import main\nsys.exit(main())\n")
        args = ['train-encoder', '--corpus', corpus, '--bottleneck', 'ae', '--steps', '6', '--batch-size', '8', '--quiet',
                '--train', 'ckpt_every=6', 'warmup=2']                # as tests/test_train.py's two gloo processes
        one = subprocess.run([sys.executable, str(script), *args, '--out', str(out/'ddp-one')], capture_output=True, text=True)
        assert one.returncode == 0, one.stderr[-1500:]
        r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(n),
                            str(script), *args, '--out', str(out/'ddp-two')], capture_output=True, text=True, timeout=300)
        if r.returncode: return f"{n} processes on {torch.cuda.device_count()} GPU(s) refused: {r.stderr[-1200:]}"
        a, b = (load_file(out/r/'model.safetensors') for r in ('ddp-one', 'ddp-two'))
        backend = 'NCCL' if torch.cuda.device_count() >= n else f'gloo (fewer GPUs than processes)'
        return f"{n} {backend} processes against one: largest weight difference {max((a[k] - b[k]).abs().max().item() for k in a):.2e}"

if __name__ == '__main__': main()
