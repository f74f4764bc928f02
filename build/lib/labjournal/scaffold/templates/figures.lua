-- Figure alt text for the built-in engine: Quarto reads `fig-alt`, pandoc does not, so the image's
-- description (which pandoc writes as the HTML alt attribute) becomes the fig-alt text. The
-- caption stays the figure's caption.
function Image(img)
  local alt = img.attributes["fig-alt"]
  if not alt then return nil end
  img.attributes["fig-alt"] = nil
  img.caption = pandoc.Inlines({pandoc.Str(alt)})
  return img
end
