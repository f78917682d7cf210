"""Measure what the guard costs: run a generated AsyncMock-heavy suite plain, in strict and in warn mode,
in one process and with pytest-xdist workers.

    python benchmarks/bench.py [--tests 1000] [--rounds 5] [--workers 2] [--max-ratio 1.05] [--json out.json]
                               [--keep DIR] [--instructions]

The suite uses AsyncMock *correctly* (the guard must find nothing in it): SQLAlchemy-style sessions,
httpx-style clients, async context managers and iterators, gather, create_task, side effects, autospec,
in async tests (pytest-asyncio) and sync tests (asyncio.run). Configurations are interleaved in every
round. Each run's CPU time (user + system, of the pytest process) is measured besides its wall time: on a
shared machine it is the steadier of the two. A ratio is the median over the rounds of a configuration's
CPU time over the plain run's in the same round (the machine's speed drifts between rounds, far less
within one); the quartiles of those per-round ratios show the noise (the minimum wall times are printed
too). With ``--workers N`` (default 2; 0 skips it) the same three
configurations run again under ``pytest -n N``: the CPU time then includes the workers', and each ratio is
taken against the plain run with the same number of workers. This is a measurement, not a test.

``--instructions`` counts instructions instead (valgrind's cachegrind, one run per configuration, all
processes, address randomization off): the count does not change from run to run, so it shows what a
change saves down to a tenth of a percent, where CPU time needs many rounds and still moves by a percent.
It is not the CPU ratio: on the machine this was measured on, the guard's share of CPU time was about 1.5
to 2 times its share of instructions. With workers the controller's count varies (it polls its workers
for as long as they run, and under valgrind that is long).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

APP = """
import asyncio


class Repository:
    def __init__(self, session):
        self.session = session

    async def ids(self, query):
        result = await self.session.execute(query)
        return result.scalars().all()

    async def one(self, query):
        result = await self.session.execute(query)
        return result.scalar_one_or_none()

    async def save(self, item):
        self.session.add(item)
        await self.session.commit()
        return item


async def fetch_json(client, url):
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def fetch_all(client, urls):
    return await asyncio.gather(*(fetch_json(client, url) for url in urls))


async def read_stream(source):
    return [chunk async for chunk in source.stream()]


async def locked_update(lock, store, key, value):
    async with lock:
        await store.set(key, value)
        return await store.get(key)


async def with_retry(call, attempts):
    for attempt in range(attempts):
        try:
            return await call()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
    return None


async def fan_out(worker, items):
    tasks = [asyncio.create_task(worker.process(item)) for item in items]
    return [await task for task in tasks]


class Notifier:
    async def send(self, message):
        raise NotImplementedError


async def notify_all(notifier, messages):
    for message in messages:
        await notifier.send(message)
    return len(messages)
"""

TEST_MODULE = """
import asyncio
from unittest.mock import AsyncMock, MagicMock, create_autospec

import pytest

import app


@pytest.fixture
def session():
    session = AsyncMock()
    session.add = MagicMock()
    session.execute.return_value = MagicMock()
    return session


@pytest.fixture
def client():
    client = AsyncMock()
    response = MagicMock()
    response.json.return_value = {{"ok": True}}
    client.get.return_value = response
    return client


@pytest.mark.parametrize("n", range({per_test}))
async def test_repository_ids(session, n):
    session.execute.return_value.scalars.return_value.all.return_value = list(range(n))
    assert await app.Repository(session).ids("q") == list(range(n))
    session.execute.assert_awaited_once_with("q")


@pytest.mark.parametrize("n", range({per_test}))
async def test_repository_save(session, n):
    repository = app.Repository(session)
    assert await repository.save(n) == n
    session.add.assert_called_once_with(n)
    session.commit.assert_awaited_once()


@pytest.mark.parametrize("n", range({per_test}))
async def test_fetch_all(client, n):
    urls = [f"https://example.test/{{i}}" for i in range(3)]
    assert await app.fetch_all(client, urls) == [{{"ok": True}}] * 3
    assert client.get.await_count == 3


@pytest.mark.parametrize("n", range({per_test}))
async def test_stream_and_lock(n):
    source = MagicMock()
    source.stream.return_value.__aiter__.return_value = [b"a", b"b", n]
    assert await app.read_stream(source) == [b"a", b"b", n]
    lock = AsyncMock()
    store = AsyncMock()
    store.get.return_value = n
    assert await app.locked_update(lock, store, "k", n) == n
    lock.__aenter__.assert_awaited_once()


