"The Phase 0 probe: known answers, agreement with the definition, held-out behaviour, boundaries, bad input."
import json, subprocess, sys
import numpy as np, pandas as pd, pytest
from conftest import LATENTLAB, ROOT, latentlab_here
from latentlab.measure import probe
from latentlab.measure.core import Condition, ProbeError, context_frames
from latentlab.measure.probe import clusters, variance_ratio
from latentlab.store import Store, write_store
from latentlab.catalogue import switching_walk_store

def row(table, method='lookup', split='heldout', **where) -> pd.Series:
    t = table[(table.method == method) & (table.split == split)]
    for k, v in where.items(): t = t[t[k] == v]
    assert len(t) == 1, t
    return t.iloc[0]

@pytest.fixture(scope='module')
def walk(tmp_path_factory):
    "Four sticky modes: 0.480 of the next step's variance is left once the previous mode is known."
    return switching_walk_store(tmp_path_factory.mktemp('walk')/'s', speakers=8, utts=80, seed=1)

@pytest.fixture(scope='module')
def random_walk(tmp_path_factory):
    return switching_walk_store(tmp_path_factory.mktemp('rw')/'s', speakers=8, utts=60, modes=1, seed=2)

def test_recovers_the_known_ratio_held_out(walk):
    known = walk.meta['known_ratio']
    assert abs(known - 0.4803) < 1e-3
    t = variance_ratio(walk, [Condition(L=2, coarsener='delta', K=4)], refs=False, n_boot=300)
    held, ins = row(t), row(t, split='train')
    assert held.n_frames > 15_000
    assert abs(held.ratio - known) < 0.01 and abs(ins.ratio - known) < 0.01
    assert held.lo < held.ratio < held.hi and held.hi - held.lo < 0.04
    assert row(t, 'random').ratio > 0.99 and held.gain_lo > 0.45

def test_random_walk_gives_the_random_baseline(random_walk):
    K = 32
    t = variance_ratio(random_walk, [Condition(L=2, coarsener='delta', K=K)], refs=False, n_boot=300)
    ins, rand = row(t, split='train'), row(t, 'random', split='train')
    expected = 1 - (K - 1) / (ins.n_frames - 1)               # E[within/total] for any K clusters of random targets
    assert abs(rand.ratio - expected) < 0.002 and abs(ins.ratio - expected) < 0.004
    assert ins.gain_lo < 0.003                                 # not reliably better than random
    held = row(t)
    assert abs(held.ratio - row(t, 'random').ratio) < 0.01 and held.ratio > 1   # held out, clusters only add noise

def test_in_sample_agrees_with_numpy_to_1e6(walk):
    cond = Condition(L=3, coarsener='mean', d=4, K=16, target='dx_std')
    t = variance_ratio(walk, [cond], refs=False, n_boot=10)
    frames, labels = clusters(walk, cond)
    x = np.asarray(walk.x, np.float64)
    y, train = x[frames] - x[frames - 1], walk.frames('train')[frames]
    y = y[train] / (y[train].std(0))                          # scaling by the training std (sampled = all here)
    lab = labels[train]
    within = sum(((y[lab == k] - y[lab == k].mean(0))**2).sum() for k in np.unique(lab))
    assert abs(row(t, split='train').ratio - within / ((y - y.mean(0))**2).sum()) < 1e-6

def test_held_out_rises_with_K_where_in_sample_falls(random_walk):
    conds = [Condition(L=2, coarsener='delta', K=K) for K in (4, 32, 256)]
    t = variance_ratio(random_walk, conds, refs=False, n_boot=10)
    ins = [row(t, split='train', K=c.K).ratio for c in conds]
    held = [row(t, K=c.K).ratio for c in conds]
    assert ins[0] > ins[1] > ins[2] and held[0] < held[1] < held[2]

