"""Stage 1, the plan: `journal.yml` read and checked (labs, grids, seeds, profiles, datasets, the
sequential design). Imports only the shared base (errors, files, yamlfile, project, records)."""
