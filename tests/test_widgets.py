"""The coarseness explorer, driven through its widget controls and its widgets' messages, without a browser.

A front end talks to a widget in comm messages: a page that opens (or reloads) asks for the widget's state
(`request_state`) and draws from the reply; a click on a plotly point comes back as an `update` of
`_js2py_pointsCallback`. These tests send those messages and read the replies."""
import numpy as np, pandas as pd, pytest, soundfile as sf, io
from ipywidgets.widgets.widget import _put_buffers
from latentlab.measure.core import Condition
from latentlab.measure.probe import variance_ratio
from latentlab.catalogue import switching_walk_store
from latentlab.data.corpora import espeak_corpus
from latentlab.encoders import LogMel
from latentlab.store import Store, extract
from latentlab.widgets import CoarsenessExplorer, frame_audio

@pytest.fixture(scope='module')
def walk(tmp_path_factory): return switching_walk_store(tmp_path_factory.mktemp('w')/'s', speakers=8, utts=30, seed=3)

@pytest.fixture(scope='module')
def spoken(tmp_path_factory):
    "Four eSpeak utterances of two voices through log-mel: a store made from audio, with phones."
    out = tmp_path_factory.mktemp('e')/'s'
    extract(espeak_corpus(n_speakers=2, n_utts=3), LogMel(device='cpu'), out, corpus='espeak:speakers=2,utts=3',
            progress=False)
    return Store(out)

def reopened_state(widget) -> dict:
    "The state a newly opened front end (a reloaded page, a second tab) receives: ask as it asks, decode the reply."
    sent = []
    widget.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    widget._handle_msg({'content': {'data': {'method': 'request_state'}}})
    (data, buffers), = sent
    state = data['state']
    _put_buffers(state, data['buffer_paths'], buffers)
    def decode(value):
        if isinstance(value, dict) and {'buffer', 'dtype', 'shape'} <= set(value):
            return np.frombuffer(value['buffer'], value['dtype']).reshape(value['shape']).tolist()
        if isinstance(value, dict): return {key: decode(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)): return [decode(v) for v in value]
        return value
    return decode(state)

def click(widget, trace:int, i:int):
    "What plotly.js sends when point `i` of trace `trace` is clicked."
    widget._handle_msg({'buffers': [], 'content': {'data': {'method': 'update', 'buffer_paths': [], 'state': {
        '_js2py_pointsCallback': {'event_type': 'plotly_click', 'selector': None, 'device_state': None,
                                  'points': {'trace_indexes': [trace], 'point_indexes': [i], 'xs': [0], 'ys': [0]}}}}}})

def test_controls_change_the_numbers_and_match_the_probe(walk):
    ex = CoarsenessExplorer(walk, L=2, coarsener='delta', d=0, K=4).wait()
    t = variance_ratio(walk, [Condition(L=2, coarsener='delta', K=4)], refs=False, n_boot=10)
    probe = t[(t.method == 'lookup') & (t.split == 'heldout')].ratio.item()
    assert abs(ex.values['lookup heldout'] - probe) < 0.005 and abs(probe - walk.meta['known_ratio']) < 0.02
    before = dict(ex.values)
    ex.controls['coarsener'].value = 'last'; ex.wait()
    assert ex.values != before and ex.values['lookup heldout'] > before['lookup heldout'] + 0.3
    labels = ex.ed.clusters[(2, 'last', 0, 4)]
    ex.controls['target'].value = 'dx_white'; ex.wait()
    assert ex.ed.clusters[(2, 'last', 0, 4)] is labels                   # a move of the target keeps the clusters
    assert ex.shown == ex.cond == Condition(L=2, coarsener='last', d=0, K=4, target='dx_white')
    assert list(ex.fig.data[3].x) == [4, 4]

def test_a_new_move_supersedes_the_curve(walk):
    ex = CoarsenessExplorer(walk, L=3, coarsener='mean', d=4, K=8)
    ex.controls['K'].value = 32; ex.controls['L'].value = 2
    ex.wait()
    assert ex.values['K'] == 32 and ex.shown == ex.cond and ex.cond.L == 2
    assert sorted(ex.curve(ex.cond)) == list(CoarsenessExplorer.Ks)       # the curve of the last setting is whole
    assert not np.isnan(ex.values['random heldout'])

def test_a_reloaded_page_redraws_the_figure(walk):
    "A front end that opens after the moves gets the figure as it is now, not the empty one made first."
    ex = CoarsenessExplorer(walk, L=2, coarsener='mean', d=4, K=8).wait()
    live = ex.widget()                                                   # displayed: now a FigureWidget
    ex.controls['K'].value = 16; ex.controls['coarsener'].value = 'concat'; ex.wait()
    state = reopened_state(live)
    traces = state['_widget_data']
    curve = sorted(ex.curve(ex.cond).items())
    assert [trace['name'] for trace in traces] == [trace.name for trace in ex.fig.data]
    assert traces[2]['x'] == [K for K, _ in curve]
    assert np.allclose(traces[2]['y'], [ratios['lookup heldout'] for _, ratios in curve])
    assert traces[3]['x'] == [16, 16] and np.isclose(traces[3]['y'][1], ex.values['lookup heldout'])
    take, xy = ex.ed.views[(2, 'concat', 4, 'pca')]
    assert np.allclose(traces[4]['x'], xy[:, 0]) and len(traces[4]['customdata']) == len(take)
    assert state['_widget_layout']['title']['text'].startswith('concat(2)→PCA(4)→VQ(16) [dx]')
    assert len(state['_esm']) > 1e6                                      # plotly.js itself: why it is made lazily

