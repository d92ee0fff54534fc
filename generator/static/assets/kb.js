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

  /* kb:inert-handlers (also loaded by generator/diagrams.py into the build's drawing page)
     Mermaid's strict level runs every label, accTitle and accDescr through DOMPurify, which parses
     it with DOMParser: an inert document, but Chromium checks the page's Content-Security-Policy
     as soon as an on* attribute is parsed there, and any later change to Mermaid's sanitising
     would leave the handler to the CSP alone. So before Mermaid sees an editor's diagram, every
     attribute name an HTML parser would read in a start tag and that begins with "on" gets a
     zero-width space after its "o": it no longer names an event handler, and the text reads the
     same. Only the inside of start tags changes (as an HTML tokenizer finds them), so no
     Mermaid syntax outside a tag, nor any diagram without such an attribute, changes at all. */
  function inertHandlers(source) {
    var out = "", i = 0, n = source.length, space = /[\t\n\f\r ]/;
    while (i < n) {
      var lt = source.indexOf("<", i);
      if (lt < 0 || lt + 1 >= n) break;
      if (!/[A-Za-z]/.test(source.charAt(lt + 1))) { out += source.slice(i, lt + 1); i = lt + 1; continue; }
      var j = lt + 1;
      while (j < n && !space.test(source.charAt(j)) && source.charAt(j) !== "/" && source.charAt(j) !== ">") j += 1;
      out += source.slice(i, j);
      i = j;
      while (i < n && source.charAt(i) !== ">") {
        var c = source.charAt(i);
        if (space.test(c) || c === "/") { out += c; i += 1; continue; }
        var start = i;
        i += 1;  /* a name's first character may be anything, "=" included */
        while (i < n && !space.test(source.charAt(i)) && "/>=".indexOf(source.charAt(i)) < 0) i += 1;
        var name = source.slice(start, i);
        out += /^on/i.test(name) ? name.charAt(0) + "\u200b" + name.slice(1) : name;
        var k = i;
        while (k < n && space.test(source.charAt(k))) k += 1;
        if (source.charAt(k) !== "=") continue;
        k += 1;
        while (k < n && space.test(source.charAt(k))) k += 1;
        var q = source.charAt(k);
        if (q === '"' || q === "'") {
          var end = source.indexOf(q, k + 1);
          k = end < 0 ? n : end + 1;
        } else {
          while (k < n && !space.test(source.charAt(k)) && source.charAt(k) !== ">") k += 1;
        }
        out += source.slice(i, k);
        i = k;
      }
    }
    return out + source.slice(i);
  }
  /* kb:inert-handlers end */

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
      window.mermaid.render(id, generated ? source : inertHandlers(source)).then(function (result) {
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
    var base = new URL(siteRoot(), window.location.href).pathname;
    var script = document.createElement("script");
    script.src = bundle + "pagefind-ui.js";
    script.onload = function () {
      /* A large site's index is in parts (generator/search_index.py): kb-parts.json lists the
         parts after the first, merged into one search. */
      fetch(bundle + "kb-parts.json", { cache: "no-cache" }).then(function (response) {
        return response.ok ? response.json() : { merge: [] };
      }).catch(function () { return { merge: [] }; }).then(function (parts) {
        /* assets/search/pagefind.js is Pagefind's module with what kb-parts.json hides left out
           (this copy of it: merged and hidden from the same refresh of kb serve) */
        window.kbSearchParts = parts;
        var ui = new window.PagefindUI({ element: "#kb-search", bundlePath: new URL(siteRoot() + "assets/search/",
                                                                                    window.location.href).href,
                                         showSubResults: true,
                                         showImages: false, autofocus: true, baseUrl: base,
                                         mergeIndex: (parts.merge || []).map(function (part) {
                                           return { bundlePath: bundle + part, baseUrl: base };
                                         }) });
        var query = new URLSearchParams(window.location.search).get("q");
        if (query) ui.triggerSearch(query);
      });
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
