"Report pages and their figures, checked on real computations: labels, verdicts, one random band per condition, known answers, size and export."
import base64, io, re, shutil, subprocess
import numpy as np, pandas as pd, pytest
from conftest import LATENTLAB
from latentlab.catalogue import switching_walk_store
from latentlab.measure.geometry import autocorrelation, geometry, log_ticks, plot_smoothness, temporal_spectrum
from latentlab.measure.probe import CRITERION, COLOURS, KNOWN_COLOUR, TARGET_WORDS, grid, plot_variance_ratio, variance_ratio
from latentlab.measure.reports import figure_data, phase0_report

@pytest.fixture(scope='module')
def walks(tmp_path_factory):
    d = tmp_path_factory.mktemp('walks')
    return {'modes': switching_walk_store(d/'modes', speakers=4, utts=20),
            'random walk': switching_walk_store(d/'rw', speakers=4, utts=12, modes=1)}

@pytest.fixture(scope='module')
def sweep(walks):
    "Two conditions at three K, dx and x, on two stores: a table with a store column."
    conds = grid(L=(2,), coarsener=('delta', 'mean'), K=(4, 16, 64), target=('dx', 'x'))
    return pd.concat([variance_ratio(store, conds, n_boot=50).assign(store=name) for name, store in walks.items()],
                     ignore_index=True)

def series(condition): return re.sub(r'→VQ\(\d+\)', '', condition)

def test_every_trace_names_its_condition_target_and_store(sweep):
    fig = plot_variance_ratio(sweep)
    for trace in fig.data:
        if trace.name.startswith(('criterion', 'open marker')): continue
        store = next((name for name in ('random walk', 'modes') if f'{name}: ' in trace.name), None)
        assert store, f"{trace.name!r} names no store"
        rows = sweep[sweep.store == store]
        assert any(f'[{target}]' in trace.name for target in rows.target), f"{trace.name!r} names no target"
        assert any(series(c) in trace.name for c in rows.condition), f"{trace.name!r} names no condition"
    names = [trace.name for trace in fig.data]
    assert 'modes: ridge (full(2)) [dx]' in names and 'random walk: knn (full(2)) [x]' in names
    assert 'criterion: lookup-friendly below 0.6' in names
    # no label is drawn on the plot, where labels collide: the only annotations are the two panels' titles
    assert [a.text.split(':')[0] for a in fig.layout.annotations] == ['train', 'heldout']

def test_one_random_band_per_condition_never_joining_conditions_or_stores(sweep):
    fig = plot_variance_ratio(sweep)
    bands = [trace for trace in fig.data if trace.fill == 'toself']
    curves = sweep[sweep.method == 'lookup'].assign(series=lambda t: t.condition.map(series))
    n_curves = len(curves.groupby(['store', 'series', 'target', 'split']))
    assert len(bands) == n_curves == 2 * 2 * 2 * 2                          # stores × conditions × targets × splits
    panels = {'x': 'train', 'x2': 'heldout'}
    for band in bands:
        store, rest = band.name.removeprefix('random clusters, ').split(': ', 1)
        target = rest.split('[')[1].rstrip(']')
        random = sweep[(sweep.store == store) & (sweep.target == target) & (sweep.method == 'random')
                       & (sweep.split == panels[band.xaxis]) & (sweep.condition.map(series) == series(rest.split('→VQ')[0]))]
        random = random.sort_values('K')
        assert list(band.x) == list(random.K) + list(random.K[::-1])       # this condition's K, and no other's
        assert np.allclose(band.y, list(random.hi) + list(random.lo[::-1]))   # its own intervals, not a min/max
    assert list(fig.layout.xaxis.tickvals) == [4, 16, 64] and fig.layout.xaxis.type == 'log'

