"""Authoring around the stages: `new`, `add`, `preview` and `publish`. May import every stage."""