def test_the_static_figure_makes_no_widget(walk):
    "Pages that only show the figure carry no widget state (a FigureWidget's is 5 MB)."
    ex = CoarsenessExplorer(walk, L=2, coarsener='mean', d=4, K=8).wait()
    import plotly.graph_objects as go
    assert type(ex.fig) is go.Figure and type(ex.figure()) is go.Figure

def test_hover_names_the_frame(spoken):
    ex = CoarsenessExplorer(spoken, L=2, coarsener='mean', d=4, K=4).wait()
    scatter = ex.fig.data[4]
    for template in ('%{customdata[0]}', 'speaker %{customdata[1]}', 't = %{customdata[2]:.2f} s',
                     'phone %{customdata[3]}', 'cluster %{customdata[4]}'):
        assert template in scatter.hovertemplate
    index, phones = spoken.index, spoken.meta['phones']
    for row in scatter.customdata[::37]:
        utt, speaker, time_s, phone, cluster = row
        u = int(np.flatnonzero(index.utt == utt)[0])
        frame = round(time_s * spoken.frame_rate - 0.5)
        assert index.speaker[u] == speaker
        assert phones[spoken.phones[spoken.bounds[u] + frame]] == phone
    assert (ex.points.phone != '').mean() > 0.9
    assert list(scatter.marker.color) == list(ex.points.cluster)

def test_a_click_plays_the_second_around_the_frame(spoken):
    ex = CoarsenessExplorer(spoken, L=2, coarsener='mean', d=4, K=4).wait()
    live = ex.widget()
    click(live, 4, 10)
    point = ex.points.iloc[10]
    audio, sr = sf.read(io.BytesIO(ex.player.value), dtype='float32')
    assert sr == 22050 and len(audio) == sr                              # a second, as eSpeak speaks it
    expected, _ = frame_audio(spoken, int(point.utt_row), float(point.time_s))
    assert np.abs(audio - expected).max() < 1e-4                         # 16-bit WAV of the same samples
    assert point.utt in ex.heard.value and 'playing' in ex.heard.value
    members = [j for _, j in ex.members.options]
    assert members and 10 not in members and (ex.points.cluster[members] == point.cluster).all()
    ex.members.value = members[0]                                        # another member of its cluster
    other = ex.points.iloc[members[0]]
    assert other.utt in ex.heard.value and [j for _, j in ex.members.options] == members

def test_a_store_without_audio_says_so(walk):
    ex = CoarsenessExplorer(walk, L=2, coarsener='mean', d=4, K=8).wait()
    click(ex.widget(), 4, 0)
    assert 'no audio' in ex.heard.value and 'made without audio' in ex.heard.value and ex.player.value == b''
    assert ex.members.options                                            # its cluster is still listed

def test_save_writes_the_curve_and_the_figure(walk, tmp_path):
    ex = CoarsenessExplorer(walk, L=2, coarsener='delta', d=0, K=4).wait()
    table, page = ex.save(tmp_path/'setting.csv')
    saved = pd.read_csv(table)
    assert page.suffix == '.html' and 'Plotly.newPlot' in page.read_text()
    assert set(saved.K) == set(CoarsenessExplorer.Ks) and set(saved.method) == {'lookup', 'random'}
    now = saved[saved.current & (saved.method == 'lookup') & (saved.split == 'heldout')]
    assert np.isclose(now.ratio.item(), ex.values['lookup heldout'])
    assert (saved.condition[saved.current] == 'delta(2)→VQ(4)').all() and (saved.target == 'dx').all()
    ex.save_as.value = str(tmp_path/'clicked'); ex.save_button.click()
    assert (tmp_path/'clicked.parquet').exists() and (tmp_path/'clicked.html').exists()
    assert 'saved' in ex.status.value

def test_two_stores_in_one_view(walk, spoken):
    ex = CoarsenessExplorer(walk, compare=spoken, L=2, coarsener='mean', d=4, K=4).wait()
    name = f"{spoken.path.parent.name}/s"                                 # both folders are named s
    assert list(ex.stores) == ['s', name]
    assert ex.compare.value == name and ex.fig.data[6].visible
    assert ex.fig.data[6].name == f"{name}: heldout"
    assert list(ex.fig.data[6].y) == [ex.curve(ex.cond, name)[K]['lookup heldout'] for K in ex.fig.data[6].x]
    ex.store.value = name; ex.wait()                                       # now the spoken store is shown
    assert ex.ed.store is spoken and ex.fig.data[2].name == f"{name}: heldout"
    assert not ex.fig.data[6].visible                                     # it cannot be compared with itself
    ex.compare.value = 'none'; ex.wait()
    saved = ex.table()
    assert set(saved.store) == {name}

def test_a_slow_first_clustering_is_answered_quickly_then_fully(walk):
    ex = CoarsenessExplorer(walk, L=2, coarsener='concat', d=0, K=16, quick_frames=4_000, slow_work=1)
    ex.wait()
    assert ex.values['sample'] == 'full'
    assert len(ex.quick(ex.store.value).rows[0]) <= 4_000
    assert ex.cond in ex.quick(ex.store.value).results                    # the quick answer came first
    assert abs(ex.quick(ex.store.value).results[ex.cond]['lookup heldout'] - ex.values['lookup heldout']) < 0.05

def test_the_controls_keep_their_width(walk):
    "The controls keep a minimum width and the figure wraps under them in a narrow window."
    ex = CoarsenessExplorer(walk, L=2, coarsener='mean', d=4, K=8).wait()
    controls, figure = ex.app.children
    assert ex.app.layout.flex_flow == 'row wrap'
    assert controls.layout.min_width == '320px' and controls.layout.flex.startswith('0 0')
    assert figure.children[0].children == (ex.fig,) and figure.layout.min_width == '480px'
    assert ex.fig.layout.width <= 668      # the output of a 1100-px JupyterLab with the file browser open: no clipping
