// Full-text search of the journal's pages (Pagefind). The index is built with the site, in
// pagefind/. Pagefind loads its index with fetch(), which browsers refuse for pages opened
// from disk (file://): there the box says how to get search instead of failing.
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("search");
  if (!box) return;
  if (location.protocol === "file:" || typeof PagefindUI === "undefined") {
    box.innerHTML = '<span class="search-offline" title="Search needs the site to be served: ' +
      'labjournal serve, or any static host">Search: serve the site (labjournal serve)</span>';
    return;
  }
  new PagefindUI({
    element: "#search",
    showSubResults: true,
    showImages: false,
    resetStyles: false,
    // Every page sits at the site's top level: results link relative to it, on any host path.
    baseUrl: new URL(".", location.href).pathname,
  });
});
