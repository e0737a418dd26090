"The real LibriSpeech speech in ../shared loads unchanged through both folder readers and makes a store."
import numpy as np
from conftest import REAL, needs_real
from latentlab.data.corpora import folder_corpus, librispeech_corpus, load_corpus
from latentlab.encoders import LogMel
from latentlab.store import Store, extract

pytestmark = needs_real

def test_librispeech_layout_reads_all_speakers():
    utts = librispeech_corpus(REAL/'librispeech')
    assert len(utts) == 351 and len({u.speaker for u in utts}) == 261
    assert all(u.transcript is None for u in utts)       # this copy has no *.trans.txt
    assert load_corpus(str(REAL/'librispeech'))[0].id == utts[0].id

def test_folder_reader_with_speaker_regex():
    utts = folder_corpus(REAL/'librispeech'/'test-other', speaker_regex=r'^(\d+)/')
    assert len(utts) == 100 and len({u.speaker for u in utts}) == 10

def test_real_store_with_speaker_split(tmp_path):
    utts = [u for u in librispeech_corpus(REAL/'librispeech'/'test-other')][::5]   # 2 utterances per speaker
    meta = extract(utts, LogMel(device='cpu'), tmp_path/'s', corpus='test-other', progress=False)
    store = Store(tmp_path/'s')
    assert meta['skipped'] == [] and len(store) == 20
    assert store.index.groupby('speaker').split.nunique().max() == 1
    assert (store.index.split == 'heldout').groupby(store.index.speaker).first().sum() in (2, 3)
    audio = utts[0].load(24000)
    assert abs(store.index.duration_s[0] - len(audio) / 24000) < 1e-9 and store.index.n_frames[0] == -(-len(audio) // 1920)
    assert np.isfinite(store.x).all()
