"""Measure what the guard costs: run a generated suite plain, in strict and in warn mode, in one process
and with pytest-xdist workers.

    python benchmarks/bench.py [--suite mocks|asgi] [--tests 1000] [--rounds 30] [--workers 2]
                               [--max-ratio 1.05] [--no-control] [--json out.json] [--keep DIR]
                               [--instructions] [--cov]
    python benchmarks/bench.py --combine sitting.json [sitting.json ...] [--max-ratio 1.05] [--json out.json]

Both suites are correct (the guard must find nothing in them). ``mocks`` (the default) is AsyncMock-heavy,
where the guard's hooks do the most per test: SQLAlchemy-style sessions, httpx-style clients, async
context managers and iterators, gather, create_task, side effects, autospec, in async tests
(pytest-asyncio) and sync tests (asyncio.run). ``asgi`` is coroutine-heavy, like a FastAPI service's
tests: each test sends requests through httpx's ``ASGITransport`` to a small ASGI app (middleware layers,
a repository over an AsyncMock session): it makes about 95 coroutines a test (about 35 a request), against
7 in ``mocks``, and every one pays for the creation stack (``cr_origin``) the guard has CPython record.
Each round runs every guarded configuration side by side with a plain run, each on a CPU of its own
(swapped every round): the two share whatever the machine does meanwhile, which moves a run's time by a
few percent from one second to the next. Each run's CPU time (user + system, of the pytest process and the
workers it waits for) is measured: on a shared machine it is steadier than wall time. A ratio is the
median over the rounds of a configuration's CPU time over its plain partner's; the quartiles of those
per-round ratios show the noise, and a 95% confidence interval of the median (from the order statistics:
it assumes nothing about how the noise is distributed) shows how far from the true ratio that noise may
have left the median (the minimum wall times are printed too). A control configuration, a plain
run paired with a plain run in the same rotation, shows how far from 1 noise alone puts a median in that
sitting (``--no-control`` skips it); the exit status ignores it. With ``--workers N`` (default 2; 0 skips it)
the same configurations run again under ``pytest -n N``, each against a plain run with the same number of
workers. This is a measurement, not a test.

``--instructions`` counts instructions instead (valgrind's cachegrind, one run per configuration, all
processes, address randomization off): the count does not change from run to run, so it shows what a
change saves down to a tenth of a percent, where CPU time needs many rounds and still moves by a percent.
It is not the CPU ratio: on the machine this was measured on, the guard's share of CPU time was about 1.5
to 2 times its share of instructions on ``mocks``, and about the same on ``asgi``. With workers the
controller's count varies (it polls its workers for as long as they run, and under valgrind that is long).

``--cov`` runs every configuration, the plain ones included, under pytest-cov (``--cov=app``, no report):
the ratio is then what the guard adds to a suite that is measured for coverage, where every Python call the
guard makes is traced too (coverage.py's tracer runs for each frame, measured or not).

``--combine`` runs nothing: it pools the rounds of several sittings' ``--json`` files (of one suite and one
Python) and prints the same table for them. A median of more rounds has a narrower interval, and pooling
sittings of different hours also evens out what one sitting's conditions do to all of its rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, NamedTuple

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

ASGI_APP = """
import json


class Repository:
    def __init__(self, session):
        self.session = session

    async def item(self, item_id):
        result = await self.session.execute(item_id)
        return {"id": item_id, "name": result.scalar_one()}

    async def create(self, fields):
        self.session.add(fields)
        await self.session.commit()
        return {"id": 1, **fields}


def middleware(inner):
    async def layer(scope, receive, send):
        async def forward(message):
            await send(message)

        await inner(scope, receive, forward)

    return layer


async def read_body(receive):
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def respond(send, status, payload):
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def make_app(repository, layers=5):
    async def endpoint(scope, receive, send):
        body = await read_body(receive)
        if scope["method"] == "POST":
            await respond(send, 201, await repository.create(json.loads(body)))
        else:
            await respond(send, 200, await repository.item(int(scope["path"].rsplit("/", 1)[1])))

    app = endpoint
    for _ in range(layers):
        app = middleware(app)
    return app
"""

ASGI_TEST_MODULE = """
from unittest.mock import AsyncMock, MagicMock

import httpx
import pytest

import app


@pytest.fixture
def session():
    session = AsyncMock()
    session.add = MagicMock()
    session.execute.return_value = MagicMock()
    session.execute.return_value.scalar_one.return_value = "widget"
    return session


