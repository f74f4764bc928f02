"""Stage 2, the data: the datasets a journal declares (`data:` in journal.yml) found, downloaded
and fingerprinted before anything runs, and the content fingerprints every later stage keys by.
A journal's own `loader:` code runs in a child Python (`labjournal.data.loader`), never in the
engine's process, so it cannot change the engine's `sys.path` or modules. Imports the shared base
and the plan."""