@pytest.mark.parametrize("n", range({per_test}))
async def test_retry_and_fan_out(n):
    call = AsyncMock(side_effect=[ConnectionError(), ConnectionError(), n])
    assert await app.with_retry(call, 3) == n
    worker = AsyncMock()
    worker.process.side_effect = lambda item: item * 2
    assert await app.fan_out(worker, [1, 2, 3]) == [2, 4, 6]


@pytest.mark.parametrize("n", range({per_test}))
async def test_autospec(n):
    notifier = create_autospec(app.Notifier, instance=True)
    assert await app.notify_all(notifier, ["a", "b"]) == 2
    assert notifier.send.await_count == 2


@pytest.mark.parametrize("n", range({per_test}))
def test_sync_with_asyncio_run(session, n):
    session.execute.return_value.scalar_one_or_none.return_value = n
    assert asyncio.run(app.Repository(session).one("q")) == n


@pytest.mark.parametrize("n", range({per_test}))
def test_sync_side_effect_function(n):
    async def compute(value):
        return value + 1

    mock = AsyncMock(side_effect=compute)
    assert asyncio.run(mock(n)) == n + 1
    mock.assert_awaited_once_with(n)
"""

TESTS_PER_MODULE_PER_N = 8  # test functions in TEST_MODULE, each parametrized by ``per_test``
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def generate(directory: Path, tests: int) -> int:
    """Write the suite; return how many tests it has."""
    per_test = 5
    per_module = TESTS_PER_MODULE_PER_N * per_test
    modules = max(1, round(tests / per_module))
    (directory / "pytest.ini").write_text(INI)
    (directory / "app.py").write_text(textwrap.dedent(APP))
    for index in range(modules):
        source = textwrap.dedent(TEST_MODULE).format(per_test=per_test)
        (directory / f"test_suite_{index:03d}.py").write_text(source)
    return modules * per_module


BASE_CONFIGURATIONS: dict[str, list[str]] = {
    "plain": ["-p", "no:asyncmock_guard"],
    "strict": ["-p", "asyncmock_guard", "--asyncmock-guard=strict"],
    "warn": ["-p", "asyncmock_guard", "--asyncmock-guard=warn"],
}


def configurations(workers: int) -> dict[str, list[str]]:
    """The three configurations in one process (``-p no:xdist``, as a suite without pytest-xdist runs),
    and, with ``workers``, the same three under ``-n workers``."""
    found = {name: [*arguments, "-p", "no:xdist"] for name, arguments in BASE_CONFIGURATIONS.items()}
    if workers:
        found.update(
            {f"{name} -n{workers}": [*arguments, "-n", str(workers)] for name, arguments in BASE_CONFIGURATIONS.items()}
        )
    return found


def run_once(directory: Path, arguments: list[str], expected: int) -> tuple[float, float]:
    """Run the suite once; return (wall seconds, CPU seconds of the child)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments]
    # Bytecode caching on, as in any normal run (the warm-up fills the caches, pytest's rewritten
    # modules included): otherwise each run would re-parse the plugin and charge that to the guard.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=environment, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = completed.stdout
    if completed.returncode != 0 or f"{expected} passed" not in output:
        sys.stderr.write(output[-4000:] + completed.stderr[-2000:])
        raise SystemExit(f"the benchmark suite did not pass with {' '.join(arguments)}")
    guarded = "no:asyncmock_guard" not in arguments
    if guarded and "no findings" not in output:
        sys.stderr.write(output[-4000:])
        raise SystemExit("the guard reported findings in the (correct) benchmark suite")
    return elapsed, cpu


def count_instructions(directory: Path, arguments: list[str], expected: int) -> int:
    """Instructions of one run, summed over its processes (pytest-xdist workers included)."""
    command = [
        "setarch",  # no address randomization: the same count on every run (hash tables keyed by id)
        "-R",
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        "--trace-children=yes",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *arguments,
    ]
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONHASHSEED"] = "0"  # the same dict and set layouts on every run
    completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=environment, check=False)
    if completed.returncode != 0 or f"{expected} passed" not in completed.stdout:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-2000:])
        raise SystemExit(f"the benchmark suite did not pass under valgrind with {' '.join(arguments)}")
    counts = re.findall(r"I\s+refs:\s+([\d,]+)", completed.stderr)
    if not counts:
        raise SystemExit("valgrind printed no instruction count")
    return sum(int(count.replace(",", "")) for count in counts)


def measure_instructions(directory: Path, configured: dict[str, list[str]], count: int) -> dict[str, int]:
    for arguments in configured.values():  # fill the bytecode caches first: compiling is not the guard's cost
        run_once(directory, arguments, count)
    return {name: count_instructions(directory, arguments, count) for name, arguments in configured.items()}


