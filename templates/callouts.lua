-- Quarto-style callouts (::: {.callout-note} with an optional heading) for the built-in engine.
-- HTML: a div of class "callout" whose heading becomes a title paragraph (no stray heading levels).
-- Typst: a shaded block with a bold title.
local function callout_kind(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match("^callout%-(%a+)$")
    if kind then return kind end
  end
end

function Div(div)
  local kind = callout_kind(div)
  if not kind then return nil end
  local title = nil
  local body = div.content
  if #body > 0 and body[1].t == "Header" then
    title = body[1].content
    body = pandoc.List({table.unpack(body, 2)})
  end
  if title == nil then
    title = pandoc.Inlines(pandoc.Str(kind:sub(1, 1):upper() .. kind:sub(2)))
  end
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
