"""Stage 5, the runs: the plan's notebooks executed (keys, placement, executors, warm kernels),
what each run read recorded, and each run's record and the index written into the results store.
Imports the base, `plan`, `data`, `kit` and `results`."""
