"A corpus with every kind of bad file: the bad ones are skipped with a reason naming the file, the rest are stored."
import numpy as np, soundfile as sf, pytest
from latentlab.data.corpora import folder_corpus
from latentlab.encoders import LogMel
from latentlab.store import Store, extract

@pytest.fixture
def messy(tmp_path):
    d = tmp_path/'corpus'/'alice'; d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    speech = lambda sec, sr: (0.1 * rng.standard_normal(int(sec * sr))).astype(np.float32)
    sf.write(d/'good.wav', speech(1.0, 24000), 24000)
    sf.write(d/'stereo.flac', np.stack([speech(1.0, 16000)] * 2, axis=1), 16000)
    sf.write(d/'rate44k.ogg', speech(1.0, 44100), 44100)
    (d/'empty.wav').write_bytes(b'')
    (d/'corrupt.flac').write_bytes(b'fLaC' + bytes(64))
    sf.write(d/'nan.wav', np.array([0.1, np.nan] * 4000, np.float32), 16000, subtype='FLOAT')
    sf.write(d/'short.wav', speech(0.02, 16000), 16000)
    return tmp_path/'corpus'

def test_bad_files_are_skipped_with_reasons(messy, tmp_path):
    enc = LogMel(device='cpu')
    meta = extract(folder_corpus(messy), enc, tmp_path/'store', corpus=str(messy), progress=False)
    store = Store(tmp_path/'store')
    assert sorted(store.index.utt) == ['alice/good', 'alice/rate44k', 'alice/stereo']
    reasons = {s['utt']: s['error'] for s in meta['skipped']}
    assert sorted(reasons) == ['alice/corrupt', 'alice/empty', 'alice/nan', 'alice/short']
    for utt, err in reasons.items(): assert f'{utt.split("/")[1]}.' in err and 'Fix:' in err
    assert 'NaN' in reasons['alice/nan'] and 'shorter than one frame' in reasons['alice/short']
    assert store.index.set_index('utt').n_frames.to_dict() == {'alice/good': 13, 'alice/rate44k': 13, 'alice/stereo': 13}

def test_nan_latents_are_skipped(tmp_path):
    "An encoder that returns NaN for one utterance: that utterance is skipped, named, and the rest stored."
    from latentlab.data.corpora import espeak_corpus
    class Flaky(LogMel):
        def encode(self, audios):
            zs = super().encode(audios)
            return [z * np.nan if len(a) == max(map(len, audios)) else z for z, a in zip(zs, audios)]
    utts = espeak_corpus(n_speakers=2, n_utts=2)
    meta = extract(utts, Flaky(device='cpu'), tmp_path/'s', batch_size=4, progress=False)
    assert len(meta['skipped']) == 1 and 'NaN or infinite latents' in meta['skipped'][0]['error']
    assert meta['n_utts'] == 3
