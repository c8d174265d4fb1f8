"""The client side of a run: image paths cut into partitions, each classified (or embedded) on a
worker by its engine (worker.infer_partition); results come back in input order with a bounded
number of partitions in flight, so millions of paths never sit in the cluster's memory at once.

The run submits one task per partition itself (client.submit, a sliding window) instead of
computing a dask.bag in one go: a bag of a million paths is one graph that every partition's
compute would carry and cull. result_bag() is the same partitions as a lazy dask.bag, for
composing with other Dask code.

Exactly one row per input: when a worker dies, the scheduler reruns its partitions elsewhere (a
restarted worker loads its engine again); a partition that still fails (Dask's KilledWorker after
repeated deaths, or an exception) yields an error row for each of its images instead of results.
"""
import json
import os
import sys
import uuid

import dask.bag as db
import numpy as np
from distributed import as_completed

from .worker import EnginePlugin, infer_partition


def result_bag(paths, plugin, *, embed=False, top_k=5, batch_size=8, partition_size=64):
    """A lazy dask.bag of result rows for a sequence (or a dask.bag) of image paths, for composing
    with other Dask code; `plugin` (an EnginePlugin) must be registered on the workers."""
    bag = paths if isinstance(paths, db.Bag) else db.from_sequence(paths, partition_size=partition_size)
    return bag.map_partitions(infer_partition, plugin.name, embed=embed, top_k=top_k, batch_size=batch_size)


def infer(client, paths, model=None, *, embed=False, top_k=5, batch_size=8, partition_size=64,
          max_in_flight=None, on_progress=None, **engine_options):
    """Yields one result row per path, in input order (see infer_partition for the rows).

    model and engine_options (device, precision, threads, image_size, arch, max_image_pixels) are
    vitrt.load()'s; threads defaults to each worker's thread count. max_in_flight: partitions
    submitted at once (default: twice the cluster's threads, at least 4). on_progress(done_images,
    failed_images) is called after every partition."""
    paths = [os.fsdecode(p) for p in paths]
    if partition_size < 1 or batch_size < 1:
        raise ValueError(f"partition_size and batch_size must be at least 1 (got {partition_size}, {batch_size})")
    if not paths:
        return
    plugin = EnginePlugin(model, **engine_options)
    client.register_worker_plugin(plugin)  # raises here when the model cannot load
    chunks = [paths[i:i + partition_size] for i in range(0, len(paths), partition_size)]
    run_id = uuid.uuid4().hex[:8]

    in_flight, ready = {}, {}  # future -> partition; partition -> rows not yet yielded
    pending = as_completed()
    submitted = next_out = done = failed = 0

    def submit():
        nonlocal submitted
        window = max_in_flight or max(4, 2 * sum(client.nthreads().values()))
        while submitted < len(chunks) and len(in_flight) < window:
            f = client.submit(infer_partition, chunks[submitted], plugin.name, embed=embed, top_k=top_k,
                              batch_size=batch_size, key=f"vitrt-partition-{run_id}-{submitted}")
            in_flight[f] = submitted
            pending.add(f)
            submitted += 1

    try:
        submit()
        for f in pending:
            i = in_flight.pop(f)
            rows = _partition_rows(f, i, chunks[i])
            f.release()
            done += len(rows)
            failed += sum("error" in r for r in rows)
            ready[i] = rows
            if on_progress:
                on_progress(done, failed)
            submit()
            while next_out in ready:
                yield from ready.pop(next_out)
                next_out += 1
    finally:
        if in_flight:  # the caller stopped early
            client.cancel(list(in_flight))


def _partition_rows(future, index, chunk):
    try:
        rows = future.result()
    except Exception as e:  # KilledWorker, or an exception in the task
        return [{"image": p, "error": f"vitrt.dask: partition {index} failed: {type(e).__name__}: {e}"} for p in chunk]
    if len(rows) != len(chunk) or any(r.get("image") != p for r, p in zip(rows, chunk)):
        return [{"image": p, "error": f"vitrt.dask: partition {index} returned rows that do not match its images"}
                for p in chunk]
    return rows


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def write_jsonl(rows, out=None):
    """Writes rows as JSON lines to a text stream (default stdout); returns (rows written, rows with
    an error). Non-ASCII characters (and file-name bytes that are not UTF-8) are \\u escapes."""
    out = out or sys.stdout
    n = errors = 0
    for r in rows:
        out.write(json.dumps(r, default=_json_default) + "\n")
        n += 1
        errors += "error" in r
    out.flush()
    return n, errors

