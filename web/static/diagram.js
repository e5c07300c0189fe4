/* Draw every <pre class="mermaid"> on the page with the vendored Mermaid (loaded only by pages
   that show a workflow). Without JavaScript the <pre> keeps the diagram's text, which still reads.
   securityLevel "strict": labels are text, never HTML or links. Call payrouteDiagrams(root) after
   replacing part of a page (an htmx swap) to draw the new diagrams in it. */
(function () {
  "use strict";
  function draw(root) {
    if (!window.mermaid) { return; }
    var nodes = (root || document).querySelectorAll("pre.mermaid:not([data-processed])");
    if (!nodes.length) { return; }
    window.mermaid.run({ nodes: Array.prototype.slice.call(nodes) }).then(function () {
      Array.prototype.forEach.call(nodes, function (pre) {
        var svg = pre.querySelector("svg");
        if (svg) { svg.setAttribute("role", "img"); svg.setAttribute("aria-label", pre.getAttribute("aria-label") || "Workflow diagram"); }
      });
    });
  }
  window.payrouteDiagrams = draw;
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.mermaid) { return; }
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral",
                                flowchart: { htmlLabels: false, useMaxWidth: true }, fontFamily: "system-ui, sans-serif" });
    draw(document);
  });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
