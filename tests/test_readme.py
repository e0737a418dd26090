"What the README shows a new user runs as shown."
import re
from conftest import ROOT

def test_the_readme_python_runs():
    blocks = re.findall(r'```python\n(.*?)```', (ROOT/'README.md').read_text(), re.S)
    assert blocks, "the README shows no Python"
    namespace = {}
    for block in blocks: exec(compile(block, 'README.md', 'exec'), namespace)
    table = namespace['table']
    assert set(table.method) == {'lookup', 'random', 'ridge', 'knn'} and set(table.split) == {'train', 'heldout'}

def test_the_readme_says_why_the_project_differs_from_its_design():
    notes = (ROOT/'README.md').read_text().split('## Design notes')[1].split('\n## ')[0]
    assert 'settings.ini' in notes and 'pyproject.toml' in notes and 'nbdev 3' in notes
    assert 'torchaudio' in notes and 'soundfile' in notes and 'soxr' in notes and 'torch.stft' in notes
