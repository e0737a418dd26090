"""Build every notebook to executed HTML (the docs' pages, as Quarto would show them) and check each page.

A page passes when its notebook ran without an error, no cell printed a traceback, every plotly figure the
notebook makes is in the HTML, and, rendered in headless Chromium, each figure was drawn (plotly.js made its SVG).
Quarto cannot be installed here, so this stands in for `nbdev-docs` in CI; the GitHub docs workflow runs the real one.
Pages are written to _docs_html/ (and a screenshot of the first page with figures, for a person to look at).
Notebooks under nbs/experiments/ are dated runs kept with their outputs: they are checked for errors, not re-run.
"""
import os, re, shutil, subprocess, sys, tempfile
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/'_docs_html'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--virtual-time-budget=20000']

def execute(path: Path) -> nbformat.NotebookNode:
    "Run a notebook top to bottom in its folder, plotly drawing through embedded plotly.js (no network)."
    nb = nbformat.read(path, as_version=4)
    os.environ['PLOTLY_RENDERER'] = 'notebook'
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    return nb

def problems(nb) -> list[str]:
    "Error outputs and tracebacks printed by any cell."
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get('outputs', []):
            if o.output_type == 'error': out.append(f"cell {i}: {o.ename}: {o.evalue}")
            if o.output_type == 'stream' and o.name == 'stderr' and 'Traceback' in o.text: out.append(f"cell {i}: traceback on stderr")
    return out

def n_figures(nb) -> int:
    "Plotly figures among the notebook's outputs."
    return sum('plotly' in str(o.get('data', {}).get('text/html', '')) and 'Plotly.newPlot' in str(o.get('data', {}).get('text/html', ''))
               for c in nb.cells for o in c.get('outputs', []))

def chromium() -> str | None:
    return shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

def rendered_dom(browser: str, page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([browser, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', '--dump-dom', page.as_uri()],
                           capture_output=True, text=True, timeout=180)
    if r.returncode != 0: raise RuntimeError(f"chromium failed on {page}: {r.stderr[-2000:]}")
    return r.stdout

def screenshot(browser: str, page: Path, png: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', '--window-size=1200,2400',
                        f'--screenshot={png}', page.as_uri()], capture_output=True, timeout=180)

def notebooks() -> tuple[list[Path], list[Path]]:
    "The library's notebooks (executed here), and the dated experiments (kept with their outputs, not re-run)."
    every = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
    experiments = [p for p in every if 'experiments' in p.relative_to(ROOT/'nbs').parts]
    return [p for p in every if p not in experiments], experiments

def check_experiment(path: Path) -> list[str]:
    "A dated experiment must keep the outputs of a run that had no error."
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == 'code' and c.source.strip()]
    errs = problems(nb)
    if not all(c.get('outputs') for c in code[-3:]): errs.append("its last cells have no outputs: run it and keep them")
    return errs

def main(names=None) -> int:
    OUT.mkdir(exist_ok=True)
    nbs, experiments = notebooks()
    if names:
        nbs = [p for p in nbs if p.stem in names or str(p.relative_to(ROOT/'nbs').with_suffix('')) in names]
        experiments = [p for p in experiments if p.stem in names]
    browser, failed, shot = chromium(), [], False
    if browser is None: print("check_docs: chromium not found, pages are built and checked but not rendered (apt-get install chromium)")
    for path in experiments:
        errs = check_experiment(path)
        print(f"{'FAIL' if errs else 'ok  '} {path.relative_to(ROOT/'nbs')}: kept outputs" + ''.join(f"\n     {e}" for e in errs))
        failed += [path.name] * bool(errs)
    for path in nbs:
        nb = execute(path)
        page = OUT/path.relative_to(ROOT/'nbs').with_suffix('.html')
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(HTMLExporter().from_notebook_node(nb)[0])
        errs, figs = problems(nb), n_figures(nb)
        drawn = None
        if browser and figs:
            dom = rendered_dom(browser, page)
            drawn = len(re.findall(r'class="main-svg"', dom)) // 2   # plotly draws two svg layers per figure
            if drawn < figs: errs.append(f"{figs} figures in the page, {drawn} drawn by Chromium")
            if not shot: screenshot(browser, page, OUT/f'{path.stem}.png'); shot = True
        print(f"{'FAIL' if errs else 'ok  '} {path.relative_to(ROOT/'nbs')}: {figs} figures" + (f", {drawn} drawn" if drawn is not None else '')
              + ''.join(f"\n     {e}" for e in errs))
        failed += [path.name] * bool(errs)
    if failed: print(f"check_docs: {len(failed)} page(s) failed: {', '.join(failed)}"); return 1
    return 0

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
