"""Handwriting tests: Qt only where the real canvas is compared; a private data folder each."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "digitpad-data"
    monkeypatch.setenv("DIGITPAD_DATA_DIR", str(folder))
    return folder