def plain_of(name: str) -> str:
    """The plain configuration a configuration is compared with: ``plain -n2`` for ``strict -n2``."""
    return "plain" + name[len(name.partition(" ")[0]) :]


def paired_ratios(runs: dict[str, list[tuple[float, float]]], name: str) -> list[float]:
    """Each round's CPU time of ``name`` over its plain run's in the same round: the machine's speed drifts
    between rounds (other guests, frequency), and a ratio within one round cancels most of that drift."""
    return [cpu / plain_cpu for (_, cpu), (_, plain_cpu) in zip(runs[name], runs[plain_of(name)], strict=True)]


def report_instructions(counts: dict[str, int]) -> None:
    print(f"{'configuration':<18}{'instructions':>16}{'ratio':>8}")
    for name, instructions in counts.items():
        plain = counts[plain_of(name)]
        print(f"{name:<18}{instructions:>16,}{instructions / plain:>8.4f}")


def measure(
    directory: Path, configured: dict[str, list[str]], count: int, rounds: int
) -> dict[str, list[tuple[float, float]]]:
    """Every configuration once per round, in a rotating order, after one warm-up run each."""
    for arguments in configured.values():  # warm up bytecode caches and the page cache
        run_once(directory, arguments, count)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in configured}
    for round_number in range(rounds):
        order = list(configured)
        order = order[round_number % len(order) :] + order[: round_number % len(order)]
        for name in order:
            runs[name].append(run_once(directory, configured[name], count))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1000, help="about how many tests to generate")
    parser.add_argument("--rounds", type=int, default=15, help="rounds; each runs every configuration once")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the second set (0: none)")
    parser.add_argument("--max-ratio", type=float, default=1.05, help="exit 1 if strict or warn exceed this ratio")
    parser.add_argument("--json", type=Path, help="write the measurements to this file")
    parser.add_argument("--keep", type=Path, help="generate the suite into this directory and keep it")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with valgrind instead of timing rounds"
    )
    options = parser.parse_args()
    if options.instructions and (shutil.which("valgrind") is None or shutil.which("setarch") is None):
        parser.error("--instructions needs valgrind and setarch on the PATH")

    with tempfile.TemporaryDirectory(prefix="asyncmock-guard-bench-") as temporary:
        directory = options.keep or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        count = generate(directory, options.tests)
        if options.instructions:
            print(f"suite: {count} tests in {directory}; instructions; python {sys.version.split()[0]}")
            counts = measure_instructions(directory, configurations(options.workers), count)
            report_instructions(counts)
            if options.json:
                options.json.write_text(json.dumps({"tests": count, "instructions": counts}, indent=2) + "\n")
            return 0
        print(f"suite: {count} tests in {directory}; {options.rounds} rounds; python {sys.version.split()[0]}")
        runs = measure(directory, configurations(options.workers), count, options.rounds)

    wall = {name: min(w for w, _ in values) for name, values in runs.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in runs.items()}
    suffixes = [""] + ([f" -n{options.workers}"] if options.workers else [])
    paired = {name: paired_ratios(runs, name) for name in runs}
    ratios = {
        f"{mode}{suffix}": statistics.median(paired[f"{mode}{suffix}"])
        for suffix in suffixes
        for mode in ("strict", "warn")
    }
    print(f"{'configuration':<18}{'median cpu s':>13}{'ratio':>8}{'quartiles':>16}{'min wall s':>12}{'ratio':>8}")
    for name in runs:
        plain = plain_of(name)
        low, _, high = statistics.quantiles(paired[name], n=4) if len(paired[name]) > 1 else (1.0, 1.0, 1.0)
        print(
            f"{name:<18}{cpu[name]:>13.3f}{statistics.median(paired[name]):>8.3f}{f'{low:.3f}-{high:.3f}':>16}"
            f"{wall[name]:>12.3f}{wall[name] / wall[plain]:>8.3f}"
        )
    for suffix in suffixes:
        strict, warn = ratios["strict" + suffix], ratios["warn" + suffix]
        print(
            f"strict/plain{suffix} = {strict:.3f}   warn/plain{suffix} = {warn:.3f}"
            f"   (median of the rounds' CPU-time ratios; target <= {options.max_ratio})"
        )
    if options.json:
        document = {"tests": count, "runs": runs, "cpu_ratios": ratios}
        options.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if max(ratios.values()) > options.max_ratio else 0


if __name__ == "__main__":
    raise SystemExit(main())
