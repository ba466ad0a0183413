"""``rum worker`` and ``rum jobs list|show|retry|cancel|prune``."""

from __future__ import annotations

import argparse
import json
import signal
from typing import TYPE_CHECKING, Any

import trio

from rum.cli import Command
from rum.jsonutil import dumps
from rum_jobs.unique import ALL_STATUSES

if TYPE_CHECKING:
    from rum import App


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
        worker = app.jobs.build_worker(with_clock=not args.no_clock, **overrides)
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
    cancel = sub.add_parser("cancel", help="cancel a job that has not started")
    cancel.add_argument("id", type=int)
    prune = sub.add_parser("prune", help="delete finished jobs")
    prune.add_argument("--status", action="append", choices=("complete", "failed",
                                                              "cancelled", "discarded"),
                       help="status to prune (repeatable; default: complete)")
    prune.add_argument("--older-than", type=float, help="seconds since they finished")
    prune.add_argument("--keep", type=int, help="keep the newest N per status")


async def _jobs(args: argparse.Namespace, app: App) -> int:
    async with app.running():
        jobs = app.jobs
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
            ok = await jobs.cancel(args.id)
            print(f"job {args.id} " + ("cancelled" if ok else
                                       "cannot be cancelled (missing, running or finished)"))
            return 0 if ok else 1
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
