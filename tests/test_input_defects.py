"What a user gives that latentlab used to misread: mixed folders, mp3 files, unknown encoder options, missing weights."
import re, shutil
import numpy as np, soundfile as sf, pytest
from conftest import REAL, needs_real
from latentlab.cli import main
from latentlab.data.corpora import folder_corpus, load_corpus
from latentlab.encoders import EncoderError, WeightsError, load_codec_model, load_encoder
from latentlab.store import Store, extract, format_summary, store_summary

def noise(seconds:float, sample_rate:int, seed:int=0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sample_rate))).astype(np.float32)

@pytest.fixture
def mixed(tmp_path):
    "LibriSpeech-named flac files beside other audio: a renamed flac, a wav, an mp3, and an m4a nothing reads."
    root = tmp_path/'mixed'
    for speaker, chapter, n in [('19', '198', 2), ('26', '495', 1)]:
        chapter_dir = root/speaker/chapter; chapter_dir.mkdir(parents=True)
        for k in range(n): sf.write(chapter_dir/f'{speaker}-{chapter}-{k:04d}.flac', noise(1.0, 16000, k), 16000)
    (root/'19'/'198'/'19-198.trans.txt').write_text('19-198-0000 HELLO WORLD\n19-198-0001 AGAIN\n')
    (root/'alice').mkdir(); (root/'bob').mkdir()
    shutil.copy(root/'19'/'198'/'19-198-0000.flac', root/'alice'/'renamed.flac')
    sf.write(root/'alice'/'hello.wav', noise(1.0, 24000, 5), 24000)
    sf.write(root/'bob'/'song.mp3', noise(1.0, 24000, 6), 24000, format='MP3')
    (root/'bob'/'phone.m4a').write_bytes(b'\x00\x00\x00\x20ftypM4A ' + bytes(64))
    (root/'bob'/'notes.txt').write_text('not audio')
    return root

def test_a_mixed_folder_reads_every_audio_file(mixed):
    utts = load_corpus(str(mixed))
    got = {u.id: (u.speaker, u.reader, u.transcript) for u in utts}
    assert got == {'19-198-0000': ('19', 'librispeech', 'HELLO WORLD'), '19-198-0001': ('19', 'librispeech', 'AGAIN'),
                   '26-495-0000': ('26', 'librispeech', None), 'alice/renamed': ('alice', 'folder', None),
                   'alice/hello': ('alice', 'folder', None), 'bob/song': ('bob', 'folder', None),
                   'bob/phone': ('bob', 'folder', None)}

def test_a_mixed_store_counts_its_readers_and_names_what_it_skipped(mixed, tmp_path):
    from latentlab.encoders import LogMel
    meta = extract(load_corpus(str(mixed)), LogMel(device='cpu'), tmp_path/'s', corpus=str(mixed), progress=False)
    assert meta['readers'] == {'librispeech': 3, 'folder': 3}
    assert [s['utt'] for s in meta['skipped']] == ['bob/phone']
    error = meta['skipped'][0]['error']
    assert 'phone.m4a' in error and '.m4a' in error and 'Fix: convert it' in error
    store = Store(tmp_path/'s')
    assert store.index.set_index('utt').reader.to_dict()['bob/song'] == 'folder'
    summary = store_summary(store)
    assert summary['readers'] == {'librispeech': 3, 'folder': 3}
    assert 'readers      3 librispeech, 3 folder' in format_summary(summary)

def test_mp3_is_an_utterance_and_extracts(tmp_path):
    from latentlab.encoders import LogMel
    (tmp_path/'corpus'/'carol').mkdir(parents=True)
    sf.write(tmp_path/'corpus'/'carol'/'one.mp3', noise(1.0, 24000), 24000, format='MP3')
    utts = folder_corpus(tmp_path/'corpus')
    assert [(u.id, u.speaker) for u in utts] == [('carol/one', 'carol')]
    meta = extract(utts, LogMel(device='cpu'), tmp_path/'s', progress=False)
    assert meta['skipped'] == [] and meta['n_utts'] == 1
    assert 13 <= len(Store(tmp_path/'s').utt(0)) <= 14     # 1 s at 12.5 Hz; mp3 may pad a little

@needs_real
def test_real_librispeech_still_reads_as_librispeech():
    utts = load_corpus(str(REAL/'librispeech'))
    assert len(utts) == 351 and len({u.speaker for u in utts}) == 261
    assert {u.reader for u in utts} == {'librispeech'}

@needs_real
def test_real_speech_mixed_with_renamed_files(tmp_path):
    "Real LibriSpeech files, some renamed and one as wav: every one is an utterance, by the reader its name says."
    real = sorted((REAL/'librispeech').rglob('*.flac'))[:6]
    for flac in real[:4]: (tmp_path/flac.parent.name).mkdir(exist_ok=True); shutil.copy(flac, tmp_path/flac.parent.name)
    (tmp_path/'others').mkdir()
    shutil.copy(real[4], tmp_path/'others'/'renamed.flac')
    audio, sample_rate = sf.read(real[5])
    sf.write(tmp_path/'others'/'as-wav.wav', audio, sample_rate)
    utts = load_corpus(str(tmp_path))
    assert len(utts) == 6
    assert sorted(u.reader for u in utts) == ['folder'] * 2 + ['librispeech'] * 4

def test_unknown_encoder_option_names_it_and_the_valid_ones():
    with pytest.raises(EncoderError, match=r"n_mel\b.*frame_rate, n_mels, sample_rate"): load_encoder('logmel', n_mel=40)
    with pytest.raises(EncoderError, match=r"nq.*config, n_q, precision"): load_encoder('mimi', nq=8)

def test_unknown_encoder_option_on_the_command_line(tmp_path, capsys):
    rc = main(['extract', '--corpus', 'espeak:speakers=2,utts=1', '--encoder', 'logmel:n_mel=40', '--out', str(tmp_path/'s')])
    err = capsys.readouterr().err
    assert rc == 2 and re.search(r'\bn_mel\b', err) and 'n_mels' in err and 'Traceback' not in err
    assert len(err.strip().splitlines()) == 1

@pytest.mark.parametrize('weights', ['/no/such/dir', './no-such-dir', '~/no-such-latentlab-weights', 'a/b/c',
                                     'C:\\weights\\mimi', 'no such dir'])
def test_missing_weights_folder_is_not_a_hub_id(weights):
    with pytest.raises(WeightsError) as e: load_codec_model('mimi', weights)
    message = str(e.value)
    assert 'does not exist' in message and 'config.json and model.safetensors' in message
    assert 'hf download' not in message

def test_missing_weights_folder_on_the_command_line(tmp_path, capsys):
    rc = main(['extract', '--encoder', 'mimi', '--weights', '/no/such/dir', '--out', str(tmp_path/'s')])
    err = capsys.readouterr().err
    assert rc == 2 and '/no/such/dir' in err and 'does not exist' in err and 'hf download' not in err

def test_hub_id_keeps_the_download_advice():
    with pytest.raises(WeightsError, match='hf download kyutai/mimi'): load_codec_model('mimi', 'kyutai/mimi')

def test_extract_says_how_many_came_through_which_reader(mixed, tmp_path, capsys):
    assert main(['extract', '--corpus', str(mixed), '--out', str(tmp_path/'s'), '--quiet']) == 0
    out, err = capsys.readouterr()
    assert '6 utterances (3 librispeech, 3 folder)' in out and '(1 skipped)' in out
    assert 'skipped bob/phone' in err and 'phone.m4a' in err
