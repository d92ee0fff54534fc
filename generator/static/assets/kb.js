/* The knowledge base's own behaviour: ages relative to the reader's today, sortable and
   filterable index tables, and diagrams drawn by the pinned Mermaid shipped with the site. */
(function () {
  "use strict";

  /* Same rule as generator/score.py age_text (the source wiki's): days up to 14, weeks up to 60, then months. */
  function ageText(days) {
    if (days <= 0) return "today";
    if (days <= 14) return days + (days === 1 ? " day ago" : " days ago");
    if (days <= 60) return Math.floor(days / 7) + " weeks ago";
    var months = Math.floor(days / 30);
    return months + (months === 1 ? " month ago" : " months ago");
  }

  function showAges() {
    var now = new Date();
    var today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
    document.querySelectorAll("time.kb-age").forEach(function (el) {
      var parts = el.getAttribute("datetime").split("-").map(Number);
      if (parts.length < 3) return;  // a month or a year: its age would be a guess
      var days = Math.round((today - Date.UTC(parts[0], parts[1] - 1, parts[2])) / 86400000);
      el.textContent = el.getAttribute("datetime") + " (" + ageText(days) + ")";
    });
  }

  function sortable(root) {
    var table = root.querySelector("table");
    var body = table.tBodies[0];
    root.querySelectorAll("button[data-kb-sort]").forEach(function (button) {
      button.addEventListener("click", function () {
        var column = Number(button.getAttribute("data-kb-sort"));
        var th = button.parentElement;
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th").forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-sort"), y = b.cells[column].getAttribute("data-sort");
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
    var filter = root.querySelector("select[data-kb-filter]");
    if (filter) {
      filter.addEventListener("change", function () {
        var tag = filter.value;
        Array.prototype.forEach.call(body.rows, function (row) {
          var tags = (row.getAttribute("data-tags") || "").split(" ");
          row.hidden = !!tag && tags.indexOf(tag) < 0;
        });
      });
    }
  }

  function drawDiagrams() {
    var blocks = document.querySelectorAll("pre.kb-mermaid");
    if (!blocks.length || !window.mermaid) return;
    var dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    var index = 0;
    (function next() {
      if (index >= blocks.length) return;
      var pre = blocks[index];
      var source = pre.textContent;
      /* Only the generator's maps (labels fully entity-encoded, marked with data-kb-links by the
         generator, never by anything an editor can type) have clickable nodes; every diagram an
         editor wrote is drawn with Mermaid's strict security level. */
      var generated = pre.hasAttribute("data-kb-links");
      window.mermaid.initialize({
        startOnLoad: false,
        securityLevel: generated ? "loose" : "strict",
        theme: dark ? "dark" : "default",
        flowchart: { useMaxWidth: true }
      });
      var id = "kb-diagram-" + index;
      index += 1;
      window.mermaid.render(id, source).then(function (result) {
        var figure = document.createElement("div");
        figure.className = "kb-diagram";
        figure.setAttribute("role", "img");
        figure.setAttribute("aria-label", pre.getAttribute("data-title") || "Diagram");
        figure.innerHTML = result.svg;
        if (result.bindFunctions) result.bindFunctions(figure);
        pre.replaceWith(figure);
        next();
      }, function (error) {
        pre.classList.add("kb-mermaid--failed");
        console.warn("diagram " + id + " could not be drawn:", error && error.message);
        next();
      });
    })();
  }

  function siteRoot() {
    var meta = document.querySelector('meta[name="kb-root"]');
    return meta ? meta.getAttribute("content") : "./";
  }

  /* Search is Pagefind's static, chunked index: a box in the header leads to search.html. */
  function headerSearch() {
    var inner = document.querySelector(".md-header__inner");
    if (!inner || document.getElementById("kb-search")) return;
    var form = document.createElement("form");
    form.className = "kb-header-search";
    form.setAttribute("role", "search");
    form.action = siteRoot() + "search.html";
    var input = document.createElement("input");
    input.type = "search";
    input.name = "q";
    input.placeholder = "Search";
    input.setAttribute("aria-label", "Search the knowledge base");
    form.appendChild(input);
    inner.appendChild(form);
  }

  function searchPage() {
    var element = document.getElementById("kb-search");
    if (!element) return;
    var bundle = new URL(siteRoot() + "pagefind/", window.location.href).href;
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = bundle + "pagefind-ui.css";
    document.head.appendChild(css);
    var script = document.createElement("script");
    script.src = bundle + "pagefind-ui.js";
    script.onload = function () {
      var ui = new window.PagefindUI({ element: "#kb-search", bundlePath: bundle, showSubResults: true,
                                       showImages: false, autofocus: true,
                                       baseUrl: new URL(siteRoot(), window.location.href).pathname });
      var query = new URLSearchParams(window.location.search).get("q");
      if (query) ui.triggerSearch(query);
    };
    document.head.appendChild(script);
  }

  /* Tables and drawings that scroll sideways must be reachable by keyboard (axe: scrollable-region-focusable). */
  function focusableScrollers() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) wrap.setAttribute("tabindex", "0");
    });
  }

  function start() {
    focusableScrollers();
    headerSearch();
    searchPage();
    showAges();
    document.querySelectorAll("[data-kb-index]").forEach(sortable);
    drawDiagrams();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
