/* The search page's Pagefind: assets/kb.js gives Pagefind UI this folder as its bundle, so the UI
   imports this module, which is Pagefind's own (../../pagefind/pagefind.js) with one change to
   search: the results that pagefind/kb-parts.json lists under "hide" are left out, and a result
   found in two merged indexes is shown once.

   kb serve refreshes search after an edit by indexing only the pages that changed since the
   whole site was indexed, into an index merged after the others (generator/search_index.py);
   "hide" then names the fragments those pages had in the older index, so that a page is found
   by what it says now, once. A built site hides nothing. */
import * as pagefind from "../../pagefind/pagefind.js";

var hidden = null;

function hiddenFragments() {
  if (!hidden) {
    /* kb.js read kb-parts.json to merge its parts: the same copy, so that what is merged and
       what is hidden come from one refresh */
    var given = globalThis.kbSearchParts;
    hidden = (given ? Promise.resolve(given)
      : fetch(new URL("../../pagefind/kb-parts.json", import.meta.url), { cache: "no-cache" })
          .then(function (response) { return response.ok ? response.json() : {}; })
          .catch(function () { return {}; }))
      .then(function (parts) { return new Set(parts && Array.isArray(parts.hide) ? parts.hide : []); });
  }
  return hidden;
}

async function shown(found) {
  if (!found || !Array.isArray(found.results)) return found;
  var hide = await hiddenFragments(), seen = new Set();
  found.results = found.results.filter(function (result) {
    if (hide.has(result.id) || seen.has(result.id)) return false;
    seen.add(result.id);
    return true;
  });
  return found;
}

export async function search(term, options) {
  return shown(await pagefind.search(term, options));
}

export async function debouncedSearch(term, options, duration) {
  return shown(await pagefind.debouncedSearch(term, options, duration));
}

export var createInstance = pagefind.createInstance;
export var destroy = pagefind.destroy;
export var filters = pagefind.filters;
export var init = pagefind.init;
export var mergeIndex = pagefind.mergeIndex;
export var options = pagefind.options;
export var preload = pagefind.preload;
