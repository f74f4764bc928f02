-- Quarto cross-references for the built-in engine. Labels: a figure's or table's id
-- (`{#fig-x}`, `: caption {#tbl-x}`), `$$ … $$ {#eq-x}` after display math, a heading's
-- `{#sec-x}`; sub-figures (a figure div of panels, `#fig-x` on each). References: `@fig-x`
-- ("Figure 2", a panel "Figure 2(a)"), `-@fig-x` ("2"), as citations are written.
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

local number_table = numbered("tbl", "Table")
local number_plain_figure = numbered("fig", "Figure")

-- Sub-figures -----------------------------------------------------------------------------------
-- Quarto's `::: {#fig-pair layout-ncol=2}` holding figures (or images) and a caption: one figure
-- "Figure N" whose panels, side by side, are captioned (a), (b), … and referenced as "Figure N(a)".
-- HTML: <figure class="subfigures"> holding a grid of the panels' own <figure>s, then its caption.
-- Typst: one figure (typst counts it, not its panels) whose body is a grid of labelled blocks.

-- The panels of a figure div's blocks: each figure, and each image of a paragraph of images; nil
-- when anything else is there (the div is then one figure, as before).
local function panels_of(blocks)
  local panels = pandoc.List({})
  for _, block in ipairs(blocks) do
    if block.t == "Figure" then
      panels:insert(block)
    elseif block.t == "Para" or block.t == "Plain" then
      for _, inline in ipairs(block.content) do
        if inline.t == "Image" then
          local id = inline.identifier
          inline.identifier = ""
          panels:insert(pandoc.Figure({pandoc.Plain({inline})}, {pandoc.Plain(inline.caption)}, pandoc.Attr(id)))
        elseif inline.t ~= "Space" and inline.t ~= "SoftBreak" and inline.t ~= "LineBreak" then
          return nil
        end
      end
    else
      return nil
    end
  end
  return panels
end

local function is_subfigure_set(panels)
  if panels == nil or #panels == 0 then return false end
  if #panels >= 2 then return true end
  return kind_of(panels[1].identifier) == "fig"
end

-- Quarto's layout-ncol, or layout-nrow (as many columns as that many rows need), else one column.
local function columns(attributes, count)
  local ncol = tonumber(attributes["layout-ncol"] or "")
  local nrow = tonumber(attributes["layout-nrow"] or "")
  if ncol and ncol >= 1 then return math.floor(ncol) end
  if nrow and nrow >= 1 then return math.ceil(count / nrow) end
  return 1
end

local function subfigure(div, panels, caption)
  local ncol = columns(div.attributes, #panels)
  local grid = pandoc.Div(panels, pandoc.Attr("", {"figure-panels"},
    {style = "grid-template-columns: repeat(" .. ncol .. ", minmax(0, 1fr))", ["data-columns"] = tostring(ncol)}))
  local classes = div.classes:clone()
  classes:insert("subfigures")
  return pandoc.Figure({grid}, {pandoc.Plain(caption)}, pandoc.Attr(div.identifier, classes))
end

-- Typst: the panels as a grid of blocks, each labelled (so that links reach it), its image as wide
-- as its column unless the author gave a width, its caption "(a) …" centred under it.
local function typst_panels(panels, ncol)
  local blocks = pandoc.Blocks({pandoc.RawBlock("typst",
    "#grid(columns: " .. ncol .. ", column-gutter: 1em, row-gutter: 1em, align: bottom,")})
  for _, panel in ipairs(panels) do
    blocks:insert(pandoc.RawBlock("typst", "[#block(width: 100%)[#set image(width: 100%)"))
    blocks:extend(panel.content)
    blocks:insert(pandoc.RawBlock("typst", "#align(center)[#text(size: 8.5pt)["))
    blocks:extend(panel.caption.long)
    local label = panel.identifier ~= "" and (" <" .. panel.identifier .. ">") or ""
    blocks:insert(pandoc.RawBlock("typst", "]]]" .. label .. "],"))
  end
  blocks:insert(pandoc.RawBlock("typst", ")"))
  return blocks
end

-- Number the set as one figure, letter its panels, and (typst) lay them out as a grid.
local function number_subfigures(figure)
  number_plain_figure(figure)
  local number = counts.fig
  local grid = figure.content[1]
  for i, panel in ipairs(grid.content) do
    local letter = string.char(96 + i)
    if kind_of(panel.identifier) == "fig" then
      labels[panel.identifier] = {kind = "fig", number = number, sub = letter}
    end
    prefix_caption(panel.caption, "(" .. letter .. ")")
  end
  if typst then
    figure.content = typst_panels(grid.content, tonumber(grid.attributes["data-columns"]))
  end
  return figure, false -- the panels are not figures of their own
end

local function number_figure(figure)
  if figure.classes:includes("subfigures") then return number_subfigures(figure) end
  return number_plain_figure(figure)
end

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

-- A Quarto figure div (`::: {#fig-x}` … last paragraph the caption) becomes a figure, or a set
-- of sub-figures when it holds several figures (or images), or one labelled `#fig-…`.
local function figure_div(div)
  if kind_of(div.identifier) ~= "fig" or #div.content < 2 then return nil end
  local content = div.content:clone()
  local caption = content:remove(#content).content or {}
  local panels = panels_of(content:clone())
  if is_subfigure_set(panels) then return subfigure(div, panels, caption) end
  return pandoc.Figure(content, {pandoc.Plain(caption)}, pandoc.Attr(div.identifier, div.classes))
end

local function reference(cite)
  local parts = pandoc.Inlines({})
  for n, citation in ipairs(cite.citations) do
    local found = labels[citation.id]
    if not found then return nil end -- a real citation: citeproc's
    local text
    if found.kind == "sec" then
      text = found.title
    else
      local number = tostring(found.number) .. (found.sub and ("(" .. found.sub .. ")") or "")
      if citation.mode == "SuppressAuthor" then
        text = {pandoc.Str(number)}
      else
        text = {pandoc.Str(NAMES[found.kind]), pandoc.Str("\u{a0}" .. number)}
      end
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
