// Tabsets (Quarto's ::: {.panel-tabset}), written by layout.lua as the WAI-ARIA tabs pattern:
// a role="tablist" of buttons, each controlling one role="tabpanel". Without this script every
// panel is shown with its heading and the tab list stays hidden. With it, one panel shows at a
// time: a click or Enter selects a tab; the arrow keys, Home and End move the selection (roving
// tabindex: only the selected tab is in the Tab order). A link to a panel, or to anything inside
// one, opens its tab.
(function () {
  function tabsOf(tablist) {
    return Array.prototype.slice.call(tablist.querySelectorAll('[role="tab"]'));
  }

  function select(tab, focus) {
    tabsOf(tab.parentNode).forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    });
    if (focus) tab.focus();
  }

  var KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

  function onKey(event) {
    var tabs = tabsOf(event.currentTarget);
    var current = tabs.indexOf(document.activeElement);
    if (current < 0) return;
    var next;
    if (event.key in KEYS) next = (current + KEYS[event.key] + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    else return;
    event.preventDefault();
    select(tabs[next], true);
  }

  function setUp(tabset) {
    var tablist = tabset.querySelector(':scope > [role="tablist"]');
    if (!tablist) return;
    var tabs = tabsOf(tablist);
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () { select(tab, true); });
    });
    tablist.addEventListener("keydown", onKey);
    tablist.hidden = false;
    tabset.classList.add("tabset-ready");
    var chosen = tabs.filter(function (tab) { return tab.getAttribute("aria-selected") === "true"; })[0];
    if (chosen || tabs[0]) select(chosen || tabs[0], false);
  }

  // The tab whose panel holds the element the address points at (#id), if any.
  function openTarget() {
    if (!location.hash) return;
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var opened = null; // the innermost panel opened
    for (var node = target; node && node.getAttribute; node = node.parentNode) {
      if (node.getAttribute("role") === "tabpanel" && node.hidden) {
        var tab = document.getElementById(node.getAttribute("aria-labelledby"));
        if (tab) { select(tab, false); opened = opened || node; }
      }
    }
    // A tab's own heading is not shown beside its tab: then the panel is scrolled to.
    if (opened) (target.getClientRects().length ? target : opened.parentNode).scrollIntoView();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".panel-tabset"), setUp);
    openTarget();
  }

  window.addEventListener("hashchange", openTarget);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
