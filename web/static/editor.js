/* The rule editor's small helpers (the page works without them: "Check" submits the form).
 *
 * - the line-number gutter and the textarea's height follow the text as it is typed;
 * - the marks at the lines (#flow-marks, drawn by the server) scroll sideways with the text;
 * - a diagnostic's "line L:C" link selects that span in the text and focuses it;
 * - a "did you mean" suggestion's button replaces the span with the suggested name (keeping
 *   the quotes); the `input` event it sends asks htmx for a fresh panel.
 */
(function () {
  "use strict";

  function flow() { return document.getElementById("flow"); }

  function lines(text) { return text.split("\n").length; }

  function syncGutter() {
    var area = flow();
    var gutter = document.getElementById("gutter");
    if (!area || !gutter) return;
    var n = lines(area.value);
    if (gutter.getAttribute("data-lines") !== String(n)) {
      var out = [];
      for (var i = 1; i <= n; i++) out.push(i);
      gutter.textContent = out.join("\n") + "\n";
      gutter.setAttribute("data-lines", String(n));
    }
    area.rows = Math.max(n + 1, 16);
  }

  function syncScroll() {
    var area = flow();
    var marks = document.getElementById("flow-marks");
    if (area && marks) marks.style.transform = "translateX(" + (-area.scrollLeft) + "px)";
  }

  /* The offset in the text of a 1-based line and column (columns count characters). */
  function offset(text, line, column) {
    var at = 0;
    for (var l = 1; l < line; l++) {
      var next = text.indexOf("\n", at);
      if (next < 0) return text.length;
      at = next + 1;
    }
    var end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    return Math.min(at + Math.max(column - 1, 0), end);
  }

  function span(el) {
    var area = flow();
    var line = +el.getAttribute("data-line"), column = +el.getAttribute("data-column");
    var endLine = +(el.getAttribute("data-end-line") || line);
    var endColumn = +(el.getAttribute("data-end-column") || column + 1);
    var start = offset(area.value, line, column);
    var end = Math.max(offset(area.value, endLine, endColumn), start);
    return [start, end];
  }

  function select(el) {
    var area = flow();
    if (!area) return;
    var range = span(el);
    area.focus();
    area.setSelectionRange(range[0], range[1]);
    var lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
    var line = +el.getAttribute("data-line");
    var top = area.getBoundingClientRect().top + window.scrollY + (line - 3) * lineHeight;
    window.scrollTo({ top: Math.max(top, 0), behavior: "smooth" });
  }

  function replace(button) {
    var area = flow();
    if (!area) return;
    var range = span(button);
    var old = area.value.slice(range[0], range[1]);
    var name = button.getAttribute("data-replace");
    var quoted = old.length >= 2 && old[0] === '"' && old[old.length - 1] === '"';
    var text = quoted ? '"' + name.replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"' : name;
    area.focus();
    area.setSelectionRange(range[0], range[1]);
    area.setRangeText(text, range[0], range[1], "end");
    syncGutter();
    area.dispatchEvent(new Event("input", { bubbles: true }));  /* htmx's trigger: a fresh panel */
  }

  function reveal() {
    Array.prototype.forEach.call(document.querySelectorAll("button.suggestion[hidden]"), function (b) {
      b.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var area = flow();
    if (!area) return;
    syncGutter();
    reveal();
    area.addEventListener("input", syncGutter);
    area.addEventListener("scroll", syncScroll);
    document.addEventListener("htmx:afterSettle", function () { reveal(); syncScroll(); });
    document.addEventListener("click", function (event) {
      var at = event.target.closest("a.at[data-line]");
      if (at) { event.preventDefault(); select(at); return; }
      var button = event.target.closest("button.suggestion[data-replace]");
      if (button) { event.preventDefault(); replace(button); }
    });
    area.addEventListener("keydown", function (event) {  /* Tab indents; Esc then Tab leaves */
      if (event.key === "Tab" && !event.shiftKey && area.getAttribute("data-tab") === "indent") {
        event.preventDefault();
        area.setRangeText("    ", area.selectionStart, area.selectionEnd, "end");
      } else if (event.key === "Escape") {
        area.removeAttribute("data-tab");
      } else if (event.key !== "Tab" && event.key !== "Shift") {
        area.setAttribute("data-tab", "indent");
      }
    });
    area.addEventListener("focus", function () { area.removeAttribute("data-tab"); });
  });
})();
