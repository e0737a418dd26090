"The `latentlab` command as a user runs it: extract, info, resume, shards, and errors that say what to do."
import json, os, signal, subprocess, time
from pathlib import Path
import pandas as pd, pytest
from conftest import LATENTLAB, latentlab_here
from latentlab.store import Store

def run(*args, **kw):
    return subprocess.run([LATENTLAB, *map(str, args)], capture_output=True, text=True, timeout=600, **kw)

CORPUS = 'espeak:speakers=6,utts=8'

def extract_args(out, *extra): return ['extract', '--corpus', CORPUS, '--encoder', 'logmel', '--out', out, '--part-size', '3', '--quiet', *extra]

def same_store(a, b):
    "Two stores hold the same bytes of latents and labels and the same index and meta."
    sa, sb = Store(a), Store(b)
    assert (Path(a)/'latents.npy').read_bytes() == (Path(b)/'latents.npy').read_bytes()
    assert (Path(a)/'phones.npy').read_bytes() == (Path(b)/'phones.npy').read_bytes()
    pd.testing.assert_frame_equal(sa.index, sb.index)
    assert sa.meta == sb.meta

@pytest.fixture(scope='module')
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp('whole')/'store'
    r = run(*extract_args(out))
    assert r.returncode == 0, r.stderr
    return out

def test_extract_and_info(whole):
    r = run('info', whole, '--json')
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert (info['utterances'], info['speakers'], info['dim'], info['frame_rate']) == (48, 6, 80, 12.5)
    assert info['splits']['heldout']['speakers'] == 2 and info['splits']['train']['speakers'] == 4
    text = run('info', whole).stdout
    assert 'utterances   48' in text and 'heldout' in text

def test_rerun_of_a_finished_store_changes_nothing(whole):
    before = (whole/'meta.json').read_bytes()
    r = run(*extract_args(whole))
    assert r.returncode == 0 and (whole/'meta.json').read_bytes() == before

def n_parts_done(out) -> int:
    try: return sum(1 for f in os.listdir(out/'parts') if f.endswith('.json'))
    except FileNotFoundError: return 0

def test_killed_run_resumes_to_the_same_store(tmp_path):
    "SIGKILL a full-size (seeded random) Mimi extraction after its first part; the re-run finishes the same store."
    args = lambda out: ['extract', '--corpus', 'espeak:speakers=2,utts=3', '--encoder', 'mimi', '--weights', 'random',
                        '--out', out, '--part-size', '1', '--quiet']
    assert run(*args(tmp_path/'whole')).returncode == 0
    out = tmp_path/'killed'
    p = subprocess.Popen([LATENTLAB, *map(str, args(out))], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while n_parts_done(out) < 1:
        assert time.time() < deadline and p.poll() is None, "the run ended before it could be killed"
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL); p.wait()
    assert not (out/'meta.json').exists() and 1 <= n_parts_done(out) < 6, "killed part-way"
    r = run(*args(out))
    assert r.returncode == 0, r.stderr
    same_store(out, tmp_path/'whole')
    assert not (out/'parts').exists()
    assert not list(out.glob('.*.tmp')), "no temporary files left behind"

def test_shards_join_to_the_same_store(whole, tmp_path):
    out = tmp_path/'store'
    r0 = run(*extract_args(out, '--shard', '0/2'))
    assert r0.returncode == 0 and 'shard 0/2 done' in r0.stdout and not (out/'meta.json').exists()
    r1 = run(*extract_args(out, '--shard', '1/2'))
    assert r1.returncode == 0 and (out/'meta.json').exists()
    same_store(out, whole)

def test_other_settings_into_the_same_store_are_refused(whole):
    r = latentlab_here('extract', '--corpus', CORPUS, '--encoder', 'logmel:frame_rate=25', '--out', whole, '--part-size', '3', '--quiet')
    assert r.returncode == 2 and 'encoder_config' in r.stderr and 'Fix:' in r.stderr