def test_contexts_never_cross_utterance_boundaries(tmp_path):
    rng = np.random.default_rng(0)
    n = rng.integers(1, 30, 60)                                # some utterances too short to probe at all
    index = pd.DataFrame(dict(utt=[f'u{i}' for i in range(60)], speaker=[f's{i % 6}' for i in range(60)],
                              split=['heldout' if i % 6 == 0 else 'train' for i in range(60)], n_frames=n, duration_s=n / 12.5))
    blocks = [1000. * i + np.cumsum(rng.standard_normal((k, 3)), 0) for i, k in enumerate(n)]   # far apart
    write_store(tmp_path/'s', index, blocks, np.zeros(n.sum()), dict(dim=3, dtype='float64', frame_rate=12.5,
                encoder='test', corpus='test', phones=[], skipped=[]))
    store = Store(tmp_path/'s')
    L = 4
    frames = context_frames(store.bounds, L)
    utt = np.searchsorted(store.bounds, frames, side='right') - 1
    assert (frames - L >= store.bounds[utt]).all() and len(frames) == np.maximum(n - L, 0).sum()
    cond = Condition(L=L, coarsener='last', K=4)
    one = variance_ratio(store, [cond], n_boot=50)
    many = variance_ratio(store, [cond], n_boot=50, chunk_frames=7)        # chunks of a few utterances each
    pd.testing.assert_frame_equal(one, many, rtol=1e-9)
    assert row(one, 'lookup', 'train').ratio < 1.5                     # a crossing would bring a step of ~1000
    assert row(one, 'lookup', 'train').n_frames == np.maximum(n - L, 0)[index.split == 'train'].sum()

def test_results_are_kept_and_resumed(walk, tmp_path, monkeypatch):
    a, b = Condition(L=2, coarsener='delta', K=4), Condition(L=2, coarsener='last', K=8)
    first = variance_ratio(walk, [a], refs=False, n_boot=20, cache=tmp_path)
    computed = []
    original = probe.lookup_rows
    monkeypatch.setattr(probe, 'lookup_rows', lambda data, conds, *args: computed.extend(conds) or original(data, conds, *args))
    both = variance_ratio(walk, [a, b], refs=False, n_boot=20, cache=tmp_path)
    assert computed == [b]
    pd.testing.assert_frame_equal(both[both.condition == a.name].reset_index(drop=True), first)

def test_bad_input_gets_a_clear_error(tmp_path, walk):
    with pytest.raises(ProbeError, match='no training utterance is longer than L=200'):
        variance_ratio(walk, [Condition(L=200, K=4)], refs=False)
    with pytest.raises(ProbeError, match=r'K=100000 clusters from \d+ training contexts is .* per cluster.*Fix: K <='):
        variance_ratio(walk, [Condition(L=2, K=100_000)], refs=False, fit_frames=10**6)
    x = np.asarray(walk.x).copy(); x[walk.bounds[7] + 3, 1] = np.nan
    index = walk.index.drop(columns='offset')
    write_store(tmp_path/'nan', index, [x], np.asarray(walk.phones), dict(walk.meta))
    with pytest.raises(ProbeError, match=f"utterance {walk.index.utt[7]} has NaN or infinite latents \\(frame 3\\).*re-extract"):
        variance_ratio(tmp_path/'nan', [Condition(L=2, K=4)], refs=False)
    r = latentlab_here('phase0', tmp_path/'nan', '--quiet')
    assert r.returncode == 2 and 'NaN or infinite latents' in r.stderr and 'Traceback' not in r.stderr
    r = latentlab_here('phase0', walk.path, '--grid', 'L=2 K=4 colour=red')
    assert r.returncode == 2 and 'keys L, coarsener, d, K' in r.stderr

def test_cli_json_out_and_report(walk, tmp_path):
    out, report = tmp_path/'t.parquet', tmp_path/'r.html'
    r = subprocess.run([LATENTLAB, 'phase0', str(walk.path), '--preset', 'sweep', '--boot', '50', '--quiet', '--json',
                        '--out', str(out), '--report', str(report)], capture_output=True, text=True, check=True)
    table = pd.DataFrame(json.loads(r.stdout))
    assert set(table.method) == {'lookup', 'random', 'ridge', 'knn'} and set(table.K[table.method == 'lookup']) == {4, 16, 64, 256}
    pd.testing.assert_frame_equal(pd.read_parquet(out), table, check_dtype=False)
    assert not (tmp_path/'t.parquet.parts').exists()
    html = report.read_text()
    assert 'concat(4)→PCA(8)→VQ(256)' in html and html.count('class="plotly-graph-div"') == 1 and 'lookup-friendly' in html
    sys.path.insert(0, str(ROOT/'tools')); import check_docs
    if check_docs.chromium():                                  # the figure is drawn, offline
        assert check_docs.rendered_dom(check_docs.chromium(), report).count('class="main-svg"') >= 2
