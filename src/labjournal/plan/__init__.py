"""Stage 1, the plan: `journal.yml` read and checked (labs, grids, seeds, profiles, the declared
datasets, the schedule of looks claims are judged at). Imports only the shared base (errors, files,
yamlfile, project, records, names); loading a plan imports neither scipy nor papermill."""
