"""python3 -m vitrt.dask: classify (or embed) images on a Dask cluster into JSON lines, in input order.

    python3 -m vitrt.dask --model M --output out.jsonl [--scheduler tcp://host:8786]
                          [--workers N] [--threads-per-worker T] [--embed] [--list FILE] PATHS...

Without --scheduler a LocalCluster of N worker processes x T threads runs here. Exit status: 0, 1
when some images failed (their rows carry "error"), 2 on a usage or setup error.
"""
import argparse
import os
import sys

import vitrt

USAGE_EPILOG = """\
Rows: {"image", "top_k": [{"index", "label", "prob"}]} as `vitrt classify --json` prints them, or
{"image", "embedding": [...]} with --embed, or {"image", "error"}. Relative paths (images, model)
are made absolute: on a real cluster they must name the same files on every worker (a shared
file system). See docs/python.md."""


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m vitrt.dask", description=__doc__.splitlines()[0],
                                epilog=USAGE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", help="image files or directories (walked for .jpg/.jpeg/.png, sorted)")
    p.add_argument("--list", dest="list_file", help="a file with one image path per line ('-': standard input)")
    p.add_argument("--model", "-m", help="model file or directory (default: the bundled ViT-Ti/16)")
    p.add_argument("--output", "-o", default="-", help="JSON lines output (default '-': standard output)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786); default: a LocalCluster")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default 1)")
    p.add_argument("--threads-per-worker", type=int,
                   help="LocalCluster threads per worker = engine threads (default: cores / workers)")
    p.add_argument("--embed", action="store_true", help="pooled pre-logits features instead of top-k classes")
    p.add_argument("--top-k", "-k", type=int, default=5, help="classes per image (default 5)")
    p.add_argument("--batch", type=int, default=8, help="images per forward pass (default 8)")
    p.add_argument("--partition-size", type=int, default=64, help="images per Dask task (default 64)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or ref")
    p.add_argument("--precision", default="f32", help="as the CLI's --precision (default f32)")
    p.add_argument("--image-size", type=int, help="run at this square resolution")
    p.add_argument("--arch", help="timm architecture name, when the checkpoint does not say")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    a = p.parse_args(argv)
    if a.scheduler and (a.workers or a.threads_per_worker):
        p.error("--workers and --threads-per-worker size a LocalCluster; with --scheduler the cluster's own "
                "workers run (start them with `dask-worker ADDR --nthreads CORES`)")
    for name in ("workers", "threads_per_worker", "top_k", "batch", "partition_size"):
        v = getattr(a, name)
        if v is not None and v < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1 (got {v})")
    if not a.paths and not a.list_file:
        p.error("no images: give paths or --list FILE")
    return a


def read_paths(a):
    paths = vitrt.list_images(a.paths) if a.paths else []
    if a.list_file:
        f = sys.stdin if a.list_file == "-" else open(a.list_file, encoding="utf-8", errors="surrogateescape")
        with f:
            paths += [line.rstrip("\r\n") for line in f if line.strip()]
    return [os.path.abspath(p) for p in paths]


def start_client(a):
    from distributed import Client, LocalCluster

    if a.scheduler:
        return Client(a.scheduler, timeout="30s"), None
    workers = a.workers or 1
    threads = a.threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    cluster = LocalCluster(n_workers=workers, threads_per_worker=threads, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def main(argv=None):
    a = parse_args(argv)
    from .progress import Progress
    from .runner import infer, write_jsonl

    try:
        paths = read_paths(a)
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not paths:
        print("vitrt.dask: no images found in the given paths", file=sys.stderr)
        return 2
    model = os.path.abspath(a.model) if a.model and os.path.exists(a.model) else a.model
    try:
        client, cluster = start_client(a)
    except (OSError, TimeoutError) as e:
        print(f"error: cannot {'reach the Dask scheduler ' + a.scheduler if a.scheduler else 'start a LocalCluster'}: {e}",
              file=sys.stderr)
        return 2
    try:
        workers = client.nthreads()
        print(f"vitrt.dask: {len(paths)} images on {len(workers)} workers ({sum(workers.values())} threads), "
              f"scheduler {client.scheduler.address}", file=sys.stderr)
        rows = infer(client, paths, model, embed=a.embed, top_k=a.top_k, batch_size=a.batch,
                     partition_size=a.partition_size, on_progress=None if a.quiet else Progress(len(paths)),
                     device=a.device, precision=a.precision, image_size=a.image_size, arch=a.arch)
        if a.output == "-":
            n, failed = write_jsonl(rows, sys.stdout)
        else:
            with open(a.output, "w", encoding="utf-8") as out:
                n, failed = write_jsonl(rows, out)
    except vitrt.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if failed:
        print(f"{failed} of {n} image(s) failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
