"""Stage 3, the kit: what notebooks import from the engine: set-up (`runtime`: seed, device, threads), the journal's
datasets (`data`), recording metrics and figures (`record`, `plots`), progress, the runs a summary
notebook reads (`inputs`), FLOP counts (`flops`) and the warm kernel's reset between runs
(`reset`). Models and training are the journal's own code (the showcase's are in
experiments/course/), never the engine's.

A kit module a notebook imports is part of its runs' keys by content (labjournal.run.codedeps):
editing one re-runs exactly the notebooks that import it. Imports the shared base and, for
`data`, the data stage.
"""
