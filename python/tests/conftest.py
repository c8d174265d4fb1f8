"""Fixtures of the Python tests (ctest runs them as Python.Binding and Python.Dask); paths and
helpers are in testenv.py."""
import csv
import os

import pytest

import vitrt
from testenv import BUNDLED_MODEL, CLI, SHARED, SHARED_MODEL, sample_images


@pytest.fixture(scope="session")
def samples():
    return sample_images()


@pytest.fixture(scope="session")
def bundled():
    """The bundled ViT-Ti/16 (in every clone)."""
    return vitrt.load(BUNDLED_MODEL)


@pytest.fixture(scope="session")
def shared_images():
    """The 127 photos of ../shared/data/images (labels.csv order)."""
    labels = os.path.join(SHARED, "images/labels.csv")
    if not os.path.exists(labels) or not os.path.exists(SHARED_MODEL):
        pytest.skip(f"shared data not found at {SHARED} (set VITRT_TEST_SHARED_DATA)")
    with open(labels, newline="") as f:
        return [os.path.join(SHARED, "images", row["path"]) for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def cli():
    if not os.access(CLI, os.X_OK):
        pytest.skip(f"vitrt CLI not found at {CLI} (set VITRT_CLI)")
    return CLI