def test_two_K_values_are_not_drawn_as_a_curve(walks):
    table = variance_ratio(walks['modes'], grid(L=(2,), coarsener=('delta',), K=(4, 16)), n_boot=50)
    fig = plot_variance_ratio(table)
    assert 'condition by condition' in fig.layout.title.text and fig.layout.xaxis.type != 'log'
    assert all(trace.mode != 'lines+markers' for trace in fig.data)
    assert list(fig.layout.yaxis.ticktext) == ['delta(2)→VQ(4) [dx]', 'delta(2)→VQ(16) [dx]']
    numbers = figure_data(fig)                                             # the figure's numbers are the table's
    held = table.query("method == 'lookup' and split == 'heldout'")
    drawn = numbers[numbers.trace.isin(['delta(2)→VQ(4) [dx]', 'delta(2)→VQ(16) [dx]']) & (numbers.split == 'heldout')]
    assert np.allclose(drawn[['x', 'x_lo', 'x_hi']].to_numpy(), held[['ratio', 'lo', 'hi']].to_numpy())

def test_a_known_answer_is_drawn_in_no_condition_colour(sweep):
    "The recovering condition sits on its known answer: the two must not share a colour."
    fig = plot_variance_ratio(sweep, known={('modes', 'dx'): 0.48, ('random walk', 'dx'): 1.0})
    known = [trace for trace in fig.data if trace.name.startswith('known answer')]
    assert len(known) == 2 * 2 and {trace.line.color for trace in known} == {KNOWN_COLOUR}   # stores × splits
    others = {trace.line.color for trace in fig.data if trace not in known} | {trace.marker.color for trace in fig.data}
    assert KNOWN_COLOUR not in others | set(COLOURS)

def test_log_axes_tick_at_round_values_not_plotly_minor_labels():
    "A log power axis gets ticks at 1, 2, 5 × 10^k within its data, not plotly's '2 3 4 … 0.1 2 3'."
    rng = np.random.default_rng(0)
    segments = np.cumsum(rng.standard_normal((40, 16, 3)), axis=1)
    spectrum = temporal_spectrum(segments, 12.5)
    fig = plot_smoothness({'walk': spectrum}, {'walk': autocorrelation(segments, 5)})
    ticks, power = list(fig.layout.yaxis.tickvals), spectrum.power[spectrum.power > 0]
    assert fig.layout.yaxis.type == 'log' and len(ticks) >= 2 and ticks == log_ticks(power)
    assert all(f'{t:e}'[0] in '125' and power.min() <= t <= power.max() for t in ticks)
    assert list(fig.layout.yaxis.ticktext) == [f'{t:g}' for t in ticks]

def expected_verdict(row) -> str:
    "The verdict, worked out here from the interval alone."
    if row.hi < CRITERION: return 'lookup-friendly'
    if row.lo > CRITERION: return 'not lookup-friendly'
    return 'undecided'

