"""The commands: one module per command (`labjournal run` is `commands/run.py`), each a `main`
that takes the journal (discovered once by the CLI), its typed options record
(`commands/options.py`) and the console, and calls the pipeline or a stage. Imports every stage and
the pipeline; only the CLI imports it."""
