"The coarseness explorer, driven through its widget controls without a browser."
import numpy as np, pytest
from latentlab.measure.core import Condition
from latentlab.measure.probe import variance_ratio
from latentlab.catalogue import switching_walk_store
from latentlab.widgets import CoarsenessExplorer

@pytest.fixture(scope='module')
def walk(tmp_path_factory): return switching_walk_store(tmp_path_factory.mktemp('w')/'s', speakers=8, utts=30, seed=3)

def test_controls_change_the_numbers_and_match_the_probe(walk):
    ex = CoarsenessExplorer(walk, L=2, coarsener='delta', d=0, K=4).wait()
    t = variance_ratio(walk, [Condition(L=2, coarsener='delta', K=4)], refs=False, n_boot=10)
    probe = t[(t.method == 'lookup') & (t.split == 'heldout')].ratio.item()
    assert abs(ex.values['lookup heldout'] - probe) < 0.005 and abs(probe - walk.meta['known_ratio']) < 0.02
    before = dict(ex.values)
    ex.controls['coarsener'].value = 'last'; ex.wait()
    assert ex.values != before and ex.values['lookup heldout'] > before['lookup heldout'] + 0.3
    labels = ex.ed.clusters[(2, 'last', 0, 4)]
    ex.controls['target'].value = 'dx_white'; ex.wait()
    assert ex.ed.clusters[(2, 'last', 0, 4)] is labels                   # a move of the target keeps the clusters
    assert ex.shown == ex.cond == Condition(L=2, coarsener='last', d=0, K=4, target='dx_white')
    assert list(ex.fig.data[3].x) == [4, 4]

def test_a_new_move_supersedes_the_curve(walk):
    ex = CoarsenessExplorer(walk, L=3, coarsener='mean', d=4, K=8)
    ex.controls['K'].value = 32; ex.controls['L'].value = 2
    ex.wait()
    assert ex.values['K'] == 32 and ex.shown == ex.cond and ex.cond.L == 2
    assert sorted(ex.curve(ex.cond)) == list(CoarsenessExplorer.Ks)       # the curve of the last setting is whole
    assert not np.isnan(ex.values['random heldout'])
