"""Run the Raft simulation from the command line: one seed (to replay a failure) or a sweep.

python -m tests.raft.sim.run --seed 1234 --nodes 5 --steps 3000 --trace
python -m tests.raft.sim.run --seeds 0-999 --nodes 3 --learners 1
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from tests.raft.sim.simulation import SimConfig, Simulation, SimulationFailure


def parse_seeds(text: str) -> range:
    lo, sep, hi = text.partition("-")
    return range(int(lo), int(hi) + 1) if sep else range(int(lo), int(lo) + 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.raft.sim.run", description=__doc__.splitlines()[0])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--seed", type=int)
    which.add_argument("--seeds", type=parse_seeds, help="an inclusive range, e.g. 0-999")
    p.add_argument("--nodes", type=int, default=3, help="initial voters")
    p.add_argument("--learners", type=int, default=0, help="initial learners")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--trace", action="store_true", help="print every event of the run")
    args = p.parse_args(argv)
    seeds = range(args.seed, args.seed + 1) if args.seed is not None else args.seeds
    totals: Counter[str] = Counter()
    failed = 0
    for seed in seeds:
        cfg = SimConfig(seed, args.nodes, args.learners, args.steps, full_trace=args.trace)
        try:
            result = Simulation(cfg).run()
        except SimulationFailure as f:
            failed += 1
            for line in f.trace:
                print(line)
            print(f, file=sys.stderr)
            continue
        for line in result.trace:
            print(line)
        totals.update(result.stats)
    print(f"{len(seeds) - failed}/{len(seeds)} seeds passed", file=sys.stderr)
    for key, n in sorted(totals.items()):
        print(f"  {key}: {n}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
