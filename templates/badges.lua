-- Claim verdict badges: a coloured box in the PDF (the HTML styles them with journal.css).
local BADGE_COLOURS = {supported = "rgb(46, 125, 50)", ["partly-supported"] = "rgb(138, 98, 0)", contradicted = "rgb(198, 40, 40)", negligible = "rgb(31, 95, 168)", inconclusive = "rgb(109, 109, 109)", ["not-run"] = "rgb(176, 183, 192)"}

function Span(span)
  if not FORMAT:match("typst") or not span.classes:includes("claim-badge") then return nil end
  local colour = BADGE_COLOURS.inconclusive
  for verdict, value in pairs(BADGE_COLOURS) do
    if span.classes:includes("claim-" .. verdict) then colour = value end
  end
  -- The label names parts (metric names with underscores, brackets): literal text in typst.
  local label = pandoc.utils.stringify(span.content):upper():gsub("%p", function(c) return "\\" .. c end)
  return pandoc.RawInline("typst", '#box(fill: ' .. colour .. ', inset: (x: 3pt, y: 1.5pt), radius: 2pt)[#text(fill: white, size: 7.5pt, weight: "bold")[' .. label .. ']]')
end
