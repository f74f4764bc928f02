-- Quarto cross-references for the built-in engine. Labels: a figure's or table's id
-- (`{#fig-x}`, `: caption {#tbl-x}`), `$$ … $$ {#eq-x}` after display math, a heading's
-- `{#sec-x}`. References: `@fig-x` ("Figure 2"), `-@fig-x` ("2"), as citations are written.
-- Figures and tables are numbered in the order the document shows them, as typst numbers its
-- figures, so the PDF's captions and references agree; in HTML the caption gets "Figure 2: ".
-- Runs before citeproc, which would otherwise take `@fig-x` for a missing citation.
local NAMES = {fig = "Figure", tbl = "Table", eq = "Equation", sec = "Section"}
local labels = {} -- id -> {kind = "fig", number = 2, title = Inlines (sections)}
local counts = {fig = 0, tbl = 0, eq = 0}
local typst = FORMAT:match("typst") ~= nil

local function kind_of(id)
  return id and id:match("^(%a+)%-") or nil
end

local function prefix_caption(caption, text)
  local blocks = caption.long
  if #blocks == 0 then
    blocks:insert(pandoc.Plain({}))
  end
  local first = blocks[1].content
  first:insert(1, pandoc.Str(text))
  if #first > 1 then first:insert(2, pandoc.Space()) end
end

-- A figure or a table: counted (all of them in typst, labelled ones on the site), remembered
-- when labelled, and on the site its caption starts with its number.
local function numbered(kind, name)
  return function(element)
    local labelled = kind_of(element.identifier) == kind
    if labelled or typst then counts[kind] = counts[kind] + 1 end
    if labelled then
      labels[element.identifier] = {kind = kind, number = counts[kind]}
      if not typst then prefix_caption(element.caption, name .. " " .. counts[kind] .. ":") end
    end
    return element
  end
end

local number_figure, number_table = numbered("fig", "Figure"), numbered("tbl", "Table")

-- `$$ … $$ {#eq-x}`: pandoc reads the label as text after the math.
local function equation(math, id)
  counts.eq = counts.eq + 1
  labels[id] = {kind = "eq", number = counts.eq}
  if typst then
    local written = pandoc.write(pandoc.Pandoc({pandoc.Plain({pandoc.Math("InlineMath", math.text)})}), "typst")
    written = written:gsub("%s+$", "")
    return pandoc.RawInline("typst",
      "#math.equation(block: true, numbering: \"(1)\", " .. written .. ") <" .. id .. ">")
  end
  return pandoc.Span({math, pandoc.Span({pandoc.Str("(" .. counts.eq .. ")")}, {class = "equation-number"})},
    {id = id, class = "equation"})
end

local function number_equations(inlines)
  local out = pandoc.Inlines({})
  local i = 1
  while i <= #inlines do
    local item = inlines[i]
    local gap = inlines[i + 1] and inlines[i + 1].t == "Space" and 1 or 0
    local label = inlines[i + 1 + gap]
    local id = label and label.t == "Str" and label.text:match("^{#(eq%-[%w_%-]+)}$")
    if item.t == "Math" and item.mathtype == "DisplayMath" and id then
      out:insert(equation(item, id))
      i = i + 2 + gap
    else
      out:insert(item)
      i = i + 1
    end
  end
  return out
end

local function section(header)
  if kind_of(header.identifier) == "sec" then
    labels[header.identifier] = {kind = "sec", title = header.content}
  end
end

-- A Quarto figure div (`::: {#fig-x}` … last paragraph the caption) becomes a figure.
local function figure_div(div)
  if kind_of(div.identifier) ~= "fig" or #div.content < 2 then return nil end
  local content = div.content:clone()
  local caption = content:remove(#content)
  return pandoc.Figure(content, {pandoc.Plain(caption.content or {})}, pandoc.Attr(div.identifier, div.classes))
end

local function reference(cite)
  local parts = pandoc.Inlines({})
  for n, citation in ipairs(cite.citations) do
    local found = labels[citation.id]
    if not found then return nil end -- a real citation: citeproc's
    local text
    if found.kind == "sec" then
      text = found.title
    elseif citation.mode == "SuppressAuthor" then
      text = {pandoc.Str(tostring(found.number))}
    else
      text = {pandoc.Str(NAMES[found.kind]), pandoc.Str("\u{a0}" .. found.number)}
    end
    if n > 1 then parts:extend({pandoc.Str(","), pandoc.Space()}) end
    parts:insert(pandoc.Link(text, "#" .. citation.id, "", {class = "quarto-xref"}))
  end
  return parts
end

function Pandoc(doc)
  -- Pass 1, in document order: number what is labelled.
  doc = doc:walk({Div = figure_div})
  doc = doc:walk({
    traverse = "topdown",
    Figure = number_figure,
    Table = number_table,
    Header = section,
    Inlines = number_equations,
  })
  -- Pass 2: references become numbered links.
  return doc:walk({Cite = reference})
end
