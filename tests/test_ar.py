"""AR models as a user runs them, through the CLI: a run and its measures, a run killed with SIGKILL and resumed to
the same bits, two gloo processes under torchrun against one, the refusals, and the matched-compute comparison."""
import json
from pathlib import Path
from conftest import kill_once_checkpointed, latentlab, latentlab_here, one_and_two_processes
import pandas as pd, torch
from safetensors.torch import load_file

STORE = 'walk:speakers=8,utts=20,dim=4,noise=2.5'
SMALL = ['--model', 'd_model=32', 'layers=2', 'n_heads=2', 'context=16', 'components=4', 'predict=dx']
BASE = ['--store', STORE, *SMALL, '--batch-size', '8', '--quiet']

def last_weights(run) -> dict:
    return load_file(sorted((Path(run)/'checkpoints').glob('step-*'))[-1]/'model.safetensors')

def test_train_ar_writes_a_measured_run(tmp_path):
    r = latentlab('train-ar', *BASE, '--steps', 40, '--train', 'eval_every=20', 'ckpt_every=20', '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    assert 'held-out NLL' in r.stdout and 'Δx 1 − R²' in r.stdout
    run = tmp_path/'run'
    for name in ('config.json', 'stats.safetensors', 'model.safetensors', 'best.safetensors', 'metrics.jsonl',
                 'curves.html', 'eval.json', 'rollouts.npz'):
        assert (run/name).exists(), name
    ev = json.loads((run/'eval.json').read_text())
    h = ev['heldout']
    assert h['dx_ratio_lo'] <= h['dx_ratio'] <= h['dx_ratio_hi'] and h['frames'] > 100
    assert ev['rollouts']['horizon'] == 25 and len(ev['rollouts']['drift']) == 25
    assert ev['params']['backbone'] > 0 and ev['flops_per_frame']['backbone'] > 0

def test_sigkill_then_resume_gives_the_same_bits(tmp_path):
    args = ['train-ar', *BASE, '--steps', 300, '--train', 'ckpt_every=10', 'eval_every=20', 'log_every=10']
    assert latentlab(*args, '--out', tmp_path/'whole').returncode == 0
    kill_once_checkpointed(args, tmp_path/'killed', 'step-0000030')
    assert not (tmp_path/'killed'/'eval.json').exists()
    r = latentlab(*args, '--out', tmp_path/'killed', '--resume')
    assert r.returncode == 0, r.stderr
    for a, b in [(last_weights(tmp_path/'whole'), last_weights(tmp_path/'killed')),
                 (load_file(tmp_path/'whole'/'model.safetensors'), load_file(tmp_path/'killed'/'model.safetensors'))]:
        assert all(torch.equal(a[k], b[k]) for k in a)
    lines = lambda run: [json.loads(l) for l in (run/'metrics.jsonl').read_text().splitlines()]
    assert [l['loss'] for l in lines(tmp_path/'whole')] == [l['loss'] for l in lines(tmp_path/'killed')]
    assert json.loads((tmp_path/'whole'/'eval.json').read_text()) == json.loads((tmp_path/'killed'/'eval.json').read_text())

def test_refusals_name_the_problem(tmp_path):
    "Each refusal names the problem and the fix (in this process: `latentlab_here`)."
    args = ['train-ar', *BASE, '--steps', 10, '--train', 'ckpt_every=5', 'eval_every=5']
    assert latentlab_here(*args, '--out', tmp_path/'run').returncode == 0
    r = latentlab_here(*args, '--out', tmp_path/'run')
    assert r.returncode == 2 and 'already holds a run' in r.stderr
    r = latentlab_here(*args, '--lr', 0.01, '--out', tmp_path/'run', '--resume')
    assert r.returncode == 2 and 'train.lr' in r.stderr, r.stderr
    opt = next((tmp_path/'run'/'checkpoints').glob('step-*'))/'model.safetensors'
    opt.write_bytes(opt.read_bytes()[:300])
    r = latentlab_here(*args, '--out', tmp_path/'run', '--resume')
    assert r.returncode == 2 and 'model.safetensors' in r.stderr and 'damaged' in r.stderr, r.stderr
    r = latentlab_here('train-ar', *BASE, '--model', 'dim=7', '--out', tmp_path/'x')
    assert r.returncode == 2 and 'dim=4' in r.stderr, r.stderr
    r = latentlab_here('train-ar', *BASE, '--model', 'heads=3', '--out', tmp_path/'y')
    assert r.returncode == 2 and "['heads']" in r.stderr, r.stderr

def test_two_gloo_processes_match_one(tmp_path):
    "DDP over two processes, each with half the global batch, ends with the weights of one process with all of it."
    args = ['train-ar', '--store', STORE, '--model', 'd_model=32', 'layers=2', 'n_heads=2', 'context=16', 'components=4',
            '--batch-size', '8', '--quiet', '--steps', 6, '--train', 'ckpt_every=6', 'eval_every=6', 'warmup=2']
    a, b = map(last_weights, one_and_two_processes(args, tmp_path))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-5

def test_ar_comparison_cli(tmp_path):
    r = latentlab('ar', STORE, *SMALL, 'ngrams=1,2', 'table_size=64', 'code_K=16', '--steps', 30, '--engram', 'off,codes,modes',
                  '--train', 'eval_every=15', 'ckpt_every=15', '--batch-size', 8, '--noise', 'on,off', '--horizon', 10,
                  '--quiet', '--out', tmp_path/'ar')
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(tmp_path/'ar'/'ar.parquet')
    assert len(table) == 8 and set(table.match) == {'flops', 'params'}    # per noise: plain, two memories, one twin for both
    assert set(table.noise) == {0., 0.5} and table.memory.sum() == 4 and table.memory_key.value_counts().to_dict() == {'codes': 2, 'modes': 2}
    assert table.phase0_dx_keys.between(0, 1.5).all()                    # Phase 0 under the codes' condition
    assert table.horizon_s.eq(0.8).all()                                   # 10 frames at the walk's 12.5 Hz
    page = (tmp_path/'ar'/'ar.html').read_text()
    assert page.count('plotly') > 2 and 'Rollout drift against time' in page
    r = latentlab_here('ar', STORE, '--noise', 'loud', '--out', tmp_path/'bad')               # refusals: in this process
    assert r.returncode == 2 and '--noise' in r.stderr
    r = latentlab_here('ar', STORE, '--engram', 'off,hash', '--out', tmp_path/'bad')
    assert r.returncode == 2 and '--engram' in r.stderr and 'codes, modes' in r.stderr, r.stderr

def test_bad_input_is_named_before_work_is_spent(tmp_path):
    """Damaged stores, settings of the wrong kind, budgets too small for a step, a bad store among several: each a
    refusal (exit 2, no traceback) that names it, before any training; and what can go on does (a run that never got
    to train starts again, a store named another way resumes, a damaged measure is measured again)."""
    import shutil
    import numpy as np
    from latentlab.store import Store
    extract = ['extract', '--corpus', 'tones:speakers=8,utts=4,seconds=6', '--encoder', 'logmel', '--out', tmp_path/'store', '--quiet']
    assert latentlab_here(*extract).returncode == 0
    r = latentlab_here(*extract)                                            # a finished store is kept, and that is said
    assert r.returncode == 0 and 'extracted before, kept as it was (delete the folder to extract it again)' in r.stdout, r.stdout
    model, rest = ['--model', 'd_model=32', 'layers=1', 'n_heads=2', 'context=16', 'components=4'], ['--batch-size', 8, '--quiet']
    small = model + rest
    refused = lambda r, *words: r.returncode == 2 and 'Traceback' not in r.stderr and all(w in r.stderr for w in words)
    cut = tmp_path/'cut'; shutil.copytree(tmp_path/'store', cut)
    (cut/'latents.npy').write_bytes((cut/'latents.npy').read_bytes()[:2000])
    r = latentlab_here('train-ar', '--store', cut, *small, '--steps', 5, '--out', tmp_path/'a')
    assert refused(r, 'latents.npy is truncated or damaged', 'extract it again'), r.stderr
    assert refused(latentlab_here('info', cut), 'truncated or damaged')
    nan = tmp_path/'nan'; shutil.copytree(tmp_path/'store', nan)
    st = Store(nan); held = int(np.flatnonzero(st.index.split == 'heldout')[0])
    x = np.load(nan/'latents.npy', mmap_mode='r+'); x[st.bounds[held] + 2, 0] = np.nan; x.flush(); del x
    for _ in range(2):                                  # again, without --resume: it never trained, so it starts again
        r = latentlab_here('train-ar', '--store', nan, *small, '--steps', 5, '--out', tmp_path/'b')
        assert refused(r, 'hold NaN or inf', f'{st.index.utt.iloc[held]} (heldout)'), r.stderr
        assert not (tmp_path/'b'/'checkpoints').exists() and not (tmp_path/'b'/'stats.safetensors').exists()
    for bad, word in [('d_model=abc', "d_model='abc'"), ('memory=maybe', "memory='maybe'"), ('context=0', 'context=0'), ('n_heads=0', 'n_heads=0')]:
        r = latentlab_here('train-ar', '--store', tmp_path/'store', *model, bad, *rest, '--steps', 5, '--out', tmp_path/'c')
        assert refused(r, word, '(use '), (bad, r.stderr)
    r = latentlab_here('train-ar', '--store', tmp_path/'store', *small, '--flops', 1, '--out', tmp_path/'d')
    assert refused(r, 'buys', 'training steps', '--flops'), r.stderr
    assert refused(latentlab_here('ar', tmp_path/'store', *small, '--engram', '2', '--out', tmp_path/'e'), "--engram '2'")
    assert refused(latentlab_here('train-ar', '--store', tmp_path/'store', *small, '--lr', 'inf', '--out', tmp_path/'f'), 'lr=inf')
    r = latentlab_here('ar', tmp_path/'store', tmp_path/'nowhere', *small, '--steps', 5, '--engram', 'off', '--out', tmp_path/'g')
    assert refused(r, 'nowhere') and not any((tmp_path/'g').glob('*/*')), r.stderr            # refused before the first store's runs
    args = ['train-ar', *small, '--steps', 10, '--train', 'eval_every=5', 'ckpt_every=5']
    assert latentlab_here(*args, '--store', tmp_path/'store', '--out', tmp_path/'h').returncode == 0
    (tmp_path/'h'/'eval.json').write_text('{"heldout": ')                                        # cut short
    r = latentlab_here(*args, '--store', f'{tmp_path}/./store', '--out', tmp_path/'h', '--resume')   # the same store, named otherwise
    assert r.returncode == 0 and 'held-out' in r.stdout, r.stderr
    assert 'nll_dim' in json.loads((tmp_path/'h'/'eval.json').read_text())['heldout']               # measured again
    r = latentlab_here(*args, '--store', 'walk:speakers=2,utts=6,dim=4', '--out', tmp_path/'v')
    assert refused(r, 'walk:speakers=2,utts=6,dim=4: a run needs', '6 train, 0 val, 6 heldout', 'more speakers') and not (tmp_path/'v').exists(), r.stderr
    walk = ['--store', 'walk:speakers=8,utts=6,dim=4']                  # the same latents split otherwise are another store
    assert latentlab_here(*args, *walk, '--out', tmp_path/'w').returncode == 0
    r = latentlab_here(*args, '--store', 'walk:speakers=8,utts=6,dim=4,heldout=0.5', '--out', tmp_path/'w', '--resume')
    assert refused(r, 'differs in store'), r.stderr

def test_an_interrupted_command_says_how_to_go_on(monkeypatch, tmp_path):
    "Ctrl-C: a run folder goes on with --resume; a comparison (which resumes its runs itself) with the same command."
    import latentlab.cli as cli
    def interrupted(args): raise KeyboardInterrupt
    monkeypatch.setattr(cli, 'cmd_train_ar', interrupted); monkeypatch.setattr(cli, 'cmd_ar', interrupted)
    for args, says in [(['train-ar', '--out', tmp_path], 're-run it with --resume to go on'),
                       (['train-ar', '--out', tmp_path, '--resume'], 're-run the same command to go on'),
                       (['ar', 'walk', '--out', tmp_path], 're-run the same command to go on')]:
        r = latentlab_here(*args)
        assert r.returncode == 130 and 'interrupted; finished parts are kept: ' + says in r.stderr, (args, r.stderr)

def test_trained_encoder_rollouts_are_decoded(tmp_path):
    "A store from a trained encoder: the comparison decodes its rollouts to mel, measures them and plays them (through the CLI's `main` in this process)."
    corpus = 'tones:speakers=8,utts=4,seconds=6'
    r = latentlab_here('train-encoder', '--corpus', corpus, '--bottleneck', 'ae', '--batch-size', 8, '--steps', 30, '--quiet',
                       '--out', tmp_path/'encoder')
    assert r.returncode == 0, r.stderr
    r = latentlab_here('extract', '--corpus', corpus, '--encoder', tmp_path/'encoder', '--out', tmp_path/'store', '--quiet')
    assert r.returncode == 0, r.stderr
    r = latentlab_here('ar', tmp_path/'store', *SMALL, '--steps', 20, '--engram', 'off', '--batch-size', 8, '--quiet',
                       '--train', 'eval_every=10', 'ckpt_every=10', '--out', tmp_path/'ar')
    assert r.returncode == 0, r.stderr
    row = pd.read_parquet(tmp_path/'ar'/'ar.parquet').iloc[0]
    assert row.mel_generated_lo <= row.mel_generated <= row.mel_generated_hi and row.mel_copy > 0
    wav = tmp_path/'ar'/row.folder/'audio'/'0-generated.wav'
    assert wav.stat().st_size > 1000
    assert f'<audio controls src="{row.folder}/audio/0-generated.wav">' in (tmp_path/'ar'/'ar.html').read_text()
    r = latentlab_here('train-ar', '--store', tmp_path/'store', *SMALL, '--steps', 10, '--batch-size', 8, '--quiet',
                       '--out', tmp_path/'one')
    assert r.returncode == 0 and 'decoded rollouts: mel distance' in r.stdout, r.stderr

def test_flow_heads_compared_by_their_errors_not_an_nll(tmp_path):
    "Both flow heads, flow matching and the flow map (flow-lsd), train and roll out; neither has a likelihood to report."
    r = latentlab('ar', STORE, *SMALL, 'flow_width=32', 'flow_depth=2', '--head', 'flow,flow-lsd', '--engram', 'off',
                  '--steps', 20, '--train', 'eval_every=10', 'ckpt_every=10', '--batch-size', 8, '--quiet', '--out', tmp_path/'ar')
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(tmp_path/'ar'/'ar.parquet')
    assert list(table.run) == ['flow-plain', 'flow-lsd-plain'] and list(table['head']) == ['flow', 'flow-lsd']
    assert 'nll_dim' not in table and table.dx_ratio.between(0, 2).all() and table.drift_mean.gt(0).all()
    assert table.step_rms_generated.gt(0).all() and table.fd_steps_generated.ge(0).all() and table.step_rms_real.between(0.5, 1.5).all()
    model = [json.loads((tmp_path/'ar'/f/'config.json').read_text())['model'] for f in table.folder]
    assert [(m['flow_loss'], m['flow_steps']) for m in model] == [('match', 4), ('lsd', 1)]
    r = latentlab_here('ar', STORE, '--head', 'flow,flw', '--out', tmp_path/'bad')
    assert r.returncode == 2 and 'flw' in r.stderr and 'flow-lsd' in r.stderr, r.stderr

def test_twins_can_match_steps(tmp_path):
    "--twin-steps: at a FLOP budget the widened twin trains for as many steps as its memory model, in a folder of its own."
    r = latentlab('ar', STORE, *SMALL, 'ngrams=1,2', 'table_size=64', '--flops', 1e9, '--engram', 'on', '--twin-steps',
                  '--train', 'eval_every=10', 'ckpt_every=10', '--batch-size', 8, '--horizon', 5, '--quiet', '--out', tmp_path/'ar')
    assert r.returncode == 0, r.stderr
    table = pd.read_parquet(tmp_path/'ar'/'ar.parquet')
    assert table.match.tolist() == ['flops', 'params+steps'] and table.run[1].endswith('-steps'), table
    assert table.steps[0] == table.steps[1] > 1 and table.d_model[1] > table.d_model[0], table

def test_attend_is_the_fused_kernels_attention():
    """`attend` (the CPU bf16 path) against PyTorch's fused attention on the model's own mask (two utterances in a
    window, with and without a short-context window): equal in float32, within bf16's rounding in bf16."""
    import torch.nn.functional as F
    from latentlab.models.ar import attend, attention_mask
    torch.manual_seed(0)
    pos = torch.tensor([[3, 4, 5, 0, 1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    q, k, v = torch.randn(3, 2, 4, 10, 16).unbind(0)
    for window in (None, 3):
        mask = attention_mask(pos, window)
        fused = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        torch.testing.assert_close(attend(q, k, v, mask), fused, atol=1e-5, rtol=1e-5)
        low = attend(q.bfloat16(), k.bfloat16(), v.bfloat16(), mask)
        assert low.dtype == torch.bfloat16 and ((low.float() - fused).norm() / fused.norm()).item() < 0.02

def test_bf16_autocast_trains_as_float32_does(tmp_path, monkeypatch):
    """Ten steps under bf16 autocast (attention as bf16 matmuls on a CPU, `attend`) and in float32 from the same seed:
    the same losses to a few per cent; `attend` runs, on bf16 inputs, under autocast only."""
    import latentlab.models.ar as ar
    from latentlab.models.ar import ARConfig
    from latentlab.models.runs import ARTrainConfig, train_ar
    seen, attend = [], ar.attend
    def spy(q, k, v, mask): seen[-1].append(q.dtype); return attend(q, k, v, mask)
    monkeypatch.setattr(ar, 'attend', spy)
    cfg = ARConfig(dim=4, d_model=32, layers=2, n_heads=2, context=16, components=4, predict='dx')
    losses, calls = {}, {}
    for precision in ('float32', 'bfloat16'):
        seen.append([])
        run = train_ar(tmp_path/precision, STORE, cfg, ARTrainConfig(steps=10, batch_size=8, log_every=1, eval_every=10, ckpt_every=10,
                                                                      precision=precision), progress=False)
        assert json.loads((run/'config.json').read_text())['train']['precision'] == precision
        losses[precision] = torch.tensor([json.loads(l)['loss'] for l in (run/'metrics.jsonl').read_text().splitlines() if 'loss' in json.loads(l)])
        calls[precision] = seen[-1]
    assert calls['float32'] == [] and len(calls['bfloat16']) >= 10 * 2 and set(calls['bfloat16']) == {torch.bfloat16}, calls
    f, b = losses['float32'], losses['bfloat16']
    assert len(f) == len(b) >= 10 and torch.isfinite(b).all() and (b - f).abs().max() < 0.05 * f.abs().max(), (f, b)
    assert not torch.equal(b, f)                                        # bf16 did run: its rounding shows
