"Each encoder, through a whole store: the three codecs on small random configs, and their real loading path."
import numpy as np, pytest, torch
from latentlab.data.corpora import espeak_corpus
from latentlab.encoders import CODECS, WeightsError, load_codec_model, load_encoder, small_codec_config
from latentlab.store import Store, extract

@pytest.mark.parametrize('kind', list(CODECS))
def test_codec_store(kind, tmp_path):
    enc = load_encoder(kind, config=small_codec_config(kind), device='cpu')
    utts = espeak_corpus(n_speakers=2, n_utts=2)
    meta = extract(utts, enc, tmp_path/'s', corpus='espeak:speakers=2,utts=2', batch_size=3, progress=False)
    store = Store(tmp_path/'s')
    assert store.x.shape == (meta['n_frames'], enc.dim) and meta['frame_rate'] == enc.frame_rate
    assert np.isfinite(store.x).all() and store.x.std() > 0
    alone = enc.encode([utts[2].load(enc.sample_rate)])[0]
    np.testing.assert_allclose(store.utt(utts[2].id), alone, atol=1e-4)
    expected = {u.id: -(-len(u.load(enc.sample_rate)) // round(enc.sample_rate / enc.frame_rate)) for u in utts}
    assert store.index.set_index('utt').n_frames.to_dict() == expected

def test_saved_codec_loads_from_a_local_folder(tmp_path):
    "The code path of real checkpoints: save_pretrained, then load by folder, gives the same latents."
    torch.manual_seed(0)
    model = load_codec_model('mimi', config=small_codec_config('mimi'))
    model.save_pretrained(tmp_path/'mimi')
    enc = load_encoder('mimi', weights=str(tmp_path/'mimi'), device='cpu')
    audio = [np.random.default_rng(0).standard_normal(24000).astype(np.float32) * 0.1]
    ref = load_encoder('mimi', config=small_codec_config('mimi'), device='cpu')
    ref.model.load_state_dict(model.state_dict())
    np.testing.assert_allclose(enc.encode(audio)[0], ref.encode(audio)[0], atol=1e-5)
    assert enc.config['weights'] == str(tmp_path/'mimi') and enc.dim == 32 and enc.frame_rate == 12.5

def test_hub_id_offline_fails_fast_with_the_fix():
    with pytest.raises(WeightsError, match='hf download facebook/encodec_24khz'): load_codec_model('encodec')

def test_float16_store(tmp_path):
    utts = espeak_corpus(n_speakers=2, n_utts=1)
    enc = load_encoder('logmel', device='cpu')
    extract(utts, enc, tmp_path/'s', dtype='float16', progress=False)
    store = Store(tmp_path/'s')
    assert store.x.dtype == np.float16 and store.meta['dtype'] == 'float16'
    np.testing.assert_allclose(store.utt(0), enc.encode([utts[0].load(24000)])[0], rtol=1e-3, atol=1e-2)
