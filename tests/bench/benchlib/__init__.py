"""The pieces of tests/bench/run-bench: targets (what fio writes to), the
fio workloads, process accounting (RSS, CPU) and the report."""
