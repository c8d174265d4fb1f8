"""Threads: one engine shared by Python threads gives the same bits as one thread; the GIL is
released while the engine runs (other Python threads keep running); the engine's `threads` holds
in whichever thread calls it. Bundled model only.

Tolerance for the GIL check: while a forward of a few hundred milliseconds runs in one thread, the
longest pause of a Python loop in another must stay under half of it (it would be the whole
forward if the GIL were held; it is typically a few milliseconds, the interpreter's switch
interval, plus whatever the OS scheduler adds on a busy machine)."""
import os
import sys
import threading
import time

import numpy as np
import pytest

import vitrt
from testenv import BUNDLED_MODEL


@pytest.fixture(scope="module")
def one_thread():
    return vitrt.load(BUNDLED_MODEL, threads=1)


def test_two_threads_on_one_engine_give_the_same_results(bundled, samples):
    xa, xb = bundled.preprocess(samples[:2]), bundled.preprocess(samples[2:5])
    want_a, want_b = bundled(xa), bundled.embed(xb)
    got, errors = {"a": [], "b": []}, []

    def work(key, f, x):
        try:
            for _ in range(4):
                got[key].append(f(x))
        except Exception as e:  # reported below: an exception in a thread would pass silently
            errors.append(e)

    threads = [threading.Thread(target=work, args=("a", bundled, xa)),
               threading.Thread(target=work, args=("b", bundled.embed, xb))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert len(got["a"]) == len(got["b"]) == 4
    for y in got["a"]:
        np.testing.assert_array_equal(y, want_a)
    for y in got["b"]:
        np.testing.assert_array_equal(y, want_b)


def test_classify_from_threads(bundled, samples):
    want = bundled.classify(samples, top_k=3)
    results = [None] * 3

    def work(i):
        results[i] = bundled.classify(samples, top_k=3)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert results == [want] * 3


def test_gil_is_released_while_the_engine_runs(one_thread, samples):
    x = np.ascontiguousarray(np.repeat(one_thread.preprocess(samples[:1]), 8, axis=0))
    one_thread(x)  # plans this batch size
    start = time.perf_counter()
    one_thread(x)
    alone = time.perf_counter() - start
    if alone < 0.3:  # long enough that scheduler hiccups on a busy machine stay well under half of it
        x = np.ascontiguousarray(np.repeat(x, int(0.3 / alone) + 1, axis=0))
        one_thread(x)
        start = time.perf_counter()
        one_thread(x)
        alone = time.perf_counter() - start

    t = threading.Thread(target=one_thread, args=(x,))
    t.start()
    last, longest, spins = time.perf_counter(), 0.0, 0
    while t.is_alive():
        now = time.perf_counter()
        longest, last, spins = max(longest, now - last), now, spins + 1
    t.join()
    print(f"forward alone {alone * 1e3:.0f} ms; longest pause of the other thread {longest * 1e3:.1f} ms, {spins} spins")
    assert longest < alone / 2


def test_preprocess_releases_the_gil_too(one_thread, samples):
    """Decoding many images in one thread leaves the interpreter to the others."""
    images = samples * 4
    start = time.perf_counter()
    one_thread.preprocess(images)
    alone = time.perf_counter() - start
    t = threading.Thread(target=one_thread.preprocess, args=(images,))
    t.start()
    last, longest = time.perf_counter(), 0.0
    while t.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    t.join()
    print(f"preprocess alone {alone * 1e3:.0f} ms; longest pause {longest * 1e3:.1f} ms")
    assert longest < max(alone / 2, 0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc/self/task")
def test_threads_option_holds_in_other_threads(one_thread, samples):
    """OpenMP's thread count is per calling thread: an engine loaded with threads=1 and called from
    a new thread must not start a pool of all-cores threads there."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: nothing to oversubscribe")
    x = one_thread.preprocess(samples[:2])
    started = []

    def work():
        before = len(os.listdir("/proc/self/task"))
        one_thread(x)
        one_thread.preprocess(samples[:2])
        started.append(len(os.listdir("/proc/self/task")) - before)

    t = threading.Thread(target=work)
    t.start()
    t.join(timeout=300)
    assert started == [0]
