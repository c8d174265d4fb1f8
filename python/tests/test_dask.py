"""vitrt.dask on a LocalCluster of 2 worker processes x 1 thread (the machine is small): the same
rows as one process, one engine per worker loaded once, no image lost when a worker is killed
mid-run, and the `python3 -m vitrt.dask` command. The 127 shared photos when ../shared/data is
there, else the bundled sample photos (4 times).

Tolerance: none. Workers and the single-process reference run the same engine with one thread and
the same batches (partitions are whole batches), so rows must be equal bit for bit. Every wait is
bounded (timeouts below, plus a watchdog that dumps the stacks and exits after 10 minutes)."""
import faulthandler
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import vitrt
from testenv import BUNDLED_MODEL, SHARED_MODEL, SOURCE_DIR, sample_images

distributed = pytest.importorskip("distributed")
import vitrt.dask  # noqa: E402
from vitrt.dask.worker import classify_row  # noqa: E402

BATCH = 8
PARTITION = 16  # two batches


@pytest.fixture(scope="module")
def client():
    faulthandler.dump_traceback_later(600, exit=True)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       timeout="120s")
    c = distributed.Client(cluster, timeout="120s")
    c.wait_for_workers(2, timeout=120)
    yield c
    c.close(timeout=60)
    cluster.close(timeout=60)
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def case(request):
    """(model, images): the real ViT-Ti/16 file and the 127 shared photos, or without
    ../shared/data the bundled model (the same weights) and the sample photos 4 times."""
    try:
        return SHARED_MODEL, request.getfixturevalue("shared_images")
    except pytest.skip.Exception:
        return BUNDLED_MODEL, sample_images() * 4


@pytest.fixture(scope="module")
def reference(case):
    """Single-process rows (one thread, the workers' batches)."""
    model, images = case
    m = vitrt.load(model, threads=1)
    return [classify_row(r) for r in m.classify(images, top_k=5, batch_size=BATCH)]


def worker_plugins(client, plugin):
    """{worker address: (engine loads, engine threads, worker threads)}."""
    def probe(dask_worker, name=plugin.name):
        p = dask_worker.plugins[name]
        return p.loads, p.engine.threads, dask_worker.state.nthreads
    return client.run(probe)


def test_cluster_gives_the_single_process_rows(client, case, reference):
    model, images = case
    rows = list(vitrt.dask.infer(client, images, model, batch_size=BATCH, partition_size=PARTITION))
    assert len(images) > 2 * PARTITION
    assert rows == reference
    assert not any("error" in r for r in rows)
    # One engine per worker, loaded once for all the partitions, with the worker's thread count.
    plugin = vitrt.dask.EnginePlugin(model)
    assert list(worker_plugins(client, plugin).values()) == [(1, 1, 1)] * 2
    # The same partitions as a lazy dask.bag, computed on the cluster (the default scheduler).
    bag = vitrt.dask.result_bag(images[:2 * PARTITION], plugin, batch_size=BATCH, partition_size=PARTITION)
    assert bag.npartitions == 2 and bag.compute() == reference[:2 * PARTITION]


def test_cluster_embeddings(client, case):
    model, images = case
    images = images[:24] + ["/nonexistent/photo.jpg"]
    rows = list(vitrt.dask.infer(client, images, model, embed=True, batch_size=BATCH, partition_size=PARTITION))
    want = vitrt.load(model, threads=1).embed_images(images, batch_size=BATCH)
    assert [r["image"] for r in rows] == images
    for r, w in zip(rows[:-1], want):
        np.testing.assert_array_equal(r["embedding"], w["embedding"])
    assert "No such file" in rows[-1]["error"]


def test_killed_worker_loses_no_image(client, case, reference):
    model, images = case
    pids = client.run(os.getpid)
    killed_at, lost = [], []

    def kill_once(done, failed):
        """After the first partition: SIGKILL the worker with the most partitions assigned."""
        if killed_at:
            return
        processing = client.processing()
        address = max(processing, key=lambda a: len(processing[a]))
        os.kill(pids[address], signal.SIGKILL)
        killed_at.append(done)
        lost.extend(processing[address])

    rows = list(vitrt.dask.infer(client, images, model, batch_size=BATCH, partition_size=8,
                                 max_in_flight=4, on_progress=kill_once, threads=1))
    assert killed_at and killed_at[0] < len(images) and lost  # killed mid-run, holding partitions
    assert [r["image"] for r in rows] == images  # exactly one row per input, in order
    # Every lost partition was rerun; partitions of 8 are single batches, so the rows are the same.
    assert rows == reference
    client.wait_for_workers(2, timeout=180)  # the nanny restarts the killed worker
    assert set(client.run(os.getpid).values()) != set(pids.values())


def test_command_line(tmp_path, samples):
    """python3 -m vitrt.dask with its own LocalCluster, images from a directory and a list file."""
    listing = tmp_path / "list.txt"
    listing.write_text("/nonexistent/photo.jpg\n")
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "vitrt.dask", "--model", BUNDLED_MODEL, "--workers", "2", "--threads-per-worker", "1",
           "--partition-size", "4", "--batch", "4", "--top-k", "3", "--output", str(out), "--list", str(listing),
           os.path.join(SOURCE_DIR, "samples")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr  # one image failed
    assert "9/10 images" not in p.stderr and "10/10 images" in p.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    m = vitrt.load(BUNDLED_MODEL, threads=1)
    want = [classify_row(r) for r in m.classify(samples + ["/nonexistent/photo.jpg"], top_k=3, batch_size=4)]
    assert rows == want


def test_command_line_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "vitrt.dask", *args], capture_output=True, text=True, timeout=300)

    p = run("--scheduler", "tcp://127.0.0.1:1", "--workers", "2", "x.jpg")
    assert p.returncode == 2 and "--workers and --threads-per-worker size a LocalCluster" in p.stderr
    p = run("--output", str(tmp_path / "o.jsonl"))
    assert p.returncode == 2 and "no images" in p.stderr
    p = run("--model", "/nonexistent/model.safetensors", "--workers", "1", "--threads-per-worker", "1",
            "--output", str(tmp_path / "o.jsonl"), os.path.join(SOURCE_DIR, "samples"))
    assert p.returncode == 2 and "error: /nonexistent/model.safetensors: no such file or directory" in p.stderr


def test_command_line_on_a_running_scheduler(tmp_path, samples):
    """--scheduler: a separately started dask-scheduler and dask-worker (what a real cluster runs)."""
    sched_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file",
                               str(sched_file), "--port", "0", "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file",
                                       str(sched_file), "--nthreads", "1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(scheduler_file=str(sched_file), timeout="120s") as c:
            c.wait_for_workers(1, timeout=120)
            address = c.scheduler.address
        out = tmp_path / "out.jsonl"
        p = subprocess.run([sys.executable, "-m", "vitrt.dask", "--scheduler", address, "--model", BUNDLED_MODEL,
                            "--quiet", "--output", str(out), *samples], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        want = [classify_row(r) for r in vitrt.load(BUNDLED_MODEL, threads=1).classify(samples, batch_size=8)]
        assert rows == want
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
