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


def _readme_blocks(marker: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"```python\n{marker}") + len("```python\n")
    return readme[start:readme.index("```", start)]


def test_readme_extension_examples_add_a_working_channel_objective_and_family():
    import numpy as np
    import torch

    from semcom.models import families
    from semcom.models.training import objectives

    import channels

    scope: dict = {}
    saved = (dict(channels.registry.KINDS), dict(objectives.OBJECTIVES), dict(families.FAMILIES))
    try:
        for marker in ("# a new channel", "# a new training objective", "# a new codec family"):
            exec(compile(_readme_blocks(marker), f"README {marker}", "exec"), scope)
        stuck = channels.make("stuck0", q=1.0)
        bits = np.ones((4, 8), dtype=np.uint8)
        assert not stuck(bits, np.random.default_rng(0)).bits.any()  # every bit forced to 0
        assert objectives.loss_weights("edges_only").bands == {"HH": 0.0035}
        family = families.family_of("random_codebook")
        with pytest.raises(ValueError, match="random_codebook needs"):
            family.check(13, None, None)
        codec = family.codec_class()(2)
        codec.fit(torch.rand(16, 1, 28, 28), iterations=0, seed=0)
        assert codec.encode(torch.rand(3, 1, 28, 28)).shape[0] == 3
    finally:
        channels.registry.KINDS.clear(); channels.registry.KINDS.update(saved[0])
        objectives.OBJECTIVES.clear(); objectives.OBJECTIVES.update(saved[1])
        families.FAMILIES.clear(); families.FAMILIES.update(saved[2])
