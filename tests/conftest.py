"""Fixtures shared by the test files."""

from __future__ import annotations

import pytest

import archspec


@pytest.fixture(scope="session")
def resnet18() -> archspec.Model:
    """The built-in ResNet-18 (tests read it, none changes it)."""
    return archspec.load("resnet18")
