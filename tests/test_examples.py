"""The examples run as documented (CI runs them through this test)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quickstart_runs_from_the_shipped_models(tmp_path, mnist_dir):
    out = tmp_path / "q.png"
    res = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py"), "--data", str(mnist_dir),
                          "--out", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SEMCOM_STORE": str(tmp_path / "s")})
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    assert any(line.strip().startswith("Clean(): accuracy") for line in lines)
    assert any("BSC(p=0.01): accuracy" in line for line in lines)
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_readme_notebook_example_runs_and_prints_plausible_numbers(tmp_path, mnist_dir):
    readme = (REPO / "README.md").read_text()
    start = readme.index("```python\nimport channels, semcom") + len("```python\n")
    code = readme[start:readme.index("```", start)].replace("../shared/data/mnist", str(mnist_dir))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SEMCOM_STORE": str(tmp_path / "s")})
    assert res.returncode == 0, res.stderr[-2000:]
    bsc, coded = res.stdout.splitlines()[-2:]
    accuracy, mse, ber = map(float, bsc.split())
    assert 0.5 < accuracy < 0.9 and 0.02 < mse < 0.08 and abs(ber - 0.01) < 0.002  # NA2-8b over BSC(0.01)
    assert 0.5 < float(coded) < 0.9
