"A saved autoencoder run is an encoder the CLI can extract a store with, by its folder or as `trained --weights`."
import json, math, subprocess
import numpy as np, pytest
from conftest import LATENTLAB, latentlab_here
from latentlab.autoencoders import AEConfig, TrainedEncoder, build_model, save_autoencoder
from latentlab.store import Store

def run(*args):
    return subprocess.run([LATENTLAB, *map(str, args)], capture_output=True, text=True, timeout=600)

@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('runs')/'tiny'
    cfg = AEConfig(channels=16, dim=8, latent_rate=25, bottleneck='vae', transformer_layers=1)
    return save_autoencoder(build_model(cfg), folder, extra=dict(step=0, note='untrained'))

@pytest.mark.parametrize('how', ['folder', 'weights'])
def test_extract_with_a_trained_encoder(run_dir, tmp_path, how):
    encoder = ['--encoder', run_dir] if how == 'folder' else ['--encoder', 'trained', '--weights', run_dir]
    out = tmp_path/'store'
    r = run('extract', '--corpus', 'espeak:speakers=2,utts=2', *encoder, '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr
    store = Store(out)
    assert (store.dim, store.frame_rate, store.meta['encoder']) == (8, 25.0, 'trained')
    assert store.meta['encoder_config']['run'] == str(run_dir.resolve())
    assert store.meta['encoder_config']['model'] == json.loads((run_dir/'config.json').read_text())['model']
    assert len(store) == 4 and np.isfinite(store.x).all()
    for row in store.index.itertuples():        # ceil(n_samples / hop) frames per utterance
        assert row.n_frames == math.ceil(round(row.duration_s * 16000) / 640)

def test_the_store_holds_what_the_encoder_gives(run_dir, tmp_path):
    out = tmp_path/'store'
    assert run('extract', '--corpus', 'espeak:speakers=1,utts=2', '--encoder', run_dir, '--out', out, '--quiet').returncode == 0
    from latentlab.data.corpora import load_corpus
    store, enc = Store(out), TrainedEncoder(run_dir, device='cpu')
    utts = {u.id: u for u in load_corpus('espeak:speakers=1,utts=2')}
    for k, row in enumerate(store.index.itertuples()):
        np.testing.assert_allclose(store.utt(k), enc.encode([utts[row.utt].load(16000)])[0], atol=1e-5)

def test_a_broken_run_says_what_to_do(run_dir, tmp_path):
    broken = tmp_path/'broken'; broken.mkdir()
    (broken/'config.json').write_text('{}')
    r = latentlab_here('extract', '--corpus', 'espeak:speakers=1,utts=1', '--encoder', broken, '--out', tmp_path/'s', '--quiet')
    assert r.returncode != 0 and 'no top-level key "model"' in r.stderr and 'Fix:' in r.stderr
    r = latentlab_here('extract', '--corpus', 'espeak:speakers=1,utts=1', '--encoder', 'trained', '--out', tmp_path/'s', '--quiet')
    assert r.returncode != 0 and 'needs its run folder' in r.stderr

def vq_share(rank:int, world:int, port:int, flat, codebook, out):
    "One gloo process's EMA step on its share (rows rank::world) of the batch `flat`; its codebook saved to `out`."
    import os, torch, torch.distributed as dist
    from latentlab.autoencoders import VectorQuantiser
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    vq = VectorQuantiser(*codebook.shape, dead_code=0.); vq.distributed = True     # as train_encoder sets it under DDP
    vq.codebook.copy_(codebook); vq.embed_sum.copy_(codebook); vq.cluster_size.fill_(1.)
    share = flat[rank::world]
    vq.update(share, vq.nearest(share))
    torch.save(vq.codebook, out/f'rank{rank}.pt')
    dist.destroy_process_group()

def test_vq_codebook_learns_from_every_process_under_ddp(tmp_path):
    "Two gloo processes, each with half a batch, take the EMA step one process takes with all of it."
    import socket, torch, torch.multiprocessing as mp
    from latentlab.autoencoders import VectorQuantiser
    torch.manual_seed(0)
    flat, codebook = torch.randn(64, 4), torch.randn(8, 4)
    one = VectorQuantiser(8, 4, dead_code=0.)
    one.codebook.copy_(codebook); one.embed_sum.copy_(codebook); one.cluster_size.fill_(1.)
    one.update(flat, one.nearest(flat))
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    mp.spawn(vq_share, args=(2, port, flat, codebook, tmp_path), nprocs=2)
    for rank in (0, 1):
        torch.testing.assert_close(torch.load(tmp_path/f'rank{rank}.pt'), one.codebook, atol=1e-6, rtol=1e-6)
    assert (one.codebook - codebook).abs().max() > 1e-3           # the step moved the codebook: the comparison has teeth
