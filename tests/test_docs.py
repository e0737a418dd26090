"""The docs check (`tools/check_docs.py`) builds pages as the docs workflow does, and fails on what a reader would see.

These tests run its pieces on small notebooks made here (the full check executes every notebook: `tools/test.sh`)."""
import re, shlex, subprocess, sys
import nbformat, pytest, yaml
from conftest import ROOT

sys.path.insert(0, str(ROOT/'tools'))
import check_docs as cd

WORKFLOW = yaml.safe_load((ROOT/'.github'/'workflows'/'deploy.yaml').read_text())
STEPS = {step.get('name', ''): step for step in WORKFLOW['jobs']['deploy']['steps']}

def execute_step() -> str: return next(s['run'] for name, s in STEPS.items() if name.startswith('Execute the notebooks'))

def test_same_renderer_as_the_docs_workflow():
    assert f"PLOTLY_RENDERER={cd.PLOTLY_RENDERER}" in execute_step()

def test_notebooks_run_without_real_speech_as_on_the_workflow_runner(built, tmp_path):
    "The pages are executed as the runner would, where ../shared is absent; the checking process is left as it was."
    import os
    before = os.environ.get('LATENTLAB_REAL_SPEECH')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('from latentlab.catalogue import real_speech_dir\nprint(real_speech_dir())')]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, tmp_path/'real.ipynb')
    ran, errors = cd.execute(tmp_path/'real.ipynb')
    assert not errors and ran.cells[0].outputs[0].text.strip() == 'None'
    assert os.environ.get('LATENTLAB_REAL_SPEECH') == before

def test_the_workflow_executes_every_notebook_but_the_experiments():
    command = re.search(r'\$\((find [^)]*)\)', execute_step()).group(1)
    found = set(subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
    library, experiments = cd.notebooks()
    assert found == {str(p.relative_to(ROOT)) for p in library}
    assert any('/' in str(p.relative_to(cd.NBS)) for p in library)          # notebooks in folders are covered
    assert experiments and not found & {str(p.relative_to(ROOT)) for p in experiments}
    assert 'nbdev-docs' in [s.get('run') for s in STEPS.values()]

def small_notebook(tmp_path):
    "A notebook as nbdev writes them: a title, an exported function, a hidden cell, maths, a warning on stderr."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('# A page\n> What it is about.'),
                nbformat.v4.new_code_cell('#| default_exp tiny'),
                nbformat.v4.new_code_cell('#| export\ndef double(x:int) -> int:\n    "Twice `x`."\n    return 2 * x'),
                nbformat.v4.new_code_cell('#| hide\nsecret = 1'),
                nbformat.v4.new_markdown_cell('The ratio is $\\sigma^2_w / \\sigma^2$ and $$x_t - x_{t-1}$$; `$HOME` is not maths.'),
                nbformat.v4.new_code_cell('double(2)'),
                nbformat.v4.new_code_cell('import warnings'),
                nbformat.v4.new_code_cell('warnings.warn("old API", FutureWarning)')]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    path = tmp_path/'tiny.ipynb'
    nbformat.write(nb, path)
    return path

@pytest.fixture(scope='module')
def built(tmp_path_factory):
    "The small notebook executed, processed by nbdev as `nbdev-docs` does, and laid out as Quarto shows it."
    tmp = tmp_path_factory.mktemp('docs')
    nb, errors = cd.execute(small_notebook(tmp))
    assert not errors
    nbformat.write(nb, tmp/'executed.ipynb')
    cd.nbdev_process(tmp/'executed.ipynb', tmp/'processed.ipynb')
    return cd.as_quarto_shows(nbformat.read(tmp/'processed.ipynb', as_version=4))

def test_nbdev_processing_hides_exports_and_renders_show_doc(built):
    shown = built
    sources = [c.source for c in shown.cells if c.cell_type == 'code' and not c.metadata.get('transient')]
    assert not any('#| export' in s or 'secret' in s or 'def double' in s or 'default_exp' in s for s in sources)
    assert 'double(2)' in sources                                        # an ordinary cell shows its source
    markdown = [o.data['text/markdown'] for c in shown.cells for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {})]
    assert any('### double' in m and 'Twice' in m for m in markdown)     # show_doc, added by nbdev and run
    assert not any('{target=' in m for m in markdown)                    # Quarto's link attributes, removed
    assert shown.cells[0].source.startswith('# A page') and 'What it is about' in shown.cells[0].source

def test_a_warning_printed_into_the_page_fails_it(built):
    shown = built
    assert any('FutureWarning' in p and 'warning is printed into the page' in p for p in cd.problems(shown))

def test_maths_are_counted_outside_code(built):
    shown = built
    assert cd.n_maths(shown) == 2

def test_the_page_is_written_as_published_and_for_offline_checking(built):
    shown = built
    published, offline = cd.page_html(shown, offline=False), cd.page_html(shown, offline=True)
    assert not re.search(r'(In|Out)(&nbsp;|\s)?\[\d+\]', published)      # no prompts, as on Quarto's pages
    if cd.local_mathjax(): assert 'jupyter_server_mathjax' in offline and 'cdnjs' in published

def test_plotly_is_read_locally_only_in_the_offline_copy():
    nb = nbformat.v4.new_notebook()
    html = '<script charset="utf-8" src="https://cdn.plot.ly/plotly-4.1.1.min.js" integrity="sha256-x" crossorigin="anonymous"></script><div>Plotly.newPlot</div>'
    nb.cells = [nbformat.v4.new_code_cell('fig', outputs=[nbformat.v4.new_output('display_data', data={'text/html': html})])]
    assert 'cdn.plot.ly' in cd.page_html(nb, offline=False)
    offline = cd.page_html(nb, offline=True)
    assert 'cdn.plot.ly' not in offline and 'package_data/plotly.min.js' in offline
    assert cd.n_figures(nb) == 1

def test_a_kernel_that_dies_fails_its_page_not_the_check(tmp_path):
    "Run two at a time, one notebook whose kernel dies is a failed page with the reason; its threads are its share."
    from concurrent.futures import Future
    from nbclient.exceptions import DeadKernelError
    died = Future(); died.set_exception(DeadKernelError("Kernel died"))
    errs, notes, summary = cd.check(cd.NBS/'00_core.ipynb', None, lambda figs: False, died)
    assert errs == ["the notebook did not run: DeadKernelError: Kernel died"] and summary == 'not run'
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('import os; print(os.environ.get("OMP_NUM_THREADS"))')]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, tmp_path/'threads.ipynb')
    ran, errors = cd.execute(tmp_path/'threads.ipynb', threads=1)
    assert not errors and ran.cells[0].outputs[0].text.strip() == '1'

def test_the_longest_notebooks_named_first_exist():
    "`LONGEST` (started first, so no long notebook starts last) names library notebooks that exist: a renamed one would quietly go last."
    library, _ = cd.notebooks()
    names = {str(p.relative_to(cd.NBS).with_suffix('')) for p in library}
    assert cd.LONGEST and set(cd.LONGEST) <= names, set(cd.LONGEST) - names
