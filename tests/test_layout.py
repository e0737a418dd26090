"""The architecture, read from the code: each floor imports only the floors below it, `measure/` reads stores
but never audio or encoders, nothing imports `experiments/`, there are no import cycles, and the notebooks'
folders mirror the package's."""
import ast, json, re
from pathlib import Path
import pytest
from conftest import ROOT

LIB = ROOT/'latentlab'
FLOORS = {'core': 0, 'data': 1, 'encoders': 2, 'pretrained': 2, 'autoencoders': 2, 'store': 3, 'catalogue': 3, 'measure': 4, 'train': 5, 'models': 6,
          'experiment': 7, 'widgets': 8, 'cli': 8}

def module_name(path: Path) -> str:
    return '.'.join(path.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__')

def imports_of(path: Path) -> set[str]:
    "The latentlab modules `path` imports, absolute or relative, at any depth of its code."
    package = module_name(path).rsplit('.', 1)[0] if path.name != '__init__.py' else module_name(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import): names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parent = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(parent + ([base] if base else []))
            names = [base] + [f'{base}.{a.name}' for a in node.names]
        else: continue
        found |= {n for n in names if n.startswith('latentlab.') and module_of(n)}
    return {module_of(n) for n in found}

def module_of(name: str) -> str | None:
    "The module `name` is, or is in (`latentlab.measure.core.Condition` → `latentlab.measure.core`)."
    parts = name.split('.')
    for k in range(len(parts), 1, -1):
        candidate = LIB.joinpath(*parts[1:k])
        if candidate.with_suffix('.py').exists() or (candidate/'__init__.py').exists(): return '.'.join(parts[:k])
    return None

def floor(module: str) -> int | None:
    return FLOORS.get(module.split('.')[1]) if module.count('.') else None

GRAPH = {module_name(p): imports_of(p) - {module_name(p)}
         for p in LIB.rglob('*.py') if p.name not in ('_modidx.py',)}

def test_every_module_has_a_floor():
    assert not [m for m in GRAPH if m != 'latentlab' and floor(m) is None]

@pytest.mark.parametrize('module', sorted(GRAPH))
def test_imports_go_down_only(module):
    if module == 'latentlab': return
    up = [other for other in GRAPH[module] if other != 'latentlab' and floor(other) > floor(module)]
    assert not up, f"{module} (floor {floor(module)}) imports higher floors: {up}"

def test_measure_reads_stores_not_audio_or_encoders():
    bad = {m: sorted(i for i in imports if i.startswith(('latentlab.data', 'latentlab.encoders')))
           for m, imports in GRAPH.items() if m.startswith('latentlab.measure')}
    assert not any(bad.values()), bad

def test_nothing_imports_experiments():
    assert not (LIB/'experiments').exists()
    text = '\n'.join(p.read_text() for p in LIB.rglob('*.py'))
    assert not re.search(r'^\s*(from|import)\s+\S*experiments', text, re.M)

def test_no_import_cycles():
    state, cycle = {}, []
    def visit(m, path):
        if state.get(m) == 'done': return
        if state.get(m) == 'open': cycle.append(path[path.index(m):] + [m]); return
        state[m] = 'open'
        for other in GRAPH.get(m, ()): visit(other, path + [m])
        state[m] = 'done'
    for m in GRAPH: visit(m, [])
    assert not cycle, cycle

def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    "The rules above would fail on a module that breaks them (the checker is not vacuous)."
    assert 'latentlab.store' in GRAPH['latentlab.measure.probe']
    assert floor('latentlab.widgets') > floor('latentlab.measure.probe') > floor('latentlab.store')
    bad = LIB/'measure'/'_layout_probe_tmp.py'
    bad.write_text('from ..data.audio import load_audio\nfrom latentlab.widgets import CoarsenessExplorer\n')
    try: assert imports_of(bad) == {'latentlab.data.audio', 'latentlab.widgets'}
    finally: bad.unlink()

def test_notebook_folders_mirror_the_package():
    for nb in (ROOT/'nbs').rglob('*.ipynb'):
        rel = nb.relative_to(ROOT/'nbs')
        cells = json.loads(nb.read_text())['cells']
        exp = [m.group(1) for c in cells for m in [re.search(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source']))] if m]
        if rel.parts[0] == 'experiments': assert not exp, f"{rel} exports {exp}: experiments are not exported"
        elif len(rel.parts) > 1: assert exp and exp[0].split('.')[0] == rel.parts[0], f"{rel} exports {exp}"
