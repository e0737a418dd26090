"Defects a new user hit in `latentlab phase0` and its pages, each checked as the user met it."
import subprocess
import numpy as np, pandas as pd, pytest
from conftest import LATENTLAB, latentlab_here
from latentlab import cli
from latentlab.measure.core import Condition, ProbeError
from latentlab.measure.probe import variance_ratio
from latentlab.store import write_store
from latentlab.catalogue import switching_walk_store

def phase0(*args):
    return subprocess.run([LATENTLAB, 'phase0', *map(str, args), '--quiet', '--boot', '50'], capture_output=True,
                          text=True, timeout=600)

@pytest.fixture(scope='module')
def walk(tmp_path_factory):
    return switching_walk_store(tmp_path_factory.mktemp('walk')/'s', speakers=4, utts=20, seed=3)

@pytest.mark.parametrize('grid, says', [('K=6a', "K='6a' is not a whole number"),
                                        ('L=4,K=64', "'L=4,K=64' holds two settings; separate them with a space"),
                                        ('L=2 colour=red', "'colour=red' is not key=values with a known key")])
def test_a_bad_grid_names_the_key_and_value_and_shows_the_grammar(walk, grid, says):
    r = latentlab_here('phase0', walk.path, '--grid', grid, '--quiet')
    assert r.returncode == 2 and says in r.stderr and "a grid reads 'key=v1,v2 key=v1,...'" in r.stderr
    assert 'invalid literal' not in r.stderr and 'Traceback' not in r.stderr

def test_the_target_is_named_in_every_table_and_figure(walk, tmp_path):
    r = phase0(walk.path, '--target', 'x', '--report', tmp_path/'x.html')
    assert r.returncode == 0, r.stderr
    assert 'target x (the next frame)' in r.stdout and 'the next step' not in r.stdout
    seeds = r.stdout.split('\n\n')[0]
    assert '\nx      train' in seeds and '\ndx' not in seeds                # the seed table's rows name the target
    page = (tmp_path/'x.html').read_text()
    assert 'variance ratio of x given the coarse context' in page and 'of the next step' not in page
    assert '(full(4)) [x]' in page                                         # reference lines name their target
    both = phase0(walk.path, '--grid', 'L=2 coarsener=delta K=4 target=dx,x')
    lines = [line for line in both.stdout.splitlines() if 'delta(2)→VQ(4)' in line or line.startswith(' ')]
    assert both.returncode == 0 and any(' dx ' in line for line in lines) and any(' x ' in line for line in lines)

def test_default_output_shows_dx_and_x_side_by_side(walk):
    r = phase0(walk.path, '--no-refs')
    assert r.returncode == 0, r.stderr
    seeds = r.stdout.split('\n\n')[0]
    assert 'target dx (the next step), x (the next frame)' in seeds
    assert '\ndx     train' in seeds and '\nx      train' in seeds and seeds.count('heldout') == 2

def tiny_store(path, n_speakers, n_utts, n_frames, dim=4):
    rng = np.random.default_rng(0)
    n = len(utts := [(f's{s}', f's{s}-{u}') for s in range(n_speakers) for u in range(n_utts)])
    split = ['heldout' if int(spk[1:]) == 0 and n_speakers > 1 else 'train' for spk, _ in utts]
    index = pd.DataFrame(dict(utt=[u for _, u in utts], speaker=[s for s, _ in utts], split=split,
                              n_frames=[n_frames] * n, duration_s=[n_frames / 12.5] * n))
    blocks = [np.cumsum(rng.standard_normal((n_frames, dim)), 0).astype(np.float32) for _ in range(n)]
    write_store(path, index, blocks, np.full(n * n_frames, -1), dict(dim=dim, dtype='float32', frame_rate=12.5,
                encoder='test', corpus='test', phones=[], skipped=[]))
    return path

def test_degenerate_K_is_refused_with_the_reason(tmp_path):
    store = tiny_store(tmp_path/'s', n_speakers=4, n_utts=8, n_frames=31)   # 3 training speakers: 24 × 27 = 648
    with pytest.raises(ProbeError, match=r'K=650 clusters from 648 training contexts is 1\.0 per cluster.*K <= 64'):
        variance_ratio(store, [Condition(L=4, K=650)], refs=False, n_boot=10)
    r = phase0(store, '--grid', 'K=650')
    assert r.returncode == 2 and 'per cluster' in r.stderr and '-0.0000' not in r.stdout

def test_one_speaker_says_there_are_no_heldout_speakers(tmp_path):
    store = tiny_store(tmp_path/'one', n_speakers=1, n_utts=40, n_frames=40)
    r = phase0(store, '--grid', 'L=2 K=4', '--report', tmp_path/'one.html')
    assert r.returncode == 0, r.stderr
    assert 'no held-out ratios: every speaker of this store is in training' in r.stdout
    table = r.stdout.split('\n', 2)[2]
    assert 'nan' not in table.lower() and ' heldout ' not in table
    assert 'no held-out ratios' in (tmp_path/'one.html').read_text()

def test_only_user_errors_are_one_line_messages_a_bug_keeps_its_traceback(walk, monkeypatch, capsys):
    def broken(*args, **kwargs): raise ValueError('an internal mistake')
    monkeypatch.setattr('latentlab.measure.probe.variance_ratio', broken)
    assert cli.main(['phase0', str(walk.path), '--quiet']) == 1
    err = capsys.readouterr().err
    assert 'Traceback' in err and 'an internal mistake' in err and 'this is a bug in latentlab' in err
    assert cli.main(['phase0', str(walk.path), '--grid', 'K=6a']) == 2          # a user's mistake: one line
    err = capsys.readouterr().err
    assert err.startswith('latentlab: error:') and 'Traceback' not in err

def test_a_closed_pipe_is_not_called_a_bug(walk):
    r = subprocess.run(f"'{LATENTLAB}' phase0 '{walk.path}' --quiet --boot 20 --no-refs | head -1", shell=True,
                       capture_output=True, text=True, timeout=600)
    assert r.stdout.count('\n') == 1 and 'bug' not in r.stderr and 'Traceback' not in r.stderr
