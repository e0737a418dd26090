"""Build every notebook's docs page the way the docs workflow does, short of Quarto, and check it in headless Chromium.

The docs workflow (`.github/workflows/deploy.yaml`) executes the notebooks with `PLOTLY_RENDERER=notebook_connected`,
then runs `nbdev-docs`, which processes each notebook (`nbdev.serve.proc_nbs` → `nbdev.serve_drv.main` with
nbdev's `FilterDefaults`) and hands the result to Quarto. This script does the same up to Quarto:

1. execute each library notebook top to bottom in its folder (nbclient), with the same plotly renderer and,
   as on the workflow's runner, without the real-speech sample (`../shared` is not there); the dated notebooks
   under `nbs/experiments/` are not re-run: they keep the outputs of their run, as on Pages;
2. process it with nbdev's own `serve_drv.main(..., FilterDefaults)`: `#| export` and `#| hide` source removed,
   `show_doc` cells added after exported definitions and rendered, directives turned into Quarto's;
3. write HTML as Quarto shows a processed notebook: the frontmatter as the title, no source for `echo: false`
   cells, nothing for `include: false` ones, maths typeset by MathJax (nbconvert's page stands in for Quarto's theme).

Offline, only the addresses of two assets change, in the copy written to `_docs_html/` for Chromium and a person:
plotly.js, which a `notebook_connected` figure loads from cdn.plot.ly, is read from the installed plotly package
(the same plotly.js version the address names), and MathJax from `jupyter_server_mathjax` when it is installed.

A page fails when: a cell raised; a cell printed a traceback or a warning (`SomethingWarning` on stderr, as a
page shows it); Chromium drew fewer plotly figures than the notebook made; maths were left as raw TeX although
MathJax ran; or the page, as published, is over `MAX_PAGE_MB` (saved widget state carries megabytes of JavaScript).
It notes, without failing, pages whose cells say real speech is absent and that link no experiments notebook.

    .venv/bin/python tools/check_docs.py [NAME ...] [--shots] [--jobs N]     # NAME: 00_core, measure/01_probe, ...

Notebooks execute `--jobs` at a time (default 2), each in its own kernel with its share of the cores as its threads
(two kernels of two threads each on two cores wait on each other's threads), the longest first (`LONGEST`, from
the seconds this script prints), so that no long one starts last while the other kernel idles; each page is built,
checked and printed as its notebook finishes, in that order (the dated pages, which are not executed, first).

Pages go to `_docs_html/` (with `_executed/` and `_proc/`, the notebooks before and after nbdev's processing);
`--shots` screenshots every page at a 1100-px window (else only the first page with figures).
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
import nbformat, yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
NBS, OUT = ROOT/'nbs', ROOT/'_docs_html'
PLOTLY_RENDERER = 'notebook_connected'        # as in .github/workflows/deploy.yaml
MAX_PAGE_MB = 2.0
# The notebooks that took longest to execute here (seconds on 2 cores, 2026-11-28), started first; the rest follow in page order.
LONGEST = ['models/02_runs', 'train/02_sweep', 'models/01_ar', 'measure/02_geometry', 'train/00_objectives',
           '80_experiment', '90_widgets', 'train/01_runs', 'measure/03_reports', '11_pretrained']
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--allow-file-access-from-files', '--virtual-time-budget=30000']
WARNING = re.compile(r'\b\w*Warning\b')
ABSENT = re.compile(r'not beside this checkout|not here|skipping', re.I)

AS_ON_PAGES = dict(PLOTLY_RENDERER=PLOTLY_RENDERER,                          # the workflow's renderer
                   LATENTLAB_REAL_SPEECH=str(ROOT/'no-real-speech-on-pages'),  # and no ../shared on its runner
                   HF_HUB_OFFLINE='1')

@contextmanager
def environment(**values):
    "Set environment variables within the block, then put back what was there."
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try: yield
    finally:
        for key, value in before.items():
            if value is None: os.environ.pop(key, None)
            else: os.environ[key] = value

def execute(path: Path, threads: int | None = None) -> tuple[nbformat.NotebookNode, list[str]]:
    "Run a notebook top to bottom in its folder as the docs workflow does (its kernel on `threads` threads); the errors, if any."
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}})
    threads = {'OMP_NUM_THREADS': str(threads)} if threads else {}
    # IN_TEST, as nbdev-test sets it: a notebook's `nbdev_export()` cell is then a no-op, where it would rewrite the
    # library's files while the other kernel imports them (a module read half-written: ImportError in CI, 2026-11-29)
    try: client.execute(env={**os.environ, **AS_ON_PAGES, **threads, 'IN_TEST': '1'})
    except CellExecutionError as error: return nb, [f"a cell raised: {str(error).strip().splitlines()[-1][:300]}"]
    return nb, []

def timed_execute(path: Path, threads: int | None = None) -> tuple[nbformat.NotebookNode, list[str], float]:
    "`execute`, and the seconds it took."
    t0 = time.perf_counter()
    return *execute(path, threads), time.perf_counter() - t0

def nbdev_process(executed: Path, processed: Path) -> None:
    "nbdev's processing of one notebook, exactly as `nbdev-docs` runs it (from the project's root)."
    import nbdev.serve_drv
    from nbdev.processors import FilterDefaults
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        with environment(**AS_ON_PAGES): nbdev.serve_drv.main((executed, processed, FilterDefaults))
    finally: os.chdir(here)

def directives(source: str) -> dict:
    "The Quarto cell options (`#| key: value`) left in a processed cell."
    return {key: value.strip() for key, value in re.findall(r'^#\|\s*([\w-]+):\s*(.*)$', source, re.M)}

PANDOC_ATTRS = re.compile(r'(\]\([^)]*\))\{[^}]*\}')    # [source](url){target="_blank" ...}: Quarto's, not markdown's

def as_quarto_shows(nb) -> nbformat.NotebookNode:
    "The processed notebook as Quarto lays it out: frontmatter as title, hidden inputs and excluded cells dropped."
    cells = []
    for cell in nb.cells:
        source = cell.get('source', '')
        cell.metadata.pop('execution', None)              # nbdev's timings, which nbformat's schema refuses
        if cell.cell_type == 'raw' and source.lstrip().startswith('---'):
            front = yaml.safe_load(source.strip().strip('-')) or {}
            cell = nbformat.v4.new_markdown_cell(f"# {front.get('title', '')}\n\n" + (f"*{front['description']}*" if front.get('description') else ''))
        elif cell.cell_type == 'code':
            options = directives(source)
            if options.get('include') == 'false': continue
            cell.source = re.sub(r'^#\|.*(\n|$)', '', source, flags=re.M)
            if options.get('output') == 'false': cell.outputs = []
            if options.get('echo') == 'false' or not cell.source.strip(): cell.metadata['transient'] = {'remove_source': True}
            for output in cell.get('outputs', []):
                if 'text/markdown' in output.get('data', {}):
                    output.data['text/markdown'] = PANDOC_ATTRS.sub(r'\1', output.data['text/markdown'])
        elif cell.cell_type == 'markdown':
            cell.source = PANDOC_ATTRS.sub(r'\1', source)
        cells.append(cell)
    nb.cells = cells
    return nb

def page_html(nb, offline: bool) -> str:
    "The page: as published (assets from their CDNs), or for Chromium here (the same assets from installed packages)."
    mathjax = local_mathjax() if offline else None
    exporter = HTMLExporter(mathjax_url=mathjax or HTMLExporter.mathjax_url.default_value,
                            exclude_input_prompt=True, exclude_output_prompt=True)   # Quarto shows no In/Out prompts
    text = exporter.from_notebook_node(nb)[0]
    if offline:
        import plotly
        local = (Path(plotly.__file__).parent/'package_data'/'plotly.min.js').as_uri()
        text = re.sub(r'<script[^>]*src="https://cdn\.plot\.ly/plotly-[\d.]+\.min\.js"[^>]*></script>',
                      f'<script charset="utf-8" src="{local}"></script>', text)
    return text

def local_mathjax() -> str | None:
    "A file URL of MathJax 2 from `jupyter_server_mathjax`, or None when it is not installed."
    try: import jupyter_server_mathjax
    except ImportError: return None
    script = Path(jupyter_server_mathjax.__file__).parent/'static'/'MathJax.js'
    return script.as_uri() + '?config=TeX-AMS-MML_HTMLorMML-full,Safe' if script.exists() else None

def problems(nb) -> list[str]:
    "Error outputs, tracebacks, and warnings that cells printed into the page."
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get('outputs', []):
            if o.output_type == 'error': out.append(f"cell {i}: {o.ename}: {o.evalue}")
            if o.output_type == 'stream' and o.name == 'stderr':
                if 'Traceback' in o.text: out.append(f"cell {i}: traceback on stderr")
                elif WARNING.search(o.text):
                    line = next(l for l in o.text.splitlines() if WARNING.search(l))
                    out.append(f"cell {i}: a warning is printed into the page: {line.strip()[:200]}")
    return out

def n_figures(nb) -> int:
    "Plotly figures among the notebook's outputs."
    return sum('Plotly.newPlot' in str(o.get('data', {}).get('text/html', '')) for c in nb.cells for o in c.get('outputs', []))

INLINE_MATH = re.compile(r'(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\d)|\$\$(.+?)\$\$', re.S)

def n_maths(nb) -> int:
    "Maths in the markdown cells (inline `$...$` and display `$$...$$`, outside code)."
    text = '\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
    text = re.sub(r'```.*?```|`[^`\n]*`', '', text, flags=re.S)
    return len(INLINE_MATH.findall(text))

def missing_experiment_link(nb) -> bool:
    "Does a cell say real speech is absent here, while no markdown links a notebook in experiments/?"
    said = any(o.output_type == 'stream' and ABSENT.search(o.text) for c in nb.cells for o in c.get('outputs', []))
    linked = any(re.search(r'\]\([^)]*experiments/', c.source) for c in nb.cells if c.cell_type == 'markdown')
    return said and not linked

def chromium() -> str | None:
    return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

def rendered_dom(browser: str, page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([browser, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', '--dump-dom', page.as_uri()],
                           capture_output=True, text=True, timeout=300)
    if r.returncode != 0: raise RuntimeError(f"chromium failed on {page}: {r.stderr[-2000:]}")
    return r.stdout

def screenshot(browser: str, page: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', '--window-size=1100,2400',
                        '--hide-scrollbars', f'--screenshot={png}', page.as_uri()], capture_output=True, timeout=300)

def notebooks() -> tuple[list[Path], list[Path]]:
    "The library's notebooks (executed here), and the dated experiments (kept with their outputs, not re-run)."
    every = sorted(p for p in NBS.rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts and not p.name.startswith('_'))
    experiments = [p for p in every if 'experiments' in p.relative_to(NBS).parts]
    return [p for p in every if p not in experiments], experiments

def check_kept_outputs(nb) -> list[str]:
    "A dated experiment must keep the outputs of its run."
    code = [c for c in nb.cells if c.cell_type == 'code' and c.source.strip()]
    return [] if all(c.get('outputs') for c in code[-3:]) else ["its last cells have no outputs: run it and keep them"]

def check(path: Path, browser: str | None, shot, run: Future | None = None) -> tuple[list[str], list[str], str]:
    "Build one page and check it: its problems, notes, and a one-line summary. `run`: its execution, started already."
    rel = path.relative_to(NBS)
    executed, processed, page = OUT/'_executed'/rel, OUT/'_proc'/rel, OUT/rel.with_suffix('.html')
    for folder in (executed.parent, processed.parent, page.parent): folder.mkdir(parents=True, exist_ok=True)
    took = ''
    if 'experiments' in rel.parts:
        nb, errs = nbformat.read(path, as_version=4), []
        errs += check_kept_outputs(nb)
    else:
        try: nb, errs, seconds = run.result() if run else timed_execute(path)
        except Exception as error:     # a kernel that died, a cell past its time: this page fails, the others are still checked
            return [f"the notebook did not run: {type(error).__name__}: {str(error).strip()[:300]}"], [], 'not run'
        took = f"ran in {seconds:.0f} s, "
    nbformat.write(nb, executed)
    notes = []
    try: nbdev_process(executed, processed)
    except Exception as error:                  # nbdev-docs would stop here too, and publish nothing
        lines = str(error).strip().splitlines() or [repr(error)]
        cell = f" (the cell begins `{lines[1].strip()[:80]}`; nbdev runs cells that import, and they fail alone)" if len(lines) > 2 else ''
        errs += [f"nbdev's processing (the step nbdev-docs runs) failed: {lines[0].rstrip(' :')}: {lines[-1]}{cell}"]
        return errs + problems(nb), notes, 'not built'              # what the executed cells printed, still
    shown = as_quarto_shows(nbformat.read(processed, as_version=4))
    errs += problems(shown)
    published = page_html(shown, offline=False)
    size_mb = len(published.encode()) / 1e6
    if size_mb > MAX_PAGE_MB: errs.append(f"the page is {size_mb:.1f} MB as published (over {MAX_PAGE_MB} MB)")
    page.write_text(page_html(shown, offline=True))
    if missing_experiment_link(shown): notes.append("a cell says real speech is absent here: link the experiments/ notebook that keeps that run")
    figs, maths, summary = n_figures(shown), n_maths(shown), ''
    if browser:
        dom = rendered_dom(browser, page)
        drawn = len(re.findall(r'class="main-svg"', dom)) // 2    # plotly draws two svg layers per figure
        if drawn < figs: errs.append(f"{figs} figures in the page, {drawn} drawn by Chromium")
        typeset = len(set(re.findall(r'id="MathJax-Element-(\d+)-Frame"', dom)))
        if maths and local_mathjax() and typeset < maths: errs.append(f"{maths} maths in the page, {typeset} typeset by MathJax")
        if maths and not local_mathjax(): notes.append("maths not typeset here: pip install jupyter-server-mathjax")
        summary = f"{drawn}/{figs} figures drawn, {typeset}/{maths} maths typeset"
        if shot(figs): screenshot(browser, page, page.with_suffix('.png'))
    else: summary = f"{figs} figures, {maths} maths"
    return errs, notes, f"{took}{summary}, {size_mb:.2f} MB"

def main(args=None) -> int:
    parser = argparse.ArgumentParser(description="Build every notebook's docs page as the docs workflow does, and check it.")
    parser.add_argument('names', nargs='*', help='the pages to build: 00_core, measure/01_probe, ... (default: all)')
    parser.add_argument('--shots', action='store_true', help='screenshot every page (else only the first with figures)')
    parser.add_argument('--jobs', type=int, default=2, help='notebooks executing at once, each in its own kernel (default 2)')
    a = parser.parse_args(args)
    names, all_shots, jobs = a.names, a.shots, max(1, a.jobs)
    OUT.mkdir(exist_ok=True)
    nbs, experiments = notebooks()
    pages = experiments + nbs
    if names: pages = [p for p in pages if p.stem in names or str(p.relative_to(NBS).with_suffix('')) in names]
    browser, failed, shots = chromium(), [], []
    if browser is None: print("check_docs: chromium not found, pages are built and checked but not rendered (apt-get install chromium)")
    def shot(figs: int) -> bool:
        "Screenshot this page? Every page with --shots, else the first with figures."
        if all_shots or (figs and not shots): shots.append(1); return True
        return False
    todo = [p for p in pages if 'experiments' not in p.relative_to(NBS).parts]     # the dated ones keep their outputs
    jobs = max(1, min(jobs, len(todo)))
    pool = ProcessPoolExecutor(jobs) if jobs > 1 else None     # the kernels run the cells; this process builds pages
    import check_docs        # by its module's name: nbdev's processing runs cells in __main__, shadowing `execute` there
    threads = max(1, len(os.sched_getaffinity(0)) // jobs)
    key = lambda p: str(p.relative_to(NBS).with_suffix(''))
    first = sorted(todo, key=lambda p: LONGEST.index(key(p)) if key(p) in LONGEST else len(LONGEST))   # a stable sort
    runs = {p: pool.submit(check_docs.timed_execute, p, threads) for p in first} if pool else {}
    try:
        for path in [p for p in pages if p not in todo] + first:
            errs, notes, summary = check(path, browser, shot, runs.get(path))
            print(f"{'FAIL' if errs else 'ok  '} {path.relative_to(NBS)}: {summary}"
                  + ''.join(f"\n     {e}" for e in errs) + ''.join(f"\n     note: {n}" for n in notes), flush=True)
            failed += [str(path.relative_to(NBS))] * bool(errs)
    finally:
        if pool: pool.shutdown(cancel_futures=True)     # on an error too: queued notebooks are not run to the end first
    if failed: print(f"check_docs: {len(failed)} page(s) failed: {', '.join(failed)}"); return 1
    return 0

if __name__ == '__main__': sys.exit(main())
