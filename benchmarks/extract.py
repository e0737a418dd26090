"""Extraction speed and memory on this machine.

Prints the real-time factor (seconds of compute per second of audio; lower is faster) of `logmel` and of
full-size, randomly initialised Mimi (the same architecture and cost as kyutai/mimi), batched, in float32 and
with bfloat16 autocast (`--encoder mimi:precision=bfloat16`), and of the four pretrained encoders (whisper-tiny,
speech-embedding, deepfilter, ge2e); and the peak memory of extracting the default corpus end to end
(`latentlab extract --corpus espeak --encoder logmel`). With `--real`, it also times extracting the whole 65-minute
LibriSpeech sample with each pretrained encoder, as `latentlab extract` does it.
Targets: Mimi at RTF <= 0.1 on 2 CPU cores; the four pretrained encoders together extract the real sample in < 5 min.

    .venv/bin/python benchmarks/extract.py [--seconds 120] [--batch-size 8] [--real]
"""
import argparse, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from latentlab.data.corpora import espeak_corpus
from latentlab.encoders import PRETRAINED, load_encoder
from latentlab.store import extract

def rtf(enc, audios, batch_size) -> float:
    "Seconds of compute per second of audio, encoding `audios` in batches (after one warm-up batch)."
    enc.encode(audios[:1])
    t0 = time.perf_counter()
    for b in range(0, len(audios), batch_size): enc.encode(audios[b:b + batch_size])
    return (time.perf_counter() - t0) / (sum(map(len, audios)) / enc.sample_rate)

def peak_memory_of_default_extract() -> float:
    "Peak resident memory (GiB) of the README's extract command, in a fresh process."
    latentlab = Path(sys.executable).parent/'latentlab'
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([str(latentlab), 'extract', '--corpus', 'espeak', '--encoder', 'logmel', '--out', f'{d}/s', '--quiet'], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seconds', type=float, default=120, help="seconds of speech to encode")
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--real', action='store_true', help="also extract the real LibriSpeech sample with each pretrained encoder")
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores")
    print(f"peak memory, extracting the default corpus with logmel: {peak_memory_of_default_extract():.2f} GiB")
    utts = espeak_corpus(n_speakers=8, n_utts=40)
    for name, kw in [('logmel', {}), ('mimi', dict(weights='random')), ('mimi', dict(weights='random', precision='bfloat16')),
                     *[(name, {}) for name in PRETRAINED]]:
        enc = load_encoder(name, device='cpu', **kw)
        audios, total = [], 0.
        for u in utts:
            if total >= a.seconds: break
            audios.append(u.load(enc.sample_rate)); total += len(audios[-1]) / enc.sample_rate
        r = rtf(enc, audios, a.batch_size)
        print(f"{name:16s} {kw.get('precision', 'float32'):8s} RTF {r:.4f}  ({total:.0f} s of speech, batch {a.batch_size}, {1 / r:.0f}x real time)")

    if a.real: real_sample(a.batch_size)

def real_sample(batch_size:int):
    "Wall time of extracting the 65-minute LibriSpeech sample with each pretrained encoder, and all four together."
    from latentlab.catalogue import real_speech_dir
    from latentlab.data.corpora import librispeech_corpus
    root = real_speech_dir()
    if root is None: print("real sample not found; skipping --real"); return
    utts = librispeech_corpus(root)
    minutes = sum(sf_seconds(u) for u in utts) / 60
    total = 0.
    for name in PRETRAINED:
        enc = load_encoder(name, device='cpu')
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            extract(utts, enc, f'{d}/s', corpus=str(root), batch_size=batch_size, progress=False)
            took = time.perf_counter() - t0
        total += took
        print(f"real sample ({minutes:.1f} min, {len(utts)} utterances) with {name:16s}: {took:6.1f} s (RTF {took / minutes / 60:.4f})")
    print(f"all four pretrained encoders: {total:.1f} s (target < 300 s)")

def sf_seconds(u) -> float:
    import soundfile as sf
    return sf.info(str(u.path)).duration

if __name__ == '__main__': main()
