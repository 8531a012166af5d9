"""The benchmark harness behind bench/run.py: targets, workloads, the runner and the report."""
