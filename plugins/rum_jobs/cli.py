"""``rum worker`` and ``rum jobs list|show|retry|cancel|discard|prune|pause|resume|limit|queues|
stats``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
from typing import TYPE_CHECKING, Any, cast

import trio

from rum.cli import Command
from rum.jsonutil import dumps
from rum_jobs.unique import ALL_STATUSES

if TYPE_CHECKING:
    from rum import App
    from rum_jobs.backend import JobsBackend


def _configure_worker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--queues", help="comma-separated queues (default: [jobs] queues; '*': all)")
    p.add_argument("--concurrency", type=int, help="jobs at once (default: [jobs] concurrency)")
    p.add_argument("--no-clock", action="store_true", help="do not fire scheduled (cron) jobs")


async def _worker(args: argparse.Namespace, app: App) -> int:
    overrides: dict[str, Any] = {}
    if args.queues:
        queues = [q.strip() for q in args.queues.split(",") if q.strip()]
        overrides["queues"] = None if queues == ["*"] else queues
    if args.concurrency:
        overrides["concurrency"] = args.concurrency
    async with app.running():
        await apply_config_limits(app)
        jobs = cast("JobsBackend", app.jobs)
        worker = jobs.build_worker(with_clock=not args.no_clock, **overrides)
        print(f"rum worker {worker.id}: jobs {', '.join(sorted(worker.jobs))}; queues "
              f"{', '.join(worker.queues) if worker.queues else 'all'}; concurrency "
              f"{worker.concurrency}", flush=True)
        forced = False
        async with trio.open_nursery() as nursery:
            with trio.CancelScope() as run_scope:
                nursery.start_soon(_stop_on_signal, worker, run_scope)
                await worker.run()
            forced = run_scope.cancelled_caught
            nursery.cancel_scope.cancel()
    return 1 if forced else 0


async def _stop_on_signal(worker: Any, run_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            print("rum worker: stopping (waiting for running jobs; send again to force)",
                  flush=True)
            worker.stop()
            break
        async for _ in signals:
            print("rum worker: forced stop; running jobs are released for other workers",
                  flush=True)
            run_scope.cancel()
            return


def _configure_jobs(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list jobs, newest first")
    ls.add_argument("--status", choices=ALL_STATUSES)
    ls.add_argument("--job", help="job name")
    ls.add_argument("--queue")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="one job with its errors and tracebacks")
    show.add_argument("id", type=int)
    retry = sub.add_parser("retry", help="run a failed/cancelled/discarded job again")
    retry.add_argument("id", type=int)
    cancel = sub.add_parser("cancel", help="cancel a waiting or running job (a running one's "
                                           "worker cancels its task)")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--reason", default="cancelled by an operator")
    discard = sub.add_parser("discard", help="give up on a waiting or failed job (a running "
                                             "one: use cancel)")
    discard.add_argument("id", type=int)
    discard.add_argument("--reason", default="discarded by an operator")
    pause = sub.add_parser("pause", help="stop every worker from taking jobs of a queue")
    pause.add_argument("queue")
    resume = sub.add_parser("resume", help="let workers take jobs of a paused queue again")
    resume.add_argument("queue")
    limit = sub.add_parser("limit", help="set (or clear) a queue's concurrency and rate limits")
    limit.add_argument("queue")
    limit.add_argument("--concurrency", type=_positive_int,
                       help="most jobs of the queue running at once, across all workers")
    limit.add_argument("--rate", type=_positive_int, help="most job starts per --per seconds")
    limit.add_argument("--per", type=_positive_float, default=1.0,
                       help="the rate limit's period in seconds (default 1)")
    limit.add_argument("--clear", action="store_true", help="remove the queue's limits")
    sub.add_parser("queues", help="paused and limited queues")
    st = sub.add_parser("stats", help="jobs by queue and state, throughput, latency, running "
                                      "and failed jobs, schedules")
    st.add_argument("--window", type=_positive_float, default=300.0,
                    help="seconds of history for throughput/latency (default 300)")
    st.add_argument("--json", action="store_true", help="print JSON")
    prune = sub.add_parser("prune", help="delete finished jobs")
    prune.add_argument("--status", action="append", choices=("complete", "failed",
                                                              "cancelled", "discarded"),
                       help="status to prune (repeatable; default: complete)")
    prune.add_argument("--older-than", type=float, help="seconds since they finished")
    prune.add_argument("--keep", type=int, help="keep the newest N per status")


async def _jobs(args: argparse.Namespace, app: App) -> int:
    async with app.running():
        jobs = cast("JobsBackend", app.jobs)
        action = args.jobs_command
        if action == "list":
            rows = await jobs.list(status=args.status, job=args.job, queue=args.queue,
                                   limit=args.limit)
            if args.json:
                print(dumps([r.__dict__ for r in rows], indent=2))
                return 0
            for r in rows:
                err = f"  last error: {r.last_error}" if r.last_error else ""
                print(f"{r.id:>8} {r.status:<10} {r.job:<24} {r.queue:<10} attempt "
                      f"{r.attempt}/{r.max_attempts}  run_at {r.run_at:%Y-%m-%d %H:%M:%S%z}"
                      f"{err}")
            return 0
        if action == "show":
            record = await jobs.get(args.id)
            if record is None:
                print(f"rum jobs: no job with id {args.id}")
                return 1
            print(dumps(record.__dict__, indent=2))
            return 0
        if action == "retry":
            ok = await jobs.retry(args.id)
            print(f"job {args.id} " + ("will run again" if ok else
                                       "cannot be retried (missing, running or complete)"))
            return 0 if ok else 1
        if action == "cancel":
            ok = await jobs.cancel(args.id, args.reason)
            print(f"job {args.id} " + ("cancelled" if ok else
                                       "cannot be cancelled (missing or already finished)"))
            return 0 if ok else 1
        if action == "discard":
            ok = await jobs.discard(args.id, args.reason)
            print(f"job {args.id} " + ("discarded" if ok else "cannot be discarded (missing, "
                                       "running or already finished)"))
            return 0 if ok else 1
        if action in ("pause", "resume", "limit", "queues", "stats"):
            return await _controls(args, app)
        statuses = args.status or ["complete"]
        if args.older_than is None and args.keep is None:
            print("rum jobs prune: give --older-than SECONDS and/or --keep N")
            return 2
        deleted = await jobs.prune(
            max_age={s: args.older_than for s in statuses} if args.older_than is not None
            else None,
            max_count={s: args.keep for s in statuses} if args.keep is not None else None)
        print(json.dumps({"deleted": deleted}))
        return 0


def commands() -> list[Command]:
    """The commands the plugin contributes."""
    return [
        Command("worker", "run a job worker (and the clock) until SIGINT/SIGTERM", _worker,
                _configure_worker),
        Command("jobs", "inspect and operate the job queue", _jobs, _configure_jobs),
    ]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected positive seconds, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected positive seconds, got {text!r}")
    return value


async def apply_config_limits(app: App) -> None:
    """Store ``[jobs.limits]`` (per-queue concurrency/rate limits) for every worker."""
    from rum.errors import ConfigError
    from rum_jobs.controls import apply_queue_limits, queue_limits_from_config

    config = app.config
    try:
        limits = queue_limits_from_config(config.get("jobs", "limits") or {},
                                          f"{config.describe_file()}: [jobs.limits]")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not limits:
        return
    try:
        await apply_queue_limits(limits, db=app.storage)
    except Exception as exc:  # e.g. the migration has not run yet: workers say so too
        logging.getLogger("rum.jobs").warning("could not store [jobs.limits]: %s: %s",
                                              type(exc).__name__, exc)


async def _controls(args: argparse.Namespace, app: App) -> int:
    from rum_jobs import controls
    from rum_jobs.stats import stats, to_json

    db = app.storage
    action = args.jobs_command
    if action == "pause":
        await controls.pause_queue(args.queue, db=db)
        print(f"queue {args.queue} paused: workers take no new jobs from it (running jobs "
              "finish)")
        return 0
    if action == "resume":
        await controls.resume_queue(args.queue, db=db)
        print(f"queue {args.queue} resumed")
        return 0
    if action == "limit":
        if args.clear:
            await controls.set_queue_limits(args.queue, db=db)
            print(f"queue {args.queue}: limits removed")
            return 0
        if args.concurrency is None and args.rate is None:
            print("rum jobs limit: give --concurrency N and/or --rate N [--per SECONDS], or "
                  "--clear")
            return 2
        rate = controls.Rate(args.rate, args.per) if args.rate is not None else None
        await controls.set_queue_limits(args.queue, concurrency=args.concurrency, rate=rate,
                                        db=db)
        print(f"queue {args.queue}: {_describe(args.concurrency, rate)}")
        return 0
    if action == "queues":
        found = await controls.queue_controls(db=db)
        if not found:
            print("no paused or limited queue")
        for name, c in found.items():
            state = "paused" if c.paused else "active"
            print(f"{name:<20} {state:<7} {_describe(c.concurrency, c.rate)}")
        return 0
    snapshot = await stats(db, window=args.window)
    if args.json:
        print(to_json(snapshot))
        return 0
    print(f"{'queue':<20} {'avail':>7} {'sched':>7} {'retry':>6} {'deps':>6} {'run':>5} "
          f"{'done':>7} {'failed':>6} {'jobs/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for q in [*snapshot.queues, snapshot.totals]:
        p50 = "-" if q.latency_p50 is None else f"{q.latency_p50 * 1000:.1f}"
        p95 = "-" if q.latency_p95 is None else f"{q.latency_p95 * 1000:.1f}"
        flag = " (paused)" if q.paused else ""
        print(f"{q.queue:<20} {q.available:>7} {q.scheduled:>7} {q.retryable:>6} "
              f"{q.waiting_on_dependencies:>6} {q.running:>5} {q.complete:>7} {q.failed:>6} "
              f"{q.throughput:>8.2f} {p50:>8} {p95:>8}{flag}")
    print(f"(finished counts, throughput and latency over the last {snapshot.window:g}s)")
    for r in snapshot.running:
        print(f"running #{r.id} {r.job} on {r.worker} attempt {r.attempt}/{r.max_attempts} "
              f"for {r.age:.1f}s")
    for f in snapshot.failed[:10]:
        print(f"failed  #{f.id} {f.job} ({f.queue}) {f.error}")
    for s in snapshot.schedules:
        print(f"cron    {s.name}: next {s.next_fire.isoformat()}")
    return 0


def _describe(concurrency: int | None, rate: Any) -> str:
    parts = []
    if concurrency is not None:
        parts.append(f"at most {concurrency} running")
    if rate is not None:
        parts.append(f"at most {rate.limit} starts per {rate.per:g}s")
    return ", ".join(parts) or "no limits"