@pytest.fixture
def client(session):
    transport = httpx.ASGITransport(app=app.make_app(app.Repository(session)))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.mark.parametrize("n", range({per_test}))
async def test_read_items(client, session, n):
    async with client:
        for item_id in range(4):
            response = await client.get(f"/items/{{item_id}}")
            assert response.json() == {{"id": item_id, "name": "widget"}}
    assert session.execute.await_count == 4


@pytest.mark.parametrize("n", range({per_test}))
async def test_create_item(client, session, n):
    async with client:
        response = await client.post("/items", json={{"name": f"widget {{n}}"}})
    assert response.status_code == 201
    assert response.json() == {{"id": 1, "name": f"widget {{n}}"}}
    session.add.assert_called_once_with({{"name": f"widget {{n}}"}})
    session.commit.assert_awaited_once()
"""


class Suite(NamedTuple):
    app: str
    test_module: str  # its test functions are each parametrized by ``per_test``


SUITES = {"mocks": Suite(APP, TEST_MODULE), "asgi": Suite(ASGI_APP, ASGI_TEST_MODULE)}
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def generate(directory: Path, tests: int, suite: str = "mocks") -> int:
    """Write the suite; return how many tests it has."""
    chosen = SUITES[suite]
    per_test = 5
    per_module = len(re.findall(r"^(?:async )?def test_", chosen.test_module, flags=re.MULTILINE)) * per_test
    modules = max(1, round(tests / per_module))
    (directory / "pytest.ini").write_text(INI)
    (directory / "app.py").write_text(textwrap.dedent(chosen.app))
    for index in range(modules):
        source = textwrap.dedent(chosen.test_module).format(per_test=per_test)
        (directory / f"test_suite_{index:03d}.py").write_text(source)
    return modules * per_module


PLAIN = ["-p", "no:asyncmock_guard"]
BASE_CONFIGURATIONS: dict[str, list[str]] = {
    "plain": PLAIN,
    "strict": ["-p", "asyncmock_guard", "--asyncmock-guard=strict"],
    "warn": ["-p", "asyncmock_guard", "--asyncmock-guard=warn"],
}
# A plain run paired with a plain run, like any guarded configuration: its ratio would be 1 on a quiet
# machine, so how far it lands from 1 is what the machine's noise alone does to a ratio in that sitting.
CONTROL = "control"


# pytest-cov measuring the code under test, and printing no report (``--cov``)
COVERAGE = ["-p", "pytest_cov", "--cov=app", "--cov-report="]


def configurations(workers: int, *, control: bool = True, coverage: bool = False) -> dict[str, list[str]]:
    """The configurations in one process (``-p no:xdist``, as a suite without pytest-xdist runs), and,
    with ``workers``, the same under ``-n workers``; with ``control``, the plain-against-plain control;
    with ``coverage``, each of them under pytest-cov."""
    base = {**BASE_CONFIGURATIONS, **({CONTROL: PLAIN} if control else {})}
    if coverage:
        base = {name: [*arguments, *COVERAGE] for name, arguments in base.items()}
    found = {name: [*arguments, "-p", "no:xdist"] for name, arguments in base.items()}
    if workers:
        found.update({f"{name} -n{workers}": [*arguments, "-n", str(workers)] for name, arguments in base.items()})
    return found


def kind_and_workers(name: str) -> tuple[str, str]:
    """A configuration's kind and the rest of its name: ``("strict", " -n2")``, ``("warn", "")``."""
    kind = name.partition(" ")[0]
    return kind, name[len(kind) :]


def is_control(name: str) -> bool:
    return kind_and_workers(name)[0] == CONTROL


Run = tuple[float, float]  # (wall seconds, CPU seconds) of one run of the suite


