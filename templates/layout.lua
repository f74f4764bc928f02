-- Quarto's margin notes and tabsets for the built-in engine (HTML site and typst PDF).
--
-- Margin notes. Quarto places `::: {.column-margin}` (and `::: {.aside}`, `[text]{.aside}`, and a
-- figure with the class `.column-margin`) in the right margin, beside the content it follows.
--   HTML: the note and the block it follows are wrapped together,
--         <div class="margin-anchor"> <div class="margin-column"> notes </div> block </div>,
--         which site.css lays out with the notes floated into the right margin on wide screens
--         (top-aligned with the block, taking no height from the text column, later notes stacked
--         below earlier ones) and folds into a small inline aside after the block on narrow ones.
--         A note with no block before it (first in its list, or after a heading) goes beside the
--         next block.
--         The page's metadata gets `labjournal-margin: true`, so page.html can reserve the margin.
--   Typst: the note stays in place, as a small-text block with a rule on its left.
--
-- Tabsets. Quarto makes the headings inside `::: {.panel-tabset}` (those at the level of the first
-- one) into tabs, each panel holding what follows its heading; they never enter the contents.
--   HTML: a WAI-ARIA tabs widget (tabs.js makes it work): a hidden-until-scripted role="tablist" of
--         buttons, and role="tabpanel" sections that each keep their heading (as raw HTML, so that
--         pandoc's --toc does not list it), which is all a reader without JavaScript sees.
--   Typst: the panels one after another, each heading a bold title, not a heading of the outline.

local html = FORMAT:match("html") ~= nil
local typst = FORMAT:match("typst") ~= nil

-- Helpers ---------------------------------------------------------------------------------------

local function has_any_class(classes, wanted)
  for _, class in ipairs(wanted) do
    if classes:includes(class) then return true end
  end
  return false
end

local function escape_html(text)
  return (text:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;"))
end

-- Inlines as a fragment of the output format (for headings and labels written as raw markup).
local function render_inlines(inlines, format)
  local text = pandoc.write(pandoc.Pandoc({pandoc.Plain(inlines)}), format)
  return (text:gsub("%s+$", ""))
end

-- A typst label after a block (as pandoc writes one for a div with an identifier).
local function typst_label(identifier)
  if identifier == "" then return "" end
  return " <" .. identifier .. ">"
end

-- Margin notes ----------------------------------------------------------------------------------

local MARGIN_CLASSES = {"column-margin", "aside"}
local found_margin_note = false

-- A figure goes to the margin when it, or its image, has the class column-margin.
local function is_margin_figure(block)
  if block.t ~= "Figure" then return false end
  if block.classes:includes("column-margin") then return true end
  local margin = false
  block:walk({Image = function(image)
    if image.classes:includes("column-margin") then margin = true end
  end})
  return margin
end

local function is_margin_note(block)
  return (block.t == "Div" and has_any_class(block.classes, MARGIN_CLASSES)) or is_margin_figure(block)
end

-- The note as the output format shows it: a div of role "note" in HTML, a small block in typst.
local function format_note(block)
  local identifier, content = "", pandoc.Blocks({block})
  if block.t == "Div" then
    identifier, content = block.identifier, block.content
  end
  if typst then
    local note = pandoc.Blocks({pandoc.RawBlock("typst",
      "#block(width: 100%, inset: (left: 8pt, y: 3pt), stroke: (left: 0.6pt + luma(170)))[#set text(size: 8.5pt)")})
    note:extend(content)
    note:insert(pandoc.RawBlock("typst", "]" .. typst_label(identifier)))
    return note
  end
  found_margin_note = true
  local attributes = html and {role = "note"} or {}
  return pandoc.Blocks({pandoc.Div(content, pandoc.Attr(identifier, {"column-margin", "margin-note"}, attributes))})
end

-- Quarto's `[text]{.aside}` inside a paragraph: the span leaves the paragraph and becomes a note
-- after it. Returns the paragraph (nil when nothing was taken out) and the notes.
local function split_asides(block)
  if block.t ~= "Para" and block.t ~= "Plain" then return nil end
  local kept, notes = pandoc.Inlines({}), pandoc.Blocks({})
  for _, inline in ipairs(block.content) do
    if inline.t == "Span" and has_any_class(inline.classes, MARGIN_CLASSES) then
      notes:insert(pandoc.Div(pandoc.Para(inline.content), pandoc.Attr(inline.identifier, {"column-margin"})))
    else
      kept:insert(inline)
    end
  end
  if #notes == 0 then return nil end
  while #kept > 0 and (kept[#kept].t == "Space" or kept[#kept].t == "SoftBreak") do kept:remove() end
  block.content = kept
  return block, notes
end

-- A block that a note may sit beside (a heading starts a section: it stays where it is).
local function can_anchor(block)
  return block ~= nil and block.t ~= "Header" and block.t ~= "HorizontalRule"
end

-- The column of notes comes first in the anchor, so that on wide screens it floats right of the
-- block's first line; "margin-after" marks notes written after the block, which narrow screens
-- (and readers without CSS) show after it, as the source has them.
local function margin_column(notes, after)
  return pandoc.Div(notes, pandoc.Attr("", after and {"margin-column", "margin-after"} or {"margin-column"}))
end

local function anchor(block, notes, notes_first)
  local content = pandoc.Blocks({margin_column(notes, block ~= nil and not notes_first)})
  if block then content:insert(block) end
  return pandoc.Div(content, pandoc.Attr("", {"margin-anchor"}))
end

-- More notes after an anchored block join its column.
local function add_notes(anchor_div, notes)
  anchor_div.content[1].content:extend(notes)
end

local function is_anchor(block)
  return block ~= nil and block.t == "Div" and block.classes:includes("margin-anchor")
end

-- HTML: each run of notes joins the block before it (or, with none, the block after it; or, when
-- that is a heading too, stands alone).
local function anchor_notes(blocks)
  local out, pending = pandoc.Blocks({}), pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    if is_margin_note(block) then
      local last = out[#out]
      if is_anchor(last) and #pending == 0 then
        add_notes(last, format_note(block))
      elseif can_anchor(last) and #pending == 0 then
        out[#out] = anchor(last, format_note(block))
      else
        pending:extend(format_note(block))
      end
    elseif #pending > 0 then -- beside this block, or alone before a heading
      out:insert(can_anchor(block) and anchor(block, pending, true) or anchor(nil, pending))
      if not can_anchor(block) then out:insert(block) end
      pending = pandoc.Blocks({})
    else
      out:insert(block)
    end
  end
  if #pending > 0 then out:insert(anchor(nil, pending)) end
  return out
end

-- Typst (and any other format): each note in place.
local function inline_notes(blocks)
  local out = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    if is_margin_note(block) then out:extend(format_note(block)) else out:insert(block) end
  end
  return out
end

local function margin_blocks(blocks)
  local split = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    local paragraph, notes = split_asides(block)
    split:insert(paragraph or block)
    if notes then split:extend(notes) end
  end
  return html and anchor_notes(split) or inline_notes(split)
end

-- Tabsets ---------------------------------------------------------------------------------------

local tabset_count = 0

-- The tabs: the headings at the level of the first heading, each with the blocks up to the next.
-- Blocks before the first heading stay before the tabs, as Quarto keeps them.
local function split_tabs(blocks)
  local level, before, tabs = nil, pandoc.Blocks({}), {}
  for _, block in ipairs(blocks) do
    if block.t == "Header" and (level == nil or block.level == level) then
      level = block.level
      tabs[#tabs + 1] = {heading = block, content = pandoc.Blocks({})}
    elseif #tabs == 0 then
      before:insert(block)
    else
      tabs[#tabs].content:insert(block)
    end
  end
  return before, tabs
end

-- Headings within a panel stay headings but, like the tabs', leave the contents (pandoc honours
-- the class "unlisted" in --toc and in typst's outline).
local function unlist_headings(blocks)
  return blocks:walk({Header = function(heading)
    if not heading.classes:includes("unlisted") then heading.classes:insert("unlisted") end
    return heading
  end})
end

local function html_tablist(prefix, tabs)
  local buttons = {}
  for i, tab in ipairs(tabs) do
    local panel = escape_html(prefix .. "-" .. i)
    buttons[#buttons + 1] = string.format(
      '<button type="button" role="tab" id="%s-tab" aria-controls="%s" aria-selected="%s" tabindex="%s">%s</button>',
      panel, panel, i == 1 and "true" or "false", i == 1 and "0" or "-1", render_inlines(tab.heading.content, "html5"))
  end
  return pandoc.RawBlock("html", '<div role="tablist" class="tablist" hidden>\n' .. table.concat(buttons, "\n") .. "\n</div>")
end

-- A panel keeps its heading as raw HTML: shown without JavaScript, never listed by --toc.
local function html_panel(prefix, i, tab)
  local heading = tab.heading
  local id = heading.identifier ~= "" and string.format(' id="%s"', escape_html(heading.identifier)) or ""
  local title = pandoc.RawBlock("html", string.format('<h%d%s class="tab-heading">%s</h%d>',
    heading.level, id, render_inlines(heading.content, "html5"), heading.level))
  local content = pandoc.Blocks({title})
  content:extend(tab.content)
  local panel = prefix .. "-" .. i
  return pandoc.Div(content, pandoc.Attr(panel, {"tab-panel"},
    {role = "tabpanel", ["aria-labelledby"] = panel .. "-tab", tabindex = "0"}))
end

-- The typst title of a panel: bold, kept with what follows, labelled like the heading was (so
-- that links to it still resolve), but no heading: it stays out of the PDF's outline.
local function typst_panel(tab)
  local title = "#block(sticky: true, above: 1.2em, below: 0.7em)[#strong["
    .. render_inlines(tab.heading.content, "typst") .. "]]" .. typst_label(tab.heading.identifier)
  local blocks = pandoc.Blocks({pandoc.RawBlock("typst", title)})
  blocks:extend(tab.content)
  return blocks
end

local function tabset(div)
  if not div.classes:includes("panel-tabset") then return nil end
  local before, tabs = split_tabs(div.content)
  if #tabs == 0 then return nil end
  for _, tab in ipairs(tabs) do tab.content = unlist_headings(tab.content) end
  if typst then
    for _, tab in ipairs(tabs) do before:extend(typst_panel(tab)) end
    return pandoc.Div(before, pandoc.Attr(div.identifier, {"panel-tabset"}))
  end
  if not html then return nil end
  tabset_count = tabset_count + 1
  local prefix = div.identifier ~= "" and div.identifier or ("tabset-" .. tabset_count)
  local content = before
  content:insert(html_tablist(prefix, tabs))
  for i, tab in ipairs(tabs) do content:insert(html_panel(prefix, i, tab)) end
  div.identifier = prefix
  div.content = content
  return div
end

-- The filters, in order: tabsets (innermost first), then margin notes in every list of blocks,
-- then the page's metadata.
return {
  {Div = tabset},
  {Blocks = margin_blocks},
  {Meta = function(meta)
    if found_margin_note then
      meta["labjournal-margin"] = true
      return meta
    end
  end},
}
