"""Stage 2, the runs: the plan's notebooks executed (keys, placement, executors, kernels) and their
results kept (store, index) and queried. Imports the base, `plan` and `kit`."""