def test_phase0_page_opens_with_what_was_measured_and_a_verdict_per_condition(walks, tmp_path):
    store = walks['modes']
    out = tmp_path/'p.html'
    r = subprocess.run([LATENTLAB, 'phase0', str(store.path), '--boot', '50', '--quiet', '--out', tmp_path/'t.parquet',
                        '--report', out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    page, table = out.read_text(), pd.read_parquet(tmp_path/'t.parquet')
    head = page[:page.index('<h2>Verdict</h2>')]
    train = store.index[store.index.split == 'train']
    assert 'What was measured on what' in head and 'switching-walk' in head
    assert f"{train.speaker.nunique()} speakers, {len(train)} utterances, {train.n_frames.sum():,} frames" in head
    lookup = table.query("method == 'lookup' and split == 'heldout'")
    assert len(lookup) == 4                                                  # the seed conditions, dx and x
    for row in lookup.itertuples():
        line = (f"{store.path}: {row.condition}, target {row.target} ({TARGET_WORDS[row.target]}), held out: "
                f"{row.ratio:.3f} [{row.lo:.3f}, {row.hi:.3f}], {expected_verdict(row)}")
        assert line in page, line
    for word in ('lookup', 'random', 'gain', 'ridge', 'k-NN', 'interval'): assert f'<dt>{word}</dt>' in page
    for column in table.columns: assert f'<dt>{column}</dt>' in page       # every column described
    assert page.count('How to read this') == 1 and 'first experiment' not in page

def test_the_positive_control_shows_its_known_answer_and_the_condition_that_recovers_it(walks, tmp_path):
    store = walks['modes']
    table = variance_ratio(store, grid(coarsener=('mean',), K=(64,)), n_boot=50)
    page = phase0_report(table, tmp_path/'k.html', store=store).read_text()
    known = store.meta['known_ratio']
    assert 'Known answer' in page and f'{known:.3f} by construction' in page and 'delta(2)→VQ(4) [dx] recovers it' in page
    cell = re.search(r'<td>(\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\] \(heldout\)</td>', page)
    assert cell and abs(float(cell.group(1)) - known) < 0.03                  # measured beside the known answer
    assert f'known answer [dx]: {known:.3f}' in page                          # and drawn in the figure
    assert 'delta(2)→VQ(4), target dx (the next step), held out' in page    # and given a verdict

def test_geometry_progress_is_shown_and_silenced(tmp_path, capsys):
    tiny = switching_walk_store(tmp_path/'tiny', speakers=4, utts=8, frames=60)
    geometry(tiny, progress=True, desc='geometry of tiny')
    assert 'geometry of tiny' in capsys.readouterr().err
    geometry(tiny, progress=False)
    assert capsys.readouterr().err == ''

def data_links(page:str) -> dict:
    "The CSVs a page carries in its links, by file name."
    return {name: pd.read_csv(io.StringIO(base64.b64decode(data).decode()))
            for name, data in re.findall(r"download='([^']+)' href='data:text/csv;base64,([^']+)'", page)}

def test_compare_page_cdn_figures_and_progress(walks, tmp_path):
    "One `compare` run: progress on stderr, a small page with plotly from its CDN, every figure's numbers, and export."
    out, figures = tmp_path/'c.html', tmp_path/'figs'
    stores = [str(store.path) for store in walks.values()]
    r = subprocess.run([LATENTLAB, 'compare', *stores, '--out', out, '--boot', '50', '--plotly', 'cdn',
                        '--figures', figures], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'geometry of' in r.stderr                                          # the geometry steps show progress
    page = out.read_text()
    assert out.stat().st_size < 1_200_000 and "cdn.plot.ly" in page         # not 4.8 MB of inline plotly.js
    names = ['phase0', 'spectra', 'smoothness', 'concentration', 'bic'] + [f'contexts-{s.strip("/").replace("/", "-")}' for s in stores]
    links = data_links(page)
    assert sorted(links) == sorted(f'{name}.csv' for name in names)
    assert page.count('How to read this') == len(names)
    phase0 = links['phase0.csv']
    for name, store in zip(walks, stores):                                  # the Phase 0 numbers are in the CSV
        assert (phase0.trace == f'{store}: mean(4)→VQ(64) [dx]').sum() == 2
    for name in names: assert (figures/f'{name}.csv').exists()
    if shutil.which('chromium') or shutil.which('google-chrome'):
        for name in names:
            assert (figures/f'{name}.svg').read_text().startswith('<svg')
            assert (figures/f'{name}.png').read_bytes()[:4] == b'\x89PNG'
    for store in stores: assert f'known answer of {store} [dx]: ' in ' '.join(phase0.trace)   # drawn, and named
    assert 'pure random walk' in page and 'switching random walk' in page
    assert page.count(f'Known answer: {stores[0]} is built with 4 modes in its steps') == 2   # beside the BIC of positions

def test_export_without_a_browser_says_what_to_install_and_keeps_the_csv(walks, tmp_path):
    r = subprocess.run([LATENTLAB, 'phase0', str(walks['modes'].path), '--grid', 'L=2 coarsener=delta K=4', '--boot', '20',
                        '--no-refs', '--quiet', '--report', tmp_path/'p.html', '--figures', tmp_path/'f'],
                       capture_output=True, text=True, env={**__import__('os').environ, 'BROWSER_PATH': '/nonexistent'})
    assert r.returncode == 2 and 'apt-get install chromium' in r.stderr and 'Traceback' not in r.stderr
    assert (tmp_path/'f'/'phase0.csv').exists() and (tmp_path/'p.html').exists()
