"""Benchmark: the command line as a person waits for it, whole process included.

``priemnaya --help``, a read command (``tenant show``, ``staff list --tenant``) on a database
holding the provisioning benchmark's region (10,000 tenants, 25,000 people), and a no-op
``tenant apply`` of that region as one YAML file and as ``tenants.csv`` + ``staff.csv``. The
baselines, in the same run: the interpreter starting and doing nothing (for ``--help``), a
Python process that connects with psycopg and reads the same row (for the read commands), and
the CSV no-op (for the YAML one). Every figure is the median of a few runs.

Run: ``python -m tests.bench.cli`` (the embedded PostgreSQL in a temporary directory, or
PRIEMNAYA_TEST_DATABASE_URL). Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tenancy.database import DatabaseUrls
from tests.bench.provisioning import generate, write, write_csv
from tests.databases import fresh_database, libpq_url, postgres_server

RUNS = 5
APPLY_RUNS = 3
PRIEMNAYA = [sys.executable, "-m", "cli"]


def environment(urls: DatabaseUrls, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PRIEMNAYA_DATABASE_URL": urls.privileged,
        "PRIEMNAYA_APP_DATABASE_URL": urls.app,
        "PRIEMNAYA_SECRET_KEY": "bench-secret-key-that-is-long-enough-to-pass",
        "PRIEMNAYA_HOME": str(home),
        "PRIEMNAYA_ACTOR": "bench",
    }


# The processor time of every process measured, by figure: on a shared machine the wall time
# also holds the waits for a processor, which the comments print beside it.
CPU: dict[str, float] = {}


def timed(label: str, command: list[str], env: dict[str, str], runs: int = RUNS) -> float:
    """The median wall time of ``command`` as a whole process; it must succeed."""
    times, cpu = [], []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - started)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, command)
        cpu.append(usage.ru_utime + usage.ru_stime)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times)


def bare_read(urls: DatabaseUrls, slug: str) -> list[str]:
    """A Python process that does only what the read command must: connect and read a row."""
    script = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1]) as c:\n"
        "    print(c.execute('SELECT * FROM tenants WHERE slug = %s', (sys.argv[2],)).fetchone())"
    )
    return [sys.executable, "-c", script, libpq_url(urls.privileged), slug]


def main() -> None:
    document = generate(random.Random(20261123))
    slug = document["tenants"][5000]["slug"]
    with (
        tempfile.TemporaryDirectory() as where,
        postgres_server() as server,
        fresh_database(server, "priemnaya_bench") as urls,
    ):
        directory = Path(where)
        env = environment(urls, directory / "home")
        yaml_file = directory / "region.yaml"
        write(document, yaml_file)
        csv_files = [str(p) for p in write_csv(document, directory)]

        help_s = timed("--help", [*PRIEMNAYA, "--help"], env)
        subcommand_help_s = timed(
            "tenant apply --help", [*PRIEMNAYA, "tenant", "apply", "--help"], env
        )
        python_s = timed("python doing nothing", [sys.executable, "-c", "pass"], env)

        started = time.perf_counter()
        subprocess.run(
            [*PRIEMNAYA, "tenant", "apply", *csv_files],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cold_s = time.perf_counter() - started

        show_s = timed("tenant show", [*PRIEMNAYA, "tenant", "show", slug], env)
        staff_s = timed("staff list", [*PRIEMNAYA, "staff", "list", "--tenant", slug], env)
        bare_s = timed("python + psycopg", bare_read(urls, slug), env)

        csv_noop_s = timed(
            "CSV no-op", [*PRIEMNAYA, "tenant", "apply", *csv_files], env, APPLY_RUNS
        )
        yaml_noop_s = timed(
            "YAML no-op", [*PRIEMNAYA, "tenant", "apply", str(yaml_file)], env, APPLY_RUNS
        )

    print(f"# {len(document['tenants'])} tenants; cold CSV apply {cold_s:.1f} s (whole process)")
    print(f"METRIC help_s {help_s:.3f} s")
    print(f"METRIC subcommand_help_s {subcommand_help_s:.3f} s")
    print(
        f"# baseline: python doing nothing {python_s:.3f} s; --help / that: "
        f"{help_s / python_s:.1f}x"
    )
    print(f"METRIC show_s {show_s:.3f} s")
    print(f"METRIC staff_list_s {staff_s:.3f} s")
    print(
        f"# baseline: python + psycopg reading the row {bare_s:.3f} s; tenant show / that: "
        f"{show_s / bare_s:.1f}x"
    )
    print(f"METRIC csv_noop_s {csv_noop_s:.2f} s")
    print(f"METRIC yaml_noop_s {yaml_noop_s:.2f} s")
    print(f"# YAML / CSV no-op: {yaml_noop_s / csv_noop_s:.2f}x")
    print("# processor time (user + system) of the same processes, medians:")
    for what, seconds in CPU.items():
        print(f"#   {what}: {seconds:.3f} s")
    print(f"# load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
