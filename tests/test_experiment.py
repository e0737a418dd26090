"The experiment command end to end on the `ci` preset: every row kind and column, answers built from the numbers, resuming after a kill to the same table, and a changed config refused."
import json, os, shutil, signal, subprocess, time
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import LATENTLAB, latentlab, latentlab_here, needs_real
from latentlab.experiment import EXTRACT_SECONDS, cell_seconds

KINDS = {'control', 'logmel', 'pretrained', 'random', 'trained', 'dual'}
COLUMNS = ('recon_db', 'phase0_dx', 'phase0_x', 'phase0_dx_train', 'phase0_dx_random', 'best_dx', 'best_x', 'best_dx_train', 'best_dx_random',
           'dx_within_participation_ratio', 'bic_components', 'x_twonn', 'speaker_share', 'plain_nll_dim', 'error',
           'nats_per_s', 'bits_per_s', 'memory_gain', 'stabiliser_drift_change', 'plain_drift_mean')

@pytest.fixture(scope='module')
def env(tmp_path_factory):
    return {**os.environ, 'LATENTLAB_CACHE': str(tmp_path_factory.mktemp('cache'))}

@pytest.fixture(scope='module')
def done(tmp_path_factory, env):
    "The `ci` experiment, run once through the command line."
    out = tmp_path_factory.mktemp('exp')/'ci'
    t0 = time.perf_counter()
    r = latentlab('experiment', 'ci', '--out', out, '--quiet', env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    print(f"ci experiment: {time.perf_counter() - t0:.0f} s")
    return out, r.stdout

def test_every_row_kind_and_column(done):
    out, stdout = done
    summary = pd.read_parquet(out/'summary.parquet')
    assert set(summary.kind) == KINDS
    for col in COLUMNS: assert summary[col].notna().any(), col
    assert summary.loc[summary.kind.isin(['trained', 'dual']), 'recon_db'].notna().all()
    assert summary.loc[~summary.kind.isin(['trained', 'dual']), 'recon_db'].isna().all()   # no decoder, no cost
    table = pd.read_parquet(out/'table.parquet')
    assert (table[table.kind == 'trained'].groupby('latent').seed.nunique() == 2).all()     # each trained row at both seeds
    untrained = table[~table.kind.isin(['trained', 'dual'])]                              # AR at both seeds, the store at one
    assert (untrained.groupby('latent').seed.nunique() == 2).all() and untrained.plain_nll_dim.notna().all()
    assert untrained[untrained.seed == 0].phase0_dx.notna().all() and untrained[untrained.seed == 1].phase0_dx.isna().all()
    t = summary[summary.kind == 'trained'].iloc[0]                                         # intervals across seeds
    seeds = table[table.latent == t.latent].plain_nll_dim.to_numpy()
    assert np.isclose(t.plain_nll_dim, seeds.mean()) and t.plain_nll_dim_lo < seeds.min() <= seeds.max() < t.plain_nll_dim_hi
    page = (out/'experiment.html').read_text()
    assert page.count('class="plotly-graph-div"') == 4 and 'Summary over seeds' in page
    assert '## 3. Dual latents' in stdout and 'experiment.html' in stdout

def test_answers_come_from_the_numbers(done):
    out, _ = done
    from latentlab.experiment import rank_agreement
    s = pd.read_parquet(out/'summary.parquet')
    answers = (out/'answers.md').read_text()
    speech = s[s.kind != 'control']
    proxy = rank_agreement(speech.phase0_dx, speech.plain_nll_dim)
    assert f"is {proxy['rho']:.2f} [{proxy['lo']:.2f}, {proxy['hi']:.2f}]" in answers
    base = s[(s.kind == 'trained') & (s.objective == 'none')].iloc[0]
    pair = s[(s.kind == 'dual') & (s.part == 'pair')].iloc[0]
    dyn = s[(s.kind == 'dual') & (s.part == 'z_dyn')].iloc[0]
    line = next(l for l in answers.splitlines() if l.startswith(f"- residual against {base.latent}:"))
    assert f"the single latent {base.bits_per_s:.0f} [{base.bits_per_s_lo:.0f}, {base.bits_per_s_hi:.0f}], {base.bits_per_s / dyn.bits_per_s:.2f}× [" in line and f"{pair.recon_db / base.recon_db - 1:+.1%} [" in line
    two = next(l for l in answers.splitlines() if l.startswith("- residual, generated in two stages"))
    t = pd.read_parquet(out/'table.parquet')
    by_seed = t[t.part == 'z_dyn'].set_index('seed').bits_per_s + t[t.part == 'pair'].set_index('seed').rec_given_bits_per_s
    assert np.isclose(pair.two_stage_bits_per_s, by_seed.mean()) and pair.rec_given_dims == pair.dim - dyn.dim
    assert f"{pair.two_stage_bits_per_s:.0f} [" in two and f"z_rec given z_dyn {pair.rec_given_bits_per_s:.0f} [" in two
    for q in ('Controls', '1a.', '1b.', '2.', '3.', 'Engram', 'coarseness', 'future', 'semantic'): assert q in answers, q
    ahead, causal = (s[(s.kind == 'trained') & (s.objective == 'none') & (s.causal == c)].iloc[0] for c in (False, True))
    line = next(l for l in answers.splitlines() if l.startswith(f"- {ahead.latent}: AR NLL/dim"))   # seeing the future, asked
    assert f"{ahead.plain_nll_dim:.3f} [" in line and f"vs causal {causal.plain_nll_dim:.3f} [" in line, line

def test_rerun_reads_every_cell(done, env):
    out, _ = done
    before = {p: p.stat().st_mtime_ns for p in (out/'cells').rglob('*.json')}
    t0 = time.perf_counter()
    r = latentlab('experiment', 'ci', '--out', out, '--quiet', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert time.perf_counter() - t0 < 30
    assert {p: p.stat().st_mtime_ns for p in (out/'cells').rglob('*.json')} == before
    first, again = json.loads((out/'timing.json').read_text())['calls'][:2]
    assert first['computed'] == first['cells'] == len(before) and again['computed'] == 0
    took = cell_seconds(out)                       # every cell kept what it took, and together no more than the first call
    assert len(took) == len(before) and took.seconds.notna().all() and (took.seconds >= 0).all() and took.seconds.sum() <= first['seconds']
    assert took[took.column.str.startswith('ar-')].seconds.min() > 0          # a trained model takes time
    stores = took[(took.column == 'store') & took.row.str.startswith('trained')]    # encoded by the experiment itself, in the cell
    made = [json.loads((out/'cells'/r.row/f's{r.seed}'/'store.json').read_text())[EXTRACT_SECONDS] for r in stores.itertuples()]
    assert len(made) and all(0 < m <= s for m, s in zip(made, stores.seconds)) and (stores.cached == 0).all(), (made, stores)

def test_a_row_as_a_job_of_its_own(done, env, tmp_path):
    "A cluster's job per row: `--row NAME` computes that row's cells again alone and writes no table; the call without --row gathers the same table."
    from latentlab.experiment import experiment_rows, load_config
    ref, _ = done
    out = tmp_path/'ci'
    shutil.copytree(ref, out)
    row = next(r for r in experiment_rows(load_config('ci')) if r.kind == 'control')
    shutil.rmtree(out/'cells'/row.label); (out/'table.parquet').unlink()
    for run in out.glob(f'ar/{row.label}-s*'): shutil.rmtree(run)              # its AR models trained again too
    r = latentlab('experiment', 'ci', '--out', out, '--row', row.name, '--quiet', env=env)
    assert r.returncode == 0 and 'gathers the table' in r.stdout, r.stderr[-2000:]
    assert (out/'cells'/row.label).is_dir() and not (out/'table.parquet').exists()
    r = latentlab_here('experiment', 'ci', '--out', out, '--row', 'no such row')     # refusals: in this process
    assert r.returncode == 2 and 'no such row' in r.stderr, r.stderr[-2000:]
    assert latentlab_here('experiment', 'ci', '--out', out, '--row', row.name, '--plan').returncode == 2
    assert latentlab('experiment', 'ci', '--out', out, '--quiet', env=env).returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out/'table.parquet'), pd.read_parquet(ref/'table.parquet'))