def _environment() -> dict[str, str]:
    # Bytecode caching on, as in any normal run (the warm-up fills the caches, pytest's rewritten
    # modules included): otherwise each run would re-parse the plugin and charge that to the guard.
    return {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def pytest_command(arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments]


def _check(arguments: list[str], expected: int, returncode: int, output: str) -> None:
    if returncode != 0 or f"{expected} passed" not in output:
        sys.stderr.write(output[-6000:])
        raise SystemExit(f"the benchmark suite did not pass with {' '.join(arguments)}")
    if "no:asyncmock_guard" not in arguments and "no findings" not in output:
        sys.stderr.write(output[-4000:])
        raise SystemExit("the guard reported findings in the (correct) benchmark suite")


def run_once(directory: Path, arguments: list[str], expected: int) -> Run:
    """Run the suite once, alone, and check it passed."""
    return run_side_by_side(directory, [arguments], None, expected)[0]


def run_side_by_side(directory: Path, runs: list[list[str]], cpus: list[set[int]] | None, expected: int) -> list[Run]:
    """Run the suite once per argument list, all at the same time (each pinned to its set of ``cpus``,
    when given); return each run's wall time and CPU time (user + system, its pytest-xdist workers'
    included: the pytest process waits for them)."""
    started: dict[int, tuple[int, subprocess.Popen[str], float, Any]] = {}
    measured: list[Run] = [(0.0, 0.0)] * len(runs)
    with contextlib.ExitStack() as files:
        for index, arguments in enumerate(runs):
            command = pytest_command(arguments)
            output = files.enter_context(tempfile.TemporaryFile("w+"))  # not pipes: the runs end in any order
            allowed = None if cpus is None else cpus[index]
            process = subprocess.Popen(
                command,
                cwd=directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                text=True,
                env=_environment(),
                preexec_fn=None if allowed is None else functools.partial(os.sched_setaffinity, 0, allowed),  # noqa: PLW1509
            )
            started[process.pid] = (index, process, time.perf_counter(), output)
        while started:
            pid, status, usage = os.wait4(-1, 0)  # whichever ends first, for its own wall time
            ended = time.perf_counter()
            index, process, start, output = started.pop(pid)
            process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            output.seek(0)
            _check(runs[index], expected, process.returncode, output.read())
            measured[index] = (ended - start, usage.ru_utime + usage.ru_stime)
    return measured


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
        *pytest_command(arguments),
    ]
    environment = _environment()
    environment["PYTHONHASHSEED"] = "0"  # the same dict and set layouts on every run
    completed = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=environment, check=False)
    # valgrind's own lines first, pytest's last: the check shows the end of what it is given
    _check(arguments, expected, completed.returncode, completed.stderr[-2000:] + completed.stdout)
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
    return "plain" + kind_and_workers(name)[1]


