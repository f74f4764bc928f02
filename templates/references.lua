-- A "References" heading for the built-in engine, wherever citeproc lists references by itself.
-- Without a `::: {#refs}` div citeproc puts the references at the end of the page, under its last
-- section and with no heading; Quarto gives them a "References" section. So a page that cites
-- (a citation left after crossref.lua, or `nocite`) and has no refs div gets a heading and the div
-- at its end: a level-2 section on a site page, a level-1 chapter in the combined PDF's typst.
-- Runs before citeproc, after crossref.lua (which turns `@fig-x` and the like into links).
local function has_refs_div(doc)
  local found = false
  doc:walk({Div = function(div)
    if div.identifier == "refs" then found = true end
  end})
  return found
end

local function cites(doc)
  if doc.meta.nocite then return true end
  local found = false
  doc:walk({Cite = function() found = true end})
  return found
end

function Pandoc(doc)
  if has_refs_div(doc) or not cites(doc) then return nil end
  local level = FORMAT:match("typst") and 1 or 2
  doc.blocks:insert(pandoc.Header(level, {pandoc.Str("References")}, pandoc.Attr("references", {"unnumbered"})))
  doc.blocks:insert(pandoc.Div({}, pandoc.Attr("refs")))
  return doc
end
