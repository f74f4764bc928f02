"""Stage 4, the results: the store the runs write (`results/`: one folder per run, the index, the
seeds added and the decisions; locked, swapped in whole) and the read side every later stage looks
values up in (`lookup.Results`: metrics by reference, aggregates over seeds, failed runs named).
Imports the shared base, and the plan's Schedule (the design an index keeps)."""
