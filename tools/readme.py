"Write README.md from nbs/index.ipynb (nbdev-readme needs Quarto, which cannot be installed here)."
import re
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parent.parent

def readme() -> str:
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    text = '\n\n'.join(c.source for c in nb.cells if c.cell_type == 'markdown')
    text = re.sub(r'^> (.*)$', r'\1', text, count=1, flags=re.M)    # the subtitle
    return "<!-- generated from nbs/index.ipynb by tools/readme.py; edit the notebook -->\n\n" + text + '\n'

if __name__ == '__main__': (ROOT/'README.md').write_text(readme())
