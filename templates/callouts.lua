-- Quarto-style callouts (::: {.callout-note} with an optional title= or heading) for the built-in engine.
-- HTML: a div of class "callout" whose heading becomes a title paragraph (no stray heading levels).
-- Typst: a shaded block with a bold title.
local function callout_kind(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind then return kind end
  end
end

-- The title, as Quarto takes it: the `title="…"` attribute (Markdown), else a first heading (which
-- then leaves the body), else the kind ("Warning"). Returns the title and the body.
local function callout_title(div, kind)
  local body = div.content
  local attribute = div.attributes.title
  if attribute and attribute ~= "" then
    local blocks = pandoc.read(attribute, "markdown").blocks
    if #blocks > 0 and blocks[1].content then return blocks[1].content, body end
  end
  if #body > 0 and body[1].t == "Header" then
    return body[1].content, pandoc.List({table.unpack(body, 2)})
  end
  return pandoc.Inlines(pandoc.Str(kind:sub(1, 1):upper() .. kind:sub(2))), body
end

function Div(div)
  local kind = callout_kind(div)
  if not kind then return nil end
  local title, body = callout_title(div, kind)
  if FORMAT:match("typst") then
    local blocks = pandoc.List({pandoc.RawBlock("typst", "#block(fill: luma(243), inset: 10pt, radius: 3pt, width: 100%)[")})
    blocks:insert(pandoc.Para({pandoc.Strong(title)}))
    blocks:extend(body)
    blocks:insert(pandoc.RawBlock("typst", "]"))
    return blocks
  end
  local classes = {"callout", "callout-" .. kind}
  local content = pandoc.List({pandoc.Div(pandoc.Plain(title), pandoc.Attr("", {"callout-title"}))})
  content:extend(body)
  return pandoc.Div(content, pandoc.Attr(div.identifier, classes))
end
