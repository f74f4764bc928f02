"""The orchestration above the stages: a journal run to its end (`decide`: the plan's runs, then
seeds added where claims need them until each is decided) and `report` (run, record the claims'
encodings, render, build), each step a call into one stage. Imports the stages; no stage imports
it. `labjournal.commands` calls it."""
