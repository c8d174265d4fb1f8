"""What runs on the Dask workers: one engine per worker (a WorkerPlugin, loaded once when the worker
starts, again only on a worker that replaces a dead one) and the per-partition task.

Threads: the engine gets as many threads as the worker has (its `--nthreads`, the cores it owns),
and a worker runs one partition at a time through it (a lock), so a worker never uses more cores
than it was given, whatever its thread count. Start workers with one thread per core they own.
"""
import asyncio
import hashlib
import json
import threading

from distributed import WorkerPlugin, get_worker

import vitrt


def _nthreads(worker):
    return getattr(worker, "state", worker).nthreads


class EnginePlugin(WorkerPlugin):
    """Loads vitrt.load(model, **options) once on every worker, with threads = the worker's thread
    count unless options say otherwise. The model path must be readable on every worker."""

    def __init__(self, model=None, **options):
        self.model, self.options = model, options
        key = json.dumps([model, sorted(options.items())], default=str)
        self.name = "vitrt-engine-" + hashlib.sha1(key.encode()).hexdigest()[:12]
        self.engine, self.loads, self.lock = None, 0, None

    def __getstate__(self):  # the loaded engine stays on its worker
        return {"model": self.model, "options": self.options, "name": self.name}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.engine, self.loads, self.lock = None, 0, None

    async def setup(self, worker):
        # In a thread: a large checkpoint takes seconds, and the worker's event loop must keep
        # answering the scheduler meanwhile.
        options = dict(self.options)
        if not options.get("threads"):
            options["threads"] = _nthreads(worker)
        self.lock = threading.Lock()
        self.engine = await asyncio.get_running_loop().run_in_executor(None, lambda: vitrt.load(self.model, **options))
        self.loads += 1

    def teardown(self, worker):
        self.engine = None


def worker_plugin(plugin_name):
    """This worker's EnginePlugin (for the tasks, and for checks through client.run)."""
    plugin = get_worker().plugins.get(plugin_name)
    if plugin is None or plugin.engine is None:
        raise RuntimeError(f"vitrt: this worker has no engine ({plugin_name}); register "
                           "vitrt.dask.EnginePlugin with client.register_worker_plugin first")
    return plugin


def infer_partition(paths, plugin_name, embed=False, top_k=5, batch_size=8):
    """Result rows for one partition of image paths, in order: {"image", "top_k": [{"index",
    "label", "prob"}]} (what `vitrt classify --json` prints), {"image", "embedding": float32 array}
    with embed, or {"image", "error"} for an image that failed."""
    plugin = worker_plugin(plugin_name)
    paths = list(paths)
    with plugin.lock:
        if embed:
            return plugin.engine.embed_images(paths, batch_size=batch_size)
        rows = plugin.engine.classify(paths, top_k=top_k, batch_size=batch_size)
    return [classify_row(r) for r in rows]


def classify_row(r):
    """A vitrt.Engine.classify() result as the row `vitrt classify --json` prints (a probability's
    9 significant digits are the float32 exactly)."""
    if "top_k" not in r:
        return r
    return {"image": r["image"],
            "top_k": [{"index": p.index, "label": p.label, "prob": float(f"{p.prob:.9g}")} for p in r["top_k"]]}
