"""Stage 3, the claims: `claims.yml` judged against the results, seed by seed, and more seeds run
until decided. Imports the base, `plan` and `run`."""
