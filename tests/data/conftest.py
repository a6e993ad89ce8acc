"""Every data test runs without SEMCOM_DATA, with a private XDG cache and with no network:
a test that needs a server installs its own fake over ``urlopen``."""

import pytest

import semcom.data.download as dl


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("SEMCOM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

    def offline(*a, **k):
        raise dl.urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(dl, "urlopen", offline)
