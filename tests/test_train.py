"""Training encoders as a user does it, through the CLI: a run, its latents extracted through `--encoder RUN`, a run
killed with SIGKILL and resumed to the same bits, two gloo processes under torchrun against one, and the refusals."""
import json, os
from pathlib import Path
from conftest import kill_once_checkpointed, latentlab, latentlab_here, one_and_two_processes
import numpy as np, pytest, torch
from safetensors.torch import load_file
from latentlab.store import Store

CORPUS = 'tones:speakers=4,utts=4,seconds=4'
BASE = ['--corpus', CORPUS, '--bottleneck', 'ae', '--batch-size', '8', '--quiet']

def weights(run) -> dict: return load_file(Path(run)/'model.safetensors')

def test_train_then_extract_through_the_run(tmp_path):
    r = latentlab('train-encoder', *BASE, '--objective', 'predictability', '--lam', '0.1', '--steps', 20,
                  '--train', 'ckpt_every=10', 'log_every=5', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    assert 'held-out mel distance' in r.stdout
    run = tmp_path/'run'
    for name in ('config.json', 'model.safetensors', 'metrics.jsonl', 'curves.html', 'eval.json'): assert (run/name).exists(), name
    steps = [json.loads(l)['step'] for l in (run/'metrics.jsonl').read_text().splitlines()]
    assert steps == [5, 10, 15, 20]
    assert [p.name for p in (run/'checkpoints').iterdir()] == ['step-0000020']
    r = latentlab('extract', '--corpus', CORPUS, '--encoder', run, '--out', tmp_path/'store', '--quiet')
    assert r.returncode == 0, r.stderr
    store = Store(tmp_path/'store')
    assert (store.dim, store.frame_rate) == (32, 12.5) and store.meta['n_utts'] == 16

def test_sigkill_then_resume_gives_the_same_bits(tmp_path):
    args = ['train-encoder', *BASE, '--objective', 'predictability', '--lam', '0.1', '--steps', 40,
            '--train', 'ckpt_every=5', 'log_every=5']
    assert latentlab(*args, '--out', tmp_path/'whole').returncode == 0
    kill_once_checkpointed(args, tmp_path/'killed', 'step-0000010')
    assert not (tmp_path/'killed'/'eval.json').exists()
    r = latentlab(*args, '--out', tmp_path/'killed', '--resume')
    assert r.returncode == 0, r.stderr
    a, b = weights(tmp_path/'whole'), weights(tmp_path/'killed')
    assert all(torch.equal(a[k], b[k]) for k in a)
    lines = lambda run: [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines()]
    assert [l['loss'] for l in lines(tmp_path/'whole')] == [l['loss'] for l in lines(tmp_path/'killed')]

def test_refusals_name_the_problem(tmp_path):
    "Each refusal names the problem and the fix (in this process: `latentlab_here`)."
    args = ['train-encoder', *BASE, '--steps', 10, '--train', 'ckpt_every=5']
    assert latentlab_here(*args, '--out', tmp_path/'run').returncode == 0
    r = latentlab_here(*args, '--out', tmp_path/'run')
    assert r.returncode == 2 and 'already holds a run' in r.stderr
    r = latentlab_here(*args, '--lr', 0.01, '--model', 'dim=16', '--out', tmp_path/'run', '--resume')
    assert r.returncode == 2 and 'model.dim, train.lr' in r.stderr, r.stderr
    opt = next((tmp_path/'run'/'checkpoints').glob('step-*'))/'optimizer.pt'
    whole = opt.read_bytes()
    opt.write_bytes(whole[:500])
    r = latentlab_here(*args, '--out', tmp_path/'run', '--resume')
    assert r.returncode == 2 and 'optimizer.pt' in r.stderr and 'damaged' in r.stderr, r.stderr
    opt.write_bytes(whole)
    model = opt.with_name('model.safetensors')                 # the encoder's weights in the checkpoint, cut short
    model.write_bytes(model.read_bytes()[:model.stat().st_size // 2])
    r = latentlab_here(*args, '--out', tmp_path/'run', '--resume')
    assert r.returncode == 2 and 'model.safetensors' in r.stderr and 'damaged' in r.stderr, r.stderr
    r = latentlab_here('train-encoder', *BASE, '--model', 'dimm=3', '--out', tmp_path/'x')
    assert r.returncode == 2 and 'dimm' in r.stderr, r.stderr

def test_two_gloo_processes_match_one(tmp_path):
    "DDP over two processes, each with half the global batch, ends with the weights of one process with all of it."
    args = ['train-encoder', *BASE, '--steps', 6, '--train', 'ckpt_every=6', 'warmup=2']
    a, b = map(weights, one_and_two_processes(args, tmp_path))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5
    moved = json.loads((tmp_path/'two'/'metrics.jsonl').read_text().splitlines()[-1])['step']
    assert moved == 6

def test_vq_under_two_gloo_processes_counts_the_whole_batch(tmp_path):
    """A VQ encoder trains under torchrun end to end, and its codebook learns from the whole batch: the EMA counts sum
    to decay·before + (1 − decay)·(frames of the global batch) at every step, in one process and in two alike."""
    args = ['train-encoder', *[a if a != 'ae' else 'vq' for a in BASE], '--model', 'codebook=64', '--steps', 6,
            '--train', 'ckpt_every=6', 'warmup=2']
    a, b = map(weights, one_and_two_processes(args, tmp_path))
    key = next(k for k in a if k.endswith('vq.cluster_size'))
    whole = 64 * 0.99**6 + 8 * 32 * (1 - 0.99**6)                      # 64 codes begun at 1 each; 8 windows of 32 frames a step
    assert abs(a[key].sum().item() - whole) < 1e-3 and abs(b[key].sum().item() - whole) < 1e-3, (a[key].sum(), b[key].sum(), whole)
    assert json.loads((tmp_path/'two'/'metrics.jsonl').read_text().splitlines()[-1])['step'] == 6

def test_a_process_that_started_the_group_ends_it_at_exit(tmp_path):
    """Under torchrun, `distributed` starts the gloo group and destroys it at exit, before the interpreter's
    finalisation (left to that, gloo's threads once aborted a finished run's process: "terminate called without an
    active exception"). An exit hook registered before it runs after it, so it sees the group gone."""
    import subprocess, sys
    script = tmp_path/'ends.py'
    script.write_text("import atexit, os, torch.distributed as dist\n"
                      f"say = lambda *a: open({str(tmp_path)!r} + '/rank' + os.environ['RANK'], 'a').write(' '.join(map(str, a)) + '\\n')\n"
                      "atexit.register(lambda: say('up at exit', dist.is_initialized()))\n"
                      "from latentlab.train.runs import distributed\n"
                      "rank, world, device = distributed('cpu')\n"
                      "say('started', dist.is_initialized(), rank, world, device)\n")
    r = subprocess.run([str(Path(sys.executable).parent/'torchrun'), '--standalone', '--nproc-per-node', '2', str(script)],
                       capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    for rank in (0, 1):
        assert (tmp_path/f'rank{rank}').read_text() == f'started True {rank} 2 cpu\nup at exit False\n'

def test_sweep_cli(tmp_path):
    "A sweep from the command line, one run at a time and two at a time in processes of their own: the same table."
    import pandas as pd
    args = ['sweep-encoders', '--corpus', 'tones:speakers=4,utts=20,seconds=4', '--grid', 'objective=none,predictability lam=1',
            '--steps', 10, '--batch-size', 8, '--boot', 50, '--quiet']
    r = latentlab(*args, '--out', tmp_path/'sweep', env={**os.environ, 'OMP_NUM_THREADS': '1'})   # as each of two jobs here
    assert r.returncode == 0, r.stderr
    t = pd.read_parquet(tmp_path/'sweep'/'sweep.parquet')
    assert len(t) == 2 and {'mel_distance_db', 'dx mean', 'x mean', 'dx concat'} <= set(t.columns)
    assert 'Pareto' in (tmp_path/'sweep'/'sweep.html').read_text()
    r = latentlab(*args, '--jobs', 2, '--out', tmp_path/'two', env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr
    two = pd.read_parquet(tmp_path/'two'/'sweep.parquet')
    pd.testing.assert_frame_equal(two, t, check_exact=False, rtol=1e-3)
    assert len(list((tmp_path/'two'/'runs').glob('*/eval.json'))) == 2
    r = latentlab_here(*args, '--jobs', 2, '--grid', 'objective=none,nonsense lam=1', '--out', tmp_path/'bad')   # a failing run stops the sweep
    assert r.returncode == 2 and 'nonsense' in r.stderr, r.stderr[-2000:]

def test_whisper_teacher_distils_into_the_latent(tmp_path):
    "Semantic distillation: Whisper tiny's features (50 Hz, pooled to 12.5 Hz) as the teacher of the distill objective."
    r = latentlab('train-encoder', '--corpus', 'espeak:speakers=2,utts=4', '--batch-size', 8, '--quiet', '--steps', 12,
                  '--objective', 'distill', '--lam', 1, '--train', 'teacher=whisper-tiny', 'log_every=4', 'ckpt_every=12',
                  '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in (tmp_path/'run'/'metrics.jsonl').read_text().splitlines()]
    assert lines[-1]['distill.cos'] > lines[0]['distill.cos']
    assert json.loads((tmp_path/'run'/'config.json').read_text())['objectives'][0] == dict(name='distill', lam=1.0)

@pytest.fixture(scope='module')
def tones_feats():
    from latentlab.autoencoders import AEConfig, build_model
    from latentlab.data.corpora import load_corpus
    from latentlab.train.runs import features, speaker_split
    return features(build_model(AEConfig()), speaker_split(load_corpus(CORPUS))[0])

@pytest.mark.parametrize('bottleneck,objective', [('ae', 'predictability/predictor=lookup'), ('vae', 'concentration'),
                                                ('vq', 'cpc'), ('fsq', 'prior'), ('mode', 'mode'), ('ae', 'prior/kind=mixture')])
def test_every_bottleneck_and_objective_train(tmp_path, tones_feats, bottleneck, objective):
    "Three steps of each bottleneck and each objective: finite losses, the objective logged, the run encodes."
    from latentlab.autoencoders import AEConfig, TrainedEncoder
    from latentlab.train.runs import TrainConfig, read_metrics, train_encoder
    from latentlab.train.sweep import parse_objective
    objectives = parse_objective(objective, 0.5)
    run = train_encoder(tmp_path/'run', AEConfig(bottleneck=bottleneck), objectives,
                        TrainConfig(steps=3, batch_size=8, log_every=1, ckpt_every=3), CORPUS, progress=False, feats=tones_feats)
    m, name = read_metrics(run), objectives[0]['name']
    assert len(m) == 3 and m[['loss', 'rec', name]].notna().all().all() and (m.loss.abs() < 1e6).all(), m
    z = TrainedEncoder(run).encode([np.zeros(16000, np.float32)])[0]
    assert z.shape == (13, 32) and np.isfinite(z).all()

@pytest.mark.parametrize('bottleneck', ['ae', 'vq'])
def test_bf16_autocast_trains_as_float32_does(tmp_path, tones_feats, bottleneck):
    "Five steps under bf16 autocast and in float32 from the same seed: the same losses to a few per cent, the precision recorded."
    from latentlab.autoencoders import AEConfig
    from latentlab.train.runs import TrainConfig, read_metrics, train_encoder
    losses = {}
    for precision in ('float32', 'bfloat16'):
        run = train_encoder(tmp_path/precision, AEConfig(bottleneck=bottleneck), [dict(name='predictability', lam=0.5)],
                            TrainConfig(steps=5, batch_size=8, log_every=1, ckpt_every=5, precision=precision), CORPUS,
                            progress=False, feats=tones_feats)
        assert json.loads((run/'config.json').read_text())['train']['precision'] == precision
        losses[precision] = read_metrics(run).loss.to_numpy()
    f, b = losses['float32'], losses['bfloat16']
    assert np.isfinite(b).all() and np.abs(b - f).max() < 0.05 * np.abs(f).max(), (f, b)
    assert not np.array_equal(b, f)                                     # bf16 did run: its rounding shows

def test_dual_run_extracts_each_part(tmp_path):
    "A dual-latent run trains through the CLI, and extracts z_dyn (the default) or the pair; a wrong part is named."
    r = latentlab('train-encoder', *BASE, '--model', 'dual=residual', 'dim=4', 'rec_dim=8', 'channels=32',
                  '--objective', 'predictability', '--lam', '0.1', '--steps', 10, '--train', 'ckpt_every=10', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    assert 'dual (residual) encoder, z_dyn 4-d (ae) + z_rec 8-d' in r.stdout and 'from z_dyn alone' in r.stdout
    for part, dim in (('dyn', 4), ('pair', 12)):
        r = latentlab('extract', '--corpus', CORPUS, '--encoder', f"{tmp_path/'run'}:part={part}", '--out', tmp_path/part, '--quiet')
        assert r.returncode == 0, r.stderr
        store = Store(tmp_path/part)
        assert store.dim == dim and store.meta['encoder_config']['part'] == part
    r = latentlab_here('extract', '--corpus', CORPUS, '--encoder', f"{tmp_path/'run'}:part=both", '--out', tmp_path/'x', '--quiet')
    assert r.returncode == 2 and "part must be 'dyn', 'rec' or 'pair'" in r.stderr, r.stderr

def noise_levels(store:Store) -> tuple[np.ndarray, np.ndarray]:
    "Each frame's noise level in a `tones` store (drawn independently of the past, so unpredictable by construction), and its split."
    from latentlab.data.synthetic import sticky_tones
    levels, splits = [], []
    for r in store.index.itertuples():
        k, i = int(r.speaker.removeprefix('tones')), int(r.utt.split('-')[1])
        base = 90 * 2 ** (k / 4)                                     # as tones_corpus makes speaker k of 4
        lv = sticky_tones(4., 3, 0.9, base_hz=base, rng=np.random.default_rng([0, k, i]), levels=True)[2][:r.n_frames]
        levels.append(lv); splits += [r.split] * len(lv)
    return np.concatenate(levels), np.array(splits)

def level_r2(store:Store) -> float:
    "Held-out R² of each frame's noise level from the store's latents (ridge, fitted on the training speakers)."
    from sklearn.linear_model import RidgeCV
    y, split = noise_levels(store)
    x = np.asarray(store.x)[:len(y)]
    train = split == 'train'
    return RidgeCV().fit(x[train], y[train]).score(x[~train], y[~train])

def test_dual_latents_known_answer(tmp_path):
    """The dual split's positive control. In sticky tones each frame's noise level is drawn afresh, so no context predicts
    it. Without an objective, the residual dual model keeps it in z_dyn; with the predictability objective on z_dyn it moves
    to z_rec, which encodes what z_dyn's decoder leaves, while the pair reconstructs as well. (Through the CLI's `main` in this process: `latentlab_here`.)"""
    corpus, found = 'tones:speakers=4,utts=10', {}
    for lam in (0, 1):
        run = tmp_path/f'lam{lam}'
        r = latentlab_here('train-encoder', '--corpus', corpus, '--objective', 'predictability', '--lam', lam, '--steps', 200,
                      '--batch-size', 8, '--model', 'dual=residual', 'dim=4', 'rec_dim=8', 'channels=64',
                      '--train', 'warmup=10', 'ckpt_every=200', '--out', run, '--quiet')
        assert r.returncode == 0, r.stderr
        for part in ('dyn', 'rec'):
            r = latentlab_here('extract', '--corpus', corpus, '--encoder', f'{run}:part={part}', '--out', tmp_path/f'{lam}-{part}', '--quiet')
            assert r.returncode == 0, r.stderr
            found[lam, part] = level_r2(Store(tmp_path/f'{lam}-{part}'))
        found[lam, 'pair_db'] = json.loads((run/'eval.json').read_text())['heldout']['mel_distance_db']
    print(found)
    assert found[0, 'dyn'] > 0.8 > found[0, 'rec']                   # reconstruction alone: the noise level rides in z_dyn
    assert found[1, 'rec'] > 0.8 and found[1, 'dyn'] < 0.2           # z_dyn made predictable: it moves to z_rec
    assert abs(found[1, 'pair_db'] - found[0, 'pair_db']) < 0.5       # and the pair reconstructs as well
