/* Draws payroute's workflow diagrams with the vendored Mermaid (vendor/mermaid-12.3.0.min.js).
 *
 * Use: load Mermaid and this file (both `defer`) on a page that draws diagrams, and put the
 * Mermaid text (dsl.diagram's output, HTML-escaped by Jinja) in `<pre class="mermaid">`. Every
 * such element not yet drawn is replaced by its SVG when the page loads and after each htmx
 * swap (so a panel htmx redraws gets its new diagram). The SVG is given role="img" and the
 * element's aria-label, so a screen reader hears what the picture is. A text Mermaid cannot
 * draw keeps its text and says why below it, never a blank.
 *
 *   <pre class="mermaid" aria-label="Workflow diagram">{{ mermaid_text }}</pre>
 *
 * Mermaid runs with securityLevel "strict" (no HTML or click handlers from the text), and no
 * inline script is needed, as the pages' Content-Security-Policy requires.
 */
(function () {
  "use strict";
  var started = false;
  var counter = 0;

  function start() {
    if (started || !window.mermaid) return !!window.mermaid;
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "base",
      fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      themeVariables: { primaryColor: "#ffffff", primaryBorderColor: "#495057", lineColor: "#868e96",
                        fontSize: "14px" },
      flowchart: { htmlLabels: true, curve: "basis" }
    });
    started = true;
    return true;
  }

  function label(pre, svg) {
    svg.setAttribute("role", "img");
    var name = pre.getAttribute("aria-label") || "Workflow diagram";
    svg.setAttribute("aria-label", name);
  }

  function draw(root) {
    if (!start()) return;
    var pres = (root || document).querySelectorAll("pre.mermaid:not([data-drawn])");
    Array.prototype.forEach.call(pres, function (pre) {
      pre.setAttribute("data-drawn", "pending");
      var text = pre.textContent;
      var id = "payroute-diagram-" + (++counter);
      window.mermaid.render(id, text).then(function (out) {
        if (!pre.isConnected) return;
        var holder = document.createElement("div");
        holder.className = "mermaid-svg";
        holder.innerHTML = out.svg;
        var svg = holder.querySelector("svg");
        if (svg) label(pre, svg);
        pre.hidden = true;
        pre.setAttribute("data-drawn", "yes");
        pre.parentNode.insertBefore(holder, pre.nextSibling);
      }).catch(function (err) {
        pre.setAttribute("data-drawn", "failed");
        var note = document.createElement("p");
        note.className = "field-error";
        note.textContent = "The diagram could not be drawn: " + (err && err.message ? err.message : err);
        pre.parentNode.insertBefore(note, pre.nextSibling);
        var stray = document.getElementById("d" + id);
        if (stray) stray.remove();
      });
    });
  }

  window.payrouteDiagrams = { draw: draw };
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
})();