def cpu_ratios(pairs: list[tuple[Run, Run]]) -> list[float]:
    """Each pair's CPU time over its plain run's, measured at the same time on the same machine."""
    return [cpu / plain_cpu for (_, cpu), (_, plain_cpu) in pairs]


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the median of what ``values`` were drawn from: the
    k-th smallest and k-th largest value, with k as large as keeps the chance that the median lies
    outside them (binomial, one half) at most ``1 - confidence``. None when there are too few values
    (fewer than 6 for 95%). It says how far the noise of a sitting leaves a median from the true ratio.
    """
    ordered = sorted(values)
    count = len(ordered)
    tail = (1 - confidence) / 2
    outside = 0.0  # the chance that fewer than k values lie below the median, summed over k
    k = 0
    while k < count:
        below = math.comb(count, k) / 2**count
        if outside + below > tail:
            break
        outside += below
        k += 1
    if k == 0:
        return None
    return ordered[k - 1], ordered[count - k]


def report_instructions(counts: dict[str, int]) -> None:
    print(f"{'configuration':<18}{'instructions':>16}{'ratio':>8}")
    for name, instructions in counts.items():
        plain = counts[plain_of(name)]
        print(f"{name:<18}{instructions:>16,}{instructions / plain:>8.4f}")


def cpu_sets(per_run: int) -> tuple[set[int], set[int]] | None:
    """Two disjoint sets of ``per_run`` CPUs this process may use, one for each run of a pair; None when
    there are not enough (or the system cannot pin processes)."""
    try:
        available = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None
    if len(available) < 2 * per_run:
        return None
    return set(available[:per_run]), set(available[per_run : 2 * per_run])


def measure(
    directory: Path, configured: dict[str, list[str]], count: int, rounds: int, workers: int
) -> dict[str, list[tuple[Run, Run]]]:
    """After one warm-up run of each configuration, every round pairs each guarded configuration (and the
    control) with a plain run of the same kind, and runs the two side by side when the machine has the
    CPUs for both (each pinned to CPUs of its own, swapped every round), else one after the other (in
    turn first).

    Side by side, the two share whatever the machine does meanwhile (other guests, frequency changes),
    which moves a run's CPU time by a few percent from one second to the next: on the 2-CPU machine this
    was written on, the ratio of a one-process pair had a standard deviation of 3.3% run one after the
    other and 1.9% side by side. A pytest-xdist run is only paired side by side with CPUs for all of its
    workers: squeezed onto fewer, its CPU time grows with the time it waits.
    """
    for name, arguments in configured.items():  # warm up bytecode caches and the page cache
        if not is_control(name):  # the same runs as plain
            run_once(directory, arguments, count)
    paired = [name for name in configured if not name.startswith("plain")]  # the guarded ones and the control
    pairs: dict[str, list[tuple[Run, Run]]] = {name: [] for name in paired}
    for round_number in range(rounds):
        order = paired[round_number % len(paired) :] + paired[: round_number % len(paired)]
        swap = round_number % 2 == 1
        for name in order:
            both = [configured[name], configured[plain_of(name)]]
            sets = cpu_sets(workers if " -n" in name else 1)
            if sets is not None:
                run, plain_run = run_side_by_side(directory, both, list(sets[::-1] if swap else sets), count)
            else:  # one after the other, each in turn first
                alone: dict[int, Run] = {}
                for index in (1, 0) if swap else (0, 1):
                    alone[index] = run_once(directory, both[index], count)
                run, plain_run = alone[0], alone[1]
            pairs[name].append((run, plain_run))
    return pairs


def report(
    pairs: dict[str, list[tuple[Run, Run]]], max_ratio: float
) -> tuple[dict[str, float], dict[str, tuple[float, float] | None]]:
    """Print each configuration's median ratio with its 95% interval and quartiles, then the summary
    lines; return the medians and the intervals."""
    per_round = {name: cpu_ratios(measured) for name, measured in pairs.items()}
    ratios = {name: statistics.median(values) for name, values in per_round.items()}
    intervals = {name: median_interval(values) for name, values in per_round.items()}
    print(
        f"{'configuration':<18}{'rounds':>7}{'median cpu s':>13}{'plain':>8}{'ratio':>8}{'95% interval':>15}"
        f"{'quartiles':>16}{'min wall s':>12}"
    )
    for name, measured in pairs.items():
        values = per_round[name]
        low, _, high = statistics.quantiles(values, n=4) if len(values) > 1 else (1.0, 1.0, 1.0)
        interval = intervals[name]
        within = "-" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}"
        cpu = statistics.median(run[1] for run, _ in measured)
        plain_cpu = statistics.median(plain_run[1] for _, plain_run in measured)
        wall = min(run[0] for run, _ in measured)
        print(
            f"{name:<18}{len(measured):>7}{cpu:>13.3f}{plain_cpu:>8.3f}{ratios[name]:>8.3f}{within:>15}"
            f"{f'{low:.3f}-{high:.3f}':>16}{wall:>12.3f}"
        )
    for suffix in sorted({kind_and_workers(name)[1] for name in pairs}):  # "" and " -n2"
        shown = [mode for mode in ("strict", "warn") if mode + suffix in ratios]
        if shown:
            medians = "   ".join(f"{mode}/plain{suffix} = {ratios[mode + suffix]:.3f}" for mode in shown)
            print(f"{medians}   (median of the pairs' CPU-time ratios; target <= {max_ratio})")
        if CONTROL + suffix in ratios:
            print(f"control/plain{suffix} = {ratios[CONTROL + suffix]:.3f}   (plain against plain: noise alone)")
    return ratios, intervals


class Sitting(NamedTuple):
    """What a ``--json`` file of timed rounds measured, and its rounds."""

    suite: str
    tests: int
    python: str
    pairs: dict[str, list[tuple[Run, Run]]]
    coverage: bool = False  # measured under pytest-cov (``--cov``); files from before the option lack it

    @property
    def measured(self) -> str:
        return f"{self.suite} ({self.tests} tests, python {self.python}{', under pytest-cov' if self.coverage else ''})"


def load_sitting(path: Path) -> Sitting:
    """One ``--json`` file of timed rounds; ValueError names the file when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        pairs = {
            name: [((float(run[0]), float(run[1])), (float(plain[0]), float(plain[1]))) for run, plain in measured]
            for name, measured in document["pairs"].items()
        }
        coverage = bool(document.get("coverage", False))
        return Sitting(str(document["suite"]), int(document["tests"]), str(document["python"]), pairs, coverage)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
        problem = f"{type(error).__name__}: {error}"
        raise ValueError(f"{path}: cannot read the timed rounds of a sitting from it ({problem})") from error


