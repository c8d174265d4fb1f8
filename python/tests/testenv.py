"""Paths and CLI helpers of the Python tests (conftest.py holds the fixtures).

Environment (set by ctest; defaults for a manual `PYTHONPATH=build/python python3 -m pytest python/tests`):
  VITRT_CLI               the vitrt binary (default build/vitrt)
  VITRT_TEST_SHARED_DATA  ../shared/data: real ViT-Ti/16 weights and 127 photos; tests that need it skip without it
  VITRT_TEST_SOURCE_DIR   the repository (bundled model in models/, sample photos in samples/)
"""
import json
import os
import subprocess

import vitrt

SOURCE_DIR = os.environ.get("VITRT_TEST_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SHARED = os.environ.get("VITRT_TEST_SHARED_DATA") or os.path.join(SOURCE_DIR, "../shared/data")
CLI = os.environ.get("VITRT_CLI") or os.path.join(SOURCE_DIR, "build/vitrt")
BUNDLED_MODEL = os.path.join(SOURCE_DIR, "models/vit_tiny_patch16_224")
SHARED_MODEL = os.path.join(SHARED, "models/vit_tiny_patch16_224/vit_tiny_patch16_224.augreg_in21k_ft_in1k.safetensors")


def sample_images():
    """The bundled sample photos (samples/), sorted."""
    return vitrt.list_images([os.path.join(SOURCE_DIR, "samples")])


def run_cli(cli, *args):
    """(returncode, stdout, stderr) of the CLI."""
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def cli_classify(cli, model, images, batch, top_k=5):
    """`vitrt classify --json --logits` rows, by image."""
    rc, out, err = run_cli(cli, "classify", "--model", model, "--json", "--logits", "--batch", str(batch),
                           "--top-k", str(top_k), *images)
    assert rc in (0, 1), err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["image"] for r in rows] == list(images)
    return rows


def cli_error(cli, *args):
    """The message of the CLI's `error: ...` line for a command that fails."""
    rc, _, err = run_cli(cli, *args)
    assert rc != 0
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert lines, err
    return lines[0][len("error: "):]
