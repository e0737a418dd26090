"""eSpeak NG is one C library per process: two copies of latentlab's code driving it (the library's, and a notebook's
own definitions, as when nbdev-test runs several notebooks in one worker) must not steal each other's audio."""
import sys, types
from conftest import ROOT
import latentlab.data.corpora as corpora

def test_a_second_copy_of_the_code_does_not_silence_the_first():
    assert corpora.espeak_synth('hello there')[0].any()
    copy = types.ModuleType('latentlab.data._corpora_copy'); copy.__package__ = 'latentlab.data'
    sys.modules[copy.__name__] = copy
    try:
        exec(compile((ROOT/'latentlab'/'data'/'corpora.py').read_text(), 'copy', 'exec'), copy.__dict__)
        assert copy.espeak_synth('good morning')[0].any()
        assert corpora.espeak_synth('six thousand thin lamps')[0].any()      # silent before the callback was re-set
    finally: del sys.modules[copy.__name__]
