"""Batch inference at cluster scale on Dask (Debian python3-distributed): classify or embed
millions of images, one engine per worker, partitions of image paths, results in input order.

    from distributed import Client
    import vitrt.dask
    client = Client("tcp://scheduler:8786")            # or Client(LocalCluster(...))
    with open("out.jsonl", "w") as f:
        vitrt.dask.write_jsonl(vitrt.dask.infer(client, paths, model="/shared/vit_base"), f)

or from a shell: python3 -m vitrt.dask --model M --output out.jsonl [--scheduler ADDR] PATHS...
(docs/python.md).
"""
from .runner import infer, result_bag, write_jsonl
from .worker import EnginePlugin, infer_partition, worker_plugin

__all__ = ["infer", "result_bag", "write_jsonl", "EnginePlugin", "infer_partition", "worker_plugin"]
