"""Stage 5, the build: the rendered project becomes the site and the PDF, with Quarto or the built-in
pandoc + typst engine. Imports the base and `render`."""