def test_missing_weights_say_how_to_get_them(tmp_path):
    r = run('extract', '--corpus', 'espeak:speakers=1,utts=1', '--encoder', 'mimi', '--out', tmp_path/'s', '--quiet',
            env={**os.environ, 'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 2
    assert "kyutai/mimi" in r.stderr and 'hf download kyutai/mimi --local-dir DIR' in r.stderr and 'HF_HUB_OFFLINE=1' in r.stderr
    r = run('extract', '--corpus', 'espeak:speakers=1,utts=1', '--encoder', 'dac', '--weights', tmp_path, '--out', tmp_path/'s', '--quiet')
    assert r.returncode == 2 and 'config.json and model.safetensors' in r.stderr

def test_unfinished_or_missing_store(tmp_path):
    r = latentlab_here('info', tmp_path/'nothing')
    assert r.returncode == 2 and 'latentlab extract' in r.stderr
    (tmp_path/'half').mkdir(); (tmp_path/'half'/'plan.json').write_text('{}')
    r = latentlab_here('info', tmp_path/'half')
    assert r.returncode == 2 and 're-run the same' in r.stderr

def test_bad_corpus_and_shard(tmp_path):
    assert 'no such folder' in latentlab_here('extract', '--corpus', tmp_path/'nope', '--out', tmp_path/'s').stderr
    empty = tmp_path/'empty'; empty.mkdir()
    assert 'no audio files' in latentlab_here('extract', '--corpus', empty, '--out', tmp_path/'s').stderr
    assert 'need 0 <= i < n' in latentlab_here('extract', '--out', tmp_path/'s', '--shard', '2/2').stderr

# Issue 9: `--help` answers at once, says what each command writes and where its columns are described.
def test_help_imports_nothing_heavy_and_is_fast():
    import sys, time
    code = ("import sys; from latentlab.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'faiss', 'sklearn', 'plotly', 'pandas', 'transformers') if m in sys.modules))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.strip().endswith('[]'), r.stdout + r.stderr              # the commands import what they call
    start = time.time()
    assert run('--help').returncode == 0
    assert time.time() - start < 1.5                                           # 2.8 s when everything was imported

def test_version():
    from latentlab import __version__
    r = run('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'latentlab {__version__}'

def test_help_texts_name_settings_outputs_and_columns():
    words = lambda *args: ' '.join(run(*args).stdout.split())                 # help, its line breaks undone
    extract = words('extract', '--help')
    assert 'padded to the longest' in extract and 'lower it if memory runs out' in extract      # --batch-size
    assert 'float16 halves the disk' in extract and '65504' in extract                          # --dtype
    assert 'seed of the split into training and held-out speakers' in extract                   # --seed
    assert 'latents.npy' in extract and 'store.html' in extract                                 # what it writes
    info = words('info', '--help')
    assert 'one JSON object' in info and 'splits' in info                                       # info --json
    phase0 = words('phase0', '--help')
    assert 'seed of every random choice' in phase0                                              # --seed
    for output in ('standard output', '--out OUT', '--report PAGE', '--figures DIR', 'DIR/phase0.svg'):
        assert output in phase0, output
    assert 'measure/reports.html#the-columns-of-the-phase-0-table' in phase0
    assert '--plotly {inline,cdn}' in phase0
    for command in ('report', 'compare'):
        text = words(command, '--help')
        assert '--out PAGE' in text and 'contexts-STORE' in text and 'measure/geometry.html' in text
        assert '--plotly {inline,cdn}' in text and '--figures DIR' in text

def test_a_bad_plotly_choice_is_refused_before_any_work(tmp_path):
    r = run('report', 'walk', '--out', tmp_path/'r.html', '--plotly', 'online')
    assert r.returncode == 2 and "invalid choice: 'online'" in r.stderr and not (tmp_path/'r.html').exists()