def test_killed_experiment_resumes_to_the_same_table(done, env, tmp_path):
    """Killed mid-training and run again, the experiment ends with the same table as the run never stopped. The
    copy of the finished run has the predictability row's first seed deleted (its cells, encoder run, store and AR
    models), so only that seed is computed again (the whole experiment a second time took three minutes of the
    suite, the row's two seeds three more on the slow host)."""
    from latentlab.experiment import ar_folder, experiment_rows, folder_name, load_config, run_name
    ref, _ = done
    out = tmp_path/'ci'
    shutil.copytree(ref, out)
    cfg = load_config('ci')
    row = next(r for r in experiment_rows(cfg) if r.trained and r.setting.get('objective') == 'predictability')
    s = cfg.seeds[0]
    gone = [out/'cells'/row.label/f's{s}', out/'table.parquet', out/'summary.parquet',
            out/'runs'/f'{run_name(row.setting)}-s{s}', out/'stores'/folder_name(row, s), out/'ar'/ar_folder(row, s)]
    for path in gone: shutil.rmtree(path) if path.is_dir() else path.unlink()      # each must be there: unlink raises if not
    p = subprocess.Popen([LATENTLAB, 'experiment', 'ci', '--out', str(out), '--quiet'], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # killed mid-training: an encoder or AR run of the predictability row holds a checkpoint but is not finished
    halfway = lambda: [r for r in [out/'runs'/f'{run_name(row.setting)}-s{s}', *(out/'ar'/ar_folder(row, s)).glob('*')]
                       if any(r.glob('checkpoints/step-*')) and not (r/'eval.json').exists()]
    deadline, caught = time.time() + 300, []
    while time.time() < deadline and p.poll() is None and not (caught := halfway()):
        time.sleep(0.01)
    assert p.poll() is None, "the experiment finished before it could be killed"
    p.send_signal(signal.SIGKILL); p.wait()
    assert caught and not (caught[0]/'eval.json').exists() and not (out/'summary.parquet').exists()
    r = latentlab('experiment', 'ci', '--out', out, '--quiet', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = pd.read_parquet(ref/'table.parquet'), pd.read_parquet(out/'table.parquet')
    assert (b.latent == row.name).sum() == len(cfg.seeds)
    numeric = [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    pd.testing.assert_frame_equal(a[numeric], b[numeric], check_exact=False, rtol=1e-9)

def test_changed_config_is_refused(done, env, tmp_path):
    out, _ = done
    from latentlab.experiment import PRESETS
    changed = tmp_path/'changed.toml'
    changed.write_text(PRESETS['ci'].replace('n_boot = 20', 'n_boot = 30'))
    r = latentlab_here('experiment', changed, '--out', out, '--quiet')
    assert r.returncode == 2 and 'measure.n_boot' in r.stderr and 'another --out' in r.stderr, r.stderr

def test_replaced_run_is_encoded_again(done, env, tmp_path):
    "A trained run replaced after its store was encoded: the store's cell, deleted and redone, encodes the new weights, not the stale latents."
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    from latentlab.core import sha256
    from latentlab.store import Store
    ref, _ = done
    out = tmp_path/'ci'
    shutil.copytree(ref, out)
    stamp = next(out.glob('stores/*-s0/weights.json'))
    folder, run = stamp.parent, out/'runs'/json.loads(stamp.read_text())['run']
    assert json.loads(stamp.read_text())['sha256'] == sha256(run/'model.safetensors')
    old = np.array(Store(folder/'native').x[:200])
    with safe_open(run/'model.safetensors', 'pt') as f: meta = f.metadata()
    w = load_file(run/'model.safetensors')                           # the run trained again, to other weights
    save_file({k: v + 0.05 if v.is_floating_point() else v for k, v in w.items()}, run/'model.safetensors', metadata=meta)
    (out/'cells'/folder.name.removesuffix('-s0')/'s0'/'store.json').unlink()
    r = latentlab('experiment', 'ci', '--out', out, '--quiet', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(stamp.read_text())['sha256'] == sha256(run/'model.safetensors')
    assert not np.allclose(np.array(Store(folder/'native').x[:200]), old)

def test_verdicts_on_a_made_up_summary():
    "The answers' verdicts (the 2× and 5% targets, seeing the future, the VAE) on numbers chosen to give each one."
    from latentlab.experiment import answer_dual, answer_future, answer_vae
    def row(latent, kind='trained', bottleneck='ae', causal=True, dual=None, part=None, bits=None, recon=None, nll=None):
        r = dict(latent=latent, kind=kind, bottleneck=bottleneck, causal=causal, objective='none', lam=0., seeds=3, dual=dual, part=part)
        for key, v in dict(bits_per_s=bits, recon_db=recon, plain_nll_dim=nll).items():
            if v is not None: r |= {key: v[0], f'{key}_lo': v[1], f'{key}_hi': v[2]}
        return r
    s = pd.DataFrame([row('ae', bits=(300, 290, 310), recon=(5.0, 4.9, 5.1), nll=(0.5, 0.45, 0.55)),
                      row('ae-future', causal=False, bits=(300, 290, 310), recon=(4.0, 3.9, 4.1), nll=(0.8, 0.75, 0.85)),
                      row('vae', bottleneck='vae', nll=(0.51, 0.46, 0.56), recon=(5.0, 4.9, 5.1)),
                      row('res z_dyn', 'dual', dual='residual', part='z_dyn', bits=(100, 95, 105)),       # 3× cheaper
                      row('res pair', 'dual', dual='residual', part='pair', recon=(5.05, 5.0, 5.1)),      # +1%, at most +4%
                      row('par z_dyn', 'dual', dual='parallel', part='z_dyn', bits=(200, 190, 210)),      # 1.5× cheaper
                      row('par pair', 'dual', dual='parallel', part='pair', recon=(6.0, 5.9, 6.1)),       # +20%
                      row('hier z_dyn', 'dual', dual='hierarchical', part='z_dyn', bits=(150, 0, 300)),  # up to infinitely cheaper
                      row('hier pair', 'dual', dual='hierarchical', part='pair', recon=(5.0, 4.9, 5.1))])
    dual = answer_dual(s)
    res = next(l for l in dual if l.startswith('residual against ae:'))
    assert 'single latent 300 [290, 310], 3.00× [2.76, 3.26] z_dyn\'s (meets the 2× target)' in res and '(within the 5% target)' in res, res
    par = next(l for l in dual if l.startswith('parallel against ae:'))
    assert '1.50× [1.38, 1.63] z_dyn\'s (misses the 2× target)' in par and '+20.0% [+15.7%, +24.5%] (not within the 5% target)' in par, par
    hier = next(l for l in dual if l.startswith('hierarchical against ae:'))
    assert "2.00× [0.97, ∞] z_dyn's (cannot tell against the 2× target)" in hier, hier
    future = answer_future(s)
    assert len(future) == 2 and future[0].startswith('ae-future: AR NLL/dim 0.800 [0.750, 0.850] vs causal 0.500') and '(higher)' in future[0]
    assert future[0].endswith('reconstruction 4.00 [3.90, 4.10] vs causal 5.00 [4.90, 5.10] dB (lower).'), future
    assert future[1].startswith('Seeing the future made the latents harder for a causal AR model in 1 of 1 comparisons and easier in 0'), future
    vae = answer_vae(s)
    assert '(no different)' in vae[0] and vae[-1].startswith('The VAE bottleneck lowered the AR NLL in 0 of 1 comparisons: no evidence'), vae

@needs_real
def test_large_preset_plans_its_jobs(tmp_path):
    "The GPU preset, never run here, parses and plans: a training job per trained row and seed, and extraction jobs to shard."
    from latentlab.experiment import experiment_rows, load_config
    cfg = load_config('large')
    r = latentlab_here('experiment', 'large', '--plan', '--out', tmp_path/'large')
    assert r.returncode == 0, r.stderr[-2000:]
    jobs = r.stdout.splitlines()
    rows = experiment_rows(cfg)                  # a dual's two rows (z_dyn, the pair) share one encoder
    runs = len([r for r in rows if r.kind == 'trained']) + len({json.dumps(r.setting, sort_keys=True) for r in rows if r.kind == 'dual'})
    assert sum(j.startswith('latentlab train-encoder') for j in jobs) == runs * len(cfg.seeds) == (21 + 2 + 3) * 3
    assert sum('causal=False' in j.split() for j in jobs if j.startswith('latentlab train-encoder')) == 2 * 3   # the encoders that see the future
    assert all(j.endswith('--shard $I/$N') for j in jobs if j.startswith('latentlab extract'))
    assert {'bottleneck=vae', 'bottleneck=fsq'} <= {w for j in jobs for w in j.split()}
    pairs = sum(r.part == 'pair' for r in rows)                   # a dual's pair shares its z_dyn row's job
    assert sum(' --row ' in j for j in jobs) == len(rows) - pairs and jobs[-1] == f"latentlab experiment large --out {tmp_path/'large'}"
