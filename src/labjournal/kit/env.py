"""The environment variables through which `labjournal run` talks to a notebook's kernel."""

RUN_DIR_ENV = "LABJOURNAL_RUN_DIR"  # where record.* writes metrics.json and figures/
RUN_KEY_ENV = "LABJOURNAL_RUN_KEY"  # the run's cache key, stamped into every figure's PNG metadata
INPUTS_ENV = "LABJOURNAL_INPUTS"  # for summary notebooks: the JSON list of the runs they read
THREADS_ENV = "LABJOURNAL_THREADS"  # this worker's share of the cores
DEVICE_ENV = "LABJOURNAL_DEVICE"  # auto, cpu or cuda: where this run trains (see kit.runtime.setup)
PYTHONPATH_ENV = "LABJOURNAL_PYTHONPATH"  # the notebook's folder and the plan's pythonpath, first on sys.path