def combine(paths: list[Path]) -> Sitting:
    """The rounds of several sittings' ``--json`` files together (one suite, one size, one Python): more
    rounds give a median a narrower interval. A configuration some sittings lack (the control is recent)
    is pooled from those that have it."""
    sittings = [load_sitting(path) for path in paths]
    measured = sorted({sitting.measured for sitting in sittings})
    if len(measured) != 1:
        raise ValueError(f"the files measured different things: {', '.join(measured)}")
    pooled: dict[str, list[tuple[Run, Run]]] = {}
    for sitting in sittings:
        for name, rounds in sitting.pairs.items():
            pooled.setdefault(name, []).extend(rounds)
    pooled = {name: rounds for name, rounds in pooled.items() if rounds}
    if not any(kind_and_workers(name)[0] == "strict" for name in pooled):
        raise ValueError("the files hold no rounds of the guard")
    return sittings[0]._replace(pairs=pooled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=sorted(SUITES), default="mocks", help="which suite to generate")
    parser.add_argument("--tests", type=int, default=1000, help="about how many tests to generate")
    parser.add_argument(
        "--rounds",
        type=int,
        default=30,
        help="rounds; each runs every guarded configuration, and the control, beside a plain run",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the second set (0: none)")
    parser.add_argument("--max-ratio", type=float, default=1.05, help="exit 1 if strict or warn exceed this ratio")
    parser.add_argument(
        "--control",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also pair plain runs with plain runs, to show what noise alone does to a ratio (default: on)",
    )
    parser.add_argument("--json", type=Path, help="write the measurements to this file")
    parser.add_argument("--keep", type=Path, help="generate the suite into this directory and keep it")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with valgrind instead of timing rounds"
    )
    parser.add_argument(
        "--cov", action="store_true", help="run every configuration, plain ones included, under pytest-cov"
    )
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="run nothing: pool the rounds of these --json files (sittings of one suite and Python) and print them",
    )
    options = parser.parse_args(argv)
    if options.instructions and options.combine:
        parser.error("--combine reads timed rounds; it cannot count instructions")
    if options.cov and options.combine:
        parser.error("--combine pools the files' rounds as they were measured; --cov cannot apply to them")
    if options.instructions and (shutil.which("valgrind") is None or shutil.which("setarch") is None):
        parser.error("--instructions needs valgrind and setarch on the PATH")

    if options.combine:
        try:
            pooled = combine(options.combine)
        except ValueError as error:
            parser.error(str(error))
        suite, count, python, pairs, coverage = pooled
        under = ", under pytest-cov" if coverage else ""
        sittings = len(options.combine)
        print(f"suite: {suite}, {count} tests{under}; python {python}; the rounds of {sittings} sittings pooled")
    else:
        with tempfile.TemporaryDirectory(prefix="asyncmock-guard-bench-") as temporary:
            directory = options.keep or Path(temporary)
            directory.mkdir(parents=True, exist_ok=True)
            suite, python, coverage = options.suite, platform.python_version(), bool(options.cov)
            count = generate(directory, options.tests, suite)
            described = f"suite: {suite}, {count} tests in {directory}" + (", under pytest-cov" if options.cov else "")
            if options.instructions:
                print(f"{described}; instructions; python {python}")
                configured = configurations(options.workers, control=False, coverage=options.cov)
                counts = measure_instructions(directory, configured, count)
                report_instructions(counts)
                if options.json:
                    document = {
                        "suite": suite,
                        "tests": count,
                        "python": python,
                        "coverage": coverage,
                        "instructions": counts,
                    }
                    options.json.write_text(json.dumps(document, indent=2) + "\n")
                return 0
            print(f"{described}; {options.rounds} rounds; python {python}")
            configured = configurations(options.workers, control=options.control, coverage=options.cov)
            pairs = measure(directory, configured, count, options.rounds, options.workers)

    ratios, intervals = report(pairs, options.max_ratio)
    if options.json:
        document = {
            "suite": suite,
            "tests": count,
            "python": python,
            "coverage": coverage,
            "pairs": pairs,
            "cpu_ratios": ratios,
            "intervals": intervals,
        }
        options.json.write_text(json.dumps(document, indent=2) + "\n")
    return 1 if max(ratio for name, ratio in ratios.items() if not is_control(name)) > options.max_ratio else 0


if __name__ == "__main__":
    raise SystemExit(main())
