"""Stage 6, the claims: `claims.yml` judged against the results, seed by seed, under a
group-sequential design (`sequential`), with Holm over the journal's claims and the ledger of
encodings. Imports the base, `plan`, `results` and `run` (its reproducibility flags and clock)."""
