import os, sys
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')      # never wait on a hub that cannot be reached
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent/'shared'/'speech'/'real'
LATENTLAB = str(Path(sys.executable).parent/'latentlab')

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real speech not found at {REAL} (../shared is absent in this clone)")
