"Geometry through the command line: `latentlab report` and `latentlab compare` write pages whose figures draw."
import subprocess, sys
import numpy as np, pytest
from conftest import LATENTLAB, ROOT
from latentlab.measure.geometry import geometry, geometry_table
from latentlab.measure.core import Condition
from latentlab.catalogue import switching_walk_store

@pytest.fixture(scope='module')
def walks(tmp_path_factory):
    d = tmp_path_factory.mktemp('walks')
    return switching_walk_store(d/'modes', speakers=4, utts=20), switching_walk_store(d/'rw', speakers=4, utts=20, modes=1)

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
        sys.path.insert(0, str(ROOT/'tools')); import check_docs
        if check_docs.chromium(): assert check_docs.rendered_dom(check_docs.chromium(), out).count('class="main-svg"') >= 10

def test_report_on_a_missing_store_says_what_to_do(tmp_path):
    r = subprocess.run([LATENTLAB, 'report', str(tmp_path/'nothing'), '--out', str(tmp_path/'r.html')], capture_output=True, text=True)
    assert r.returncode == 2 and 'give a store folder' in r.stderr and not (tmp_path/'r.html').exists()
