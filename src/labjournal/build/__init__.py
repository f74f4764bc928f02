"""Stage 8, the build: the rendered project becomes the site and the PDF, with Quarto or the built-in
pandoc + typst engine, and says what is stale and why (`status`). Imports the base and the stages
before it."""
