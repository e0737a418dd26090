"Geometry through the command line: `latentlab report` and `latentlab compare` write pages whose figures draw."
import re, subprocess, sys
import numpy as np, pytest
from conftest import LATENTLAB, ROOT, latentlab_here
from latentlab.measure.geometry import geometry, geometry_table
from latentlab.measure.core import Condition
from latentlab.catalogue import switching_walk_store

@pytest.fixture(scope='module')
def walks(tmp_path_factory):
    d = tmp_path_factory.mktemp('walks')
    return (switching_walk_store(d/'modes', speakers=4, utts=20),
            switching_walk_store(d/'rw', speakers=4, utts=12, modes=1))      # smaller: compared at equal n

def test_known_answers_on_the_walks(walks):
    modes, rw = walks
    t = geometry_table({'modes': geometry(modes, Condition(L=2, coarsener='delta', K=4)),
                        'random walk': geometry(rw, Condition(L=2, coarsener='delta', K=4))})
    assert abs(t.loc['dx within clusters: variance ratio', 'modes'] - modes.meta['known_ratio']) < 0.04
    assert abs(t.loc['dx within clusters: variance ratio', 'random walk'] - 1) < 0.02
    assert abs(t.loc['turning cosine', 'random walk']) < 0.05 < t.loc['turning cosine', 'modes']
    assert t.loc['clusters vs labels: purity', 'modes'] > 0.98
    assert abs(t.loc['dx: participation ratio', 'random walk'] - 16) < 1.5       # isotropic steps in 16 dims

def test_report_and_compare_pages_draw(walks, tmp_path):
    modes, rw = walks
    for cmd, stores in [('report', [modes.path]), ('compare', [modes.path, rw.path])]:
        out = tmp_path/f'{cmd}.html'
        r = subprocess.run([LATENTLAB, cmd, *map(str, stores), '--out', str(out), '--boot', '50', '--quiet'],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        page = out.read_text()
        assert page.count('class="plotly-graph-div"') == 5 + len(stores) and 'intrinsic dimension' in page
        assert page.count(str(rw.path)) >= (cmd == 'compare')
        if cmd == 'compare':                                  # TwoNN grows with n: both stores on as many rows
            row = re.search(r'<th>TwoNN: rows sampled</th>\s*<td>(\d+)</td>\s*<td>(\d+)</td>', page)
            assert row and row.group(1) == row.group(2)
        sys.path.insert(0, str(ROOT/'tools')); import check_docs
        if check_docs.chromium(): assert check_docs.rendered_dom(check_docs.chromium(), out).count('class="main-svg"') >= 10

def test_report_on_a_missing_store_says_what_to_do(tmp_path):
    r = latentlab_here('report', tmp_path/'nothing', '--out', tmp_path/'r.html')
    assert r.returncode == 2 and 'give a store folder' in r.stderr and not (tmp_path/'r.html').exists()

# Issue 14: each measure against a peer library or the textbook formula, on data whose answer is known.
from latentlab.measure import geometry as G

def test_nmi_has_a_chance_corrected_ami_beside_it():
    from sklearn.metrics import adjusted_mutual_info_score
    rng = np.random.default_rng(0)
    clusters, labels = rng.integers(0, 64, 2000), rng.integers(0, 40, 2000)    # independent: no structure
    structure = G.label_structure(clusters, labels)
    assert structure['nmi'] > 0.1                                              # NMI reads chance as structure
    assert abs(structure['ami'] - adjusted_mutual_info_score(labels, clusters)) < 1e-9
    assert abs(structure['ami']) < 0.02

def test_speaker_share_has_utterance_share_and_shuffled_baseline():
    rng = np.random.default_rng(0)
    utts = np.repeat(np.arange(60), 50)                                       # 60 utterances of 50 frames
    speakers = np.arange(60)[utts] % 6                                        # 6 speakers, 10 utterances each
    x = rng.standard_normal((60, 4))[utts] + 0.3 * rng.standard_normal((3000, 4))   # utterance effects only
    shares = G.speaker_structure(x, speakers, utts)
    assert shares['utterance_share'] > 0.85
    assert shares['speaker_share'] > 0.05                                     # speaker η² is inflated...
    assert abs(shares['speaker_share'] - shares['shuffled_speaker_share']) < 0.1   # ...to its chance level

def test_autocorrelation_mean_over_dimensions_matches_statsmodels():
    from statsmodels.tsa.stattools import acf
    rng = np.random.default_rng(0)
    T, rho = 20_000, 0.9
    series = rng.standard_normal((T, 8))
    for t in range(1, T): series[t, 0] = rho * series[t - 1, 0] + series[t, 0]
    series[:, 0] *= 10 / series[:, 0].std()                                  # variance 100 beside 7 white dims
    autocorr = G.autocorrelation(series[None], max_lag=3)
    per_dim = np.mean([acf(series[:, j], nlags=3) for j in range(8)], axis=0)
    assert np.allclose(autocorr.r, per_dim, atol=0.01)                        # 0.11 at lag 1, not 0.84
    assert abs(autocorr.r_variance_weighted[1] - 0.84) < 0.02

def test_temporal_spectrum_is_welchs():
    from scipy.signal import welch
    rng = np.random.default_rng(0)
    white = rng.standard_normal((500, 16, 4))
    freq_hz, power = welch(white, fs=12.5, window='hann', nperseg=16, axis=1)
    power = power.mean((0, 2))
    spec = G.temporal_spectrum(white, 12.5)
    assert np.allclose(spec.freq_hz, freq_hz) and np.allclose(spec.power, power / power.sum())
    assert abs(G.high_frequency_share(spec, 12.5) - 0.5) < 0.04

def test_mode_bic_finds_three_and_six_modes():
    rng = np.random.default_rng(0)
    for k in (3, 6):
        centres = rng.standard_normal((k, 6)) * 10
        contexts = centres[rng.integers(0, k, 1500)] + rng.standard_normal((1500, 6))
        bic = G.mode_bic(contexts, d=6)
        assert int(bic.components[bic.bic.idxmin()]) == k

def test_twonn_drops_duplicate_rows():
    rng = np.random.default_rng(0)
    cube = (rng.random((5000, 5)) - 0.5) @ np.linalg.qr(rng.standard_normal((80, 5)))[0].T + 5 * rng.standard_normal(80)
    repeated = np.vstack([cube, cube[:500]])                                  # 10% repeated rows; read 1.54 before
    result = G.twonn(repeated)
    assert abs(result['dimension'] - G.twonn(cube)['dimension']) < 0.01 and result['duplicates'] == 500
    assert abs(result['dimension'] - 5) < 0.5

def test_twonn_names_its_estimator_and_matches_scikit_dimension():
    import skdim
    rng = np.random.default_rng(1)
    cube = rng.random((4000, 5))
    fit = G.twonn(cube, estimator='linear fit')
    assert fit['estimator'] == 'linear fit' and fit['n'] == 4000
    assert abs(fit['dimension'] - skdim.id.TwoNN().fit(cube).dimension_) < 0.05
    assert G.twonn(cube)['estimator'] == 'maximum likelihood'

def test_entropy_rank_says_it_is_of_eigenvalues():
    assert 'eigenvalue' in G.GEOMETRY_LABELS['x_eigenvalue_entropy_rank']
    assert 'x_entropy_rank' not in G.GEOMETRY_LABELS
