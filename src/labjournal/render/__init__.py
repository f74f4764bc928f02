"""Stage 7, rendering: the author's pages plus the results and verdicts become a Quarto project in
`_build/`. Imports the base, `plan`, `results`, `run` and `claims`."""
