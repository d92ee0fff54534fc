"""The engine-independent parts of a build without hooks (generator/engines.py): drawings in the
Markdown, the assets in the docs tree, the derived configurations, the allow-list and the
Content-Security-Policy after the engine. The engines themselves, in Chromium:
tests/browser/test_engines.py."""
from __future__ import annotations

import re
from pathlib import Path

import markdown as python_markdown
import pytest
import yaml

from generator import diagrams, engines, sanitize

REPO = Path(__file__).resolve().parent.parent

SOURCE = "flowchart TD\n  A[\"a *star* and _under_\"] --> B"
PAGE = ('---\ntitle: "A page"\nkb_kind: topics\n---\n\n# A page\n\n<p>Before.</p>\n\n'
        + diagrams.block(SOURCE) + "\n\n<p>After.</p>\n")


def drawing(cache: Path, source: str = SOURCE, linked: bool = False, extra: str = "") -> str:
    """A drawing as ``draw`` caches it, with the ``*`` and ``_`` Markdown would parse."""
    path = diagrams.cached(cache, (source, linked))
    key = path.stem
    svg = (f'<svg id="kb-{key}" width="100%" class="flowchart"><style>#kb-{key} .node rect{{fill:#eee;}}</style>'
           f'<g><foreignObject><div><span class="nodeLabel"><p>a *star* and _under_</p></span></div>'
           f'</foreignObject>{extra}</g></svg>')
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")
    return svg


# ------------------------------------------------------------------------------ diagrams in the Markdown


def test_a_drawn_block_becomes_its_drawing_and_the_front_matter_counts_none_left(tmp_path):
    svg = drawing(tmp_path)
    inlined, left = diagrams.inline_markdown(PAGE, tmp_path)
    assert left == 0
    assert "kb-mermaid" not in inlined
    assert f'\n\n<div class="kb-diagram kb-diagram--static" tabindex="0">{svg}</div>\n\n' in inlined
    assert inlined.startswith('---\ntitle: "A page"\nkb_kind: topics\nkb_diagrams: 0\n---\n')
    assert inlined.replace(diagrams.figure(svg), diagrams.block(SOURCE)).replace("kb_diagrams: 0\n", "") == PAGE
    assert diagrams.inline_markdown(inlined, tmp_path) == (inlined, 0)  # idempotent


def test_a_block_not_drawn_is_left_and_counted(tmp_path):
    inlined, left = diagrams.inline_markdown(PAGE, tmp_path / "empty")
    assert left == 1
    assert diagrams.block(SOURCE) in inlined and "\nkb_diagrams: 1\n---\n" in inlined
    drawing(tmp_path)  # drawn later: the next run inlines it and counts again
    again, left = diagrams.inline_markdown(inlined, tmp_path)
    assert left == 0 and "kb-mermaid" not in again and again.count("kb_diagrams:") == 1


def test_a_page_without_a_block_is_unchanged(tmp_path):
    page = "---\ntitle: x\n---\n\n# x\n"
    assert diagrams.inline_markdown(page, tmp_path) == (page, 0)


def test_python_markdown_passes_the_drawing_through_as_it_is(tmp_path):
    """What each engine does to the page: Python-Markdown with the project's extensions must
    neither wrap the drawing in <p> nor read its * and _ as emphasis."""
    svg = drawing(tmp_path)
    inlined, _ = diagrams.inline_markdown(PAGE, tmp_path)
    body = inlined.split("---\n", 2)[2]
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=engines._Loader)
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in config["markdown_extensions"]]
    html = python_markdown.markdown(body, extensions=extensions)
    assert diagrams.figure(svg) in html
    assert "<p><div" not in html and "<em>" not in html


def test_only_a_map_gets_the_linked_drawing_of_a_linked_block(tmp_path):
    linked_block = diagrams.block(SOURCE, linked=True)
    strict = drawing(tmp_path, linked=False)
    linked = drawing(tmp_path, linked=True, extra='<a xlink:href="../x.html"></a>')
    page = PAGE.replace(diagrams.block(SOURCE), linked_block)
    inlined, _ = diagrams.inline_markdown(page, tmp_path)
    assert strict in inlined and linked not in inlined  # not a map: drawn strict
    map_page = page.replace("kb_kind: topics\n", "kb_linked_diagrams: true\n")
    inlined, _ = diagrams.inline_markdown(map_page, tmp_path)
    assert linked in inlined
    left, count = diagrams.inline_markdown(page, tmp_path / "empty")
    assert count == 1 and "data-kb-links" not in left  # left to kb.js: drawn strict there too


def test_inline_docs_rewrites_only_pages_with_diagrams(tmp_path):
    docs = tmp_path / "docs"
    (docs / "topics").mkdir(parents=True)
    (docs / "topics" / "a.md").write_text(PAGE, encoding="utf-8")
    (docs / "index.md").write_text("---\ntitle: Home\n---\n\n# Home\n", encoding="utf-8")
    drawing(tmp_path / "cache")
    assert engines.inline_docs(docs, tmp_path / "cache") == {"topics/a.md": 0}
    assert "kb-mermaid" not in (docs / "topics" / "a.md").read_text()
    assert engines.inline_docs(docs, tmp_path / "cache") == {}  # nothing left to inline


# ------------------------------------------------------------------------------ the assets


def test_copy_assets_copies_what_changed_and_removes_stale_files(tmp_path):
    static, docs = tmp_path / "static", tmp_path / "docs"
    (static / "assets" / "vendor").mkdir(parents=True)
    (static / "assets" / "kb.css").write_text("a{}")
    (static / "assets" / "vendor" / "lib.js").write_text("1")
    (docs / "topics").mkdir(parents=True)
    (docs / "topics" / "a.md").write_text("page")
    assert engines.copy_assets(docs, static) == (["assets/kb.css", "assets/vendor/lib.js"], [])
    assert (docs / "assets" / "vendor" / "lib.js").read_text() == "1"
    assert engines.copy_assets(docs, static) == ([], [])  # nothing changed, nothing written
    (static / "assets" / "kb.css").write_text("b{}")
    (static / "assets" / "vendor" / "lib.js").unlink()
    (static / "assets" / "vendor").rmdir()
    (docs / "old.png").write_text("x")
    assert engines.copy_assets(docs, static) == (["assets/kb.css"], ["assets/vendor/lib.js", "old.png"])
    assert not (docs / "assets" / "vendor").exists() and (docs / "assets" / "kb.css").read_text() == "b{}"
    assert (docs / "topics" / "a.md").read_text() == "page"  # pages are the generator's


def test_the_real_assets_make_the_docs_tree_complete(tmp_path):
    written, removed = engines.copy_assets(tmp_path)
    assert {"assets/kb.css", "assets/kb.js", f"assets/vendor/mermaid-{diagrams.MERMAID_VERSION}.min.js"} <= set(written)
    config = yaml.load((REPO / "mkdocs.yml").read_text(), Loader=engines._Loader)
    for asset in config["extra_css"] + config["extra_javascript"]:
        assert (tmp_path / asset).is_file(), asset
    template = (REPO / "generator" / "theme" / "main.html").read_text()
    for asset in re.findall(r"'(assets/[^']+)' \| url", template):
        assert (tmp_path / asset).is_file(), asset


# ------------------------------------------------------------------------------ configurations


def test_the_derived_configuration_has_no_hook_and_absolute_paths(tmp_path):
    docs, site = tmp_path / "build" / "docs", tmp_path / "site"
    docs.mkdir(parents=True)
    config = engines.derived_config("mkdocs", REPO / "mkdocs.yml", docs, site)
    assert "hooks" not in config and config["strict"] is True
    assert config["docs_dir"] == "docs" and config["site_dir"] == str(site.resolve())
    assert config["theme"]["custom_dir"] == str(REPO / "generator" / "theme")
    assert config["nav"] and config["plugins"] == []
    written = yaml.dump(config, Dumper=engines._Dumper, sort_keys=False)
    assert "!!python/name:pymdownx.superfences.fence_code_format" in written
    unsafe = yaml.unsafe_load(written)  # what MkDocs' loader makes of it: the function itself
    fence = unsafe["markdown_extensions"][-1]["pymdownx.superfences"]["custom_fences"][0]
    assert fence["format"].__name__ == "fence_code_format"


def test_zensical_gets_its_search_off_and_paths_inside_its_folder(tmp_path):
    docs = tmp_path / "build" / "docs"
    docs.mkdir(parents=True)
    built = tmp_path / "build" / "zensical-site"
    config = engines.derived_config("zensical", REPO / "mkdocs.yml", docs, built)
    assert config["plugins"] == [{"search": {"enabled": False}}]
    assert "strict" not in config and "hooks" not in config
    assert config["docs_dir"] == "docs" and config["site_dir"] == "zensical-site"
    assert engines.ENGINES["zensical"].command(Path("z.yml"))[-1] == "--strict"


def test_an_unknown_engine_and_a_failing_build_are_diagnostics(tmp_path):
    docs = tmp_path / "build" / "docs"
    docs.mkdir(parents=True)
    unknown = engines.build("hugo", REPO / "mkdocs.yml", docs, tmp_path / "site")
    assert unknown.field == "engine" and "mkdocs, properdocs, zensical" in unknown.hint
    bad = tmp_path / "mkdocs.yml"
    bad.write_text("site_name: x\ntheme:\n  name: no-such-theme\n")
    failed = engines.build("mkdocs", bad, docs, tmp_path / "site")
    assert failed is not None and failed.file == str(tmp_path / "build" / "mkdocs.yml")
    assert "mkdocs build failed" in failed.message and "no-such-theme" in failed.message
    assert "Traceback" not in failed.message


# ------------------------------------------------------------------------------ after the engine

# The theme's first script, as Material writes it on a page one level down: the policy hashes only
# scripts the theme or the live-reload server wrote (tests/test_script_policy.py).
THEME = ('__md_scope=new URL("..",location),__md_hash=e=>[...e].reduce(((e,_)=>(e<<5)-e+_.charCodeAt(0)),0),'
         '__md_get=(e,_=localStorage,t=__md_scope)=>JSON.parse(_.getItem(t.pathname+"."+e)),'
         '__md_set=(e,_,t=localStorage,a=__md_scope)=>{try{t.setItem(a.pathname+"."+e,JSON.stringify(_))}catch(e){}}')
FRAME = ('<!doctype html><html><head><meta charset="utf-8"><script>' + THEME.replace("{", "{{").replace("}", "}}") + '</script></head><body>'
         '<div class="md-content"><article class="md-content__inner md-typeset">{body}</article></div>'
         '<script src="assets/kb.js"></script></body></html>')


def test_the_article_passes_the_page_allow_list_and_the_frame_is_kept():
    page = FRAME.format(body='<p onclick="x()">Hi<script>evil()</script></p><img src=x onerror=y()>')
    cleaned = sanitize.article(page)
    assert "<p>Hi</p>" in cleaned and "evil" not in cleaned and "onerror" not in cleaned
    assert "<script>" + THEME + "</script>" in cleaned and '<script src="assets/kb.js">' in cleaned
    assert sanitize.article("<html><body><p>no article</p></body></html>") is None


def test_a_body_cannot_close_the_article_to_escape_it():
    page = FRAME.format(body='<p>a</p></article><script>evil()</script><article class="md-content__inner md-typeset">')
    assert "evil" not in sanitize.article(page)


def test_cached_drawings_keep_their_style_and_a_forged_one_does_not(tmp_path):
    svg = drawing(tmp_path)
    figure = diagrams.figure(svg)
    forged = diagrams.figure(svg.replace("fill:#eee", "fill:red"))
    page = FRAME.format(body=f"<p>x</p>{figure}{forged}")
    cleaned = sanitize.article(page, set_aside=lambda body: diagrams.set_aside(body, tmp_path))
    assert figure in cleaned  # byte for byte, <style> and all
    assert "fill:red" not in cleaned and cleaned.count("<style>") == 1


def test_a_linked_drawing_is_kept_only_on_a_map(tmp_path):
    svg = drawing(tmp_path, linked=True, extra='<a xlink:href="../x.html"><text>x</text></a>')
    page = FRAME.format(body=diagrams.figure(svg))
    on_topic = sanitize.article(page, set_aside=lambda body: diagrams.set_aside(body, tmp_path, False))
    on_map = sanitize.article(page, linked_diagrams=True, set_aside=lambda body: diagrams.set_aside(body, tmp_path, True))
    assert diagrams.figure(svg) in on_map and diagrams.figure(svg) not in on_topic


def test_secure_site_sanitizes_adds_one_policy_and_reports_a_page_without_article(tmp_path):
    site, docs = tmp_path / "site", tmp_path / "docs"
    (site / "maps").mkdir(parents=True)
    (site / "pagefind").mkdir()
    (docs / "maps").mkdir(parents=True)
    (docs / "maps" / "risks.md").write_text("---\ntitle: m\nkb_linked_diagrams: true\n---\n")
    (docs / "index.md").write_text("---\ntitle: h\n---\n")
    (site / "index.html").write_text(FRAME.format(body='<p>ok<script>evil()</script></p>'))
    (site / "maps" / "risks.html").write_text(FRAME.format(body='<pre class="kb-mermaid" data-kb-links="true"><code>x</code></pre>'))
    (site / "index2.html").write_text(FRAME.format(body='<pre class="kb-mermaid" data-kb-links="true"><code>x</code></pre>'))
    (site / "bare.html").write_text("<html><head></head><body><script>evil()</script></body></html>")
    (site / "pagefind" / "x.html").write_text("<script>left alone</script>")
    secured = engines.secure_site(site, docs, tmp_path / "cache")
    assert secured.pages == 4
    assert [d.file for d in secured.diagnostics] == [str(site / "bare.html")]
    assert (site / "bare.html").read_text() == ""
    index = (site / "index.html").read_text()
    assert "evil" not in index and index.count("Content-Security-Policy") == 1
    assert sanitize.source_hash(THEME.encode()) in index
    assert 'data-kb-links="true"' in (site / "maps" / "risks.html").read_text()
    assert "data-kb-links" not in (site / "index2.html").read_text()
    assert (site / "pagefind" / "x.html").read_text() == "<script>left alone</script>"
    again = engines.secure_site(site, docs, tmp_path / "cache")  # idempotent: one policy, same pages
    assert (site / "index.html").read_text() == index and len(again.diagnostics) == 1


def test_a_new_policy_replaces_the_old_one():
    page = sanitize.content_security_policy(FRAME.format(body="<p>x</p>"))
    one, two = THEME, THEME.replace('URL(".."', 'URL("../.."')
    changed = page.replace(one, two)
    renewed = sanitize.content_security_policy(sanitize.without_policy(changed))
    assert renewed.count("Content-Security-Policy") == 1
    assert sanitize.source_hash(two.encode()) in renewed and sanitize.source_hash(one.encode()) not in renewed


# ------------------------------------------------------------------------ headings under any engine

@pytest.mark.parametrize("engine", ["properdocs", "zensical"])
def test_an_engine_with_no_hook_gives_no_heading_an_id_the_page_uses(engine, valid_project):
    """'## __config' would take the id Material's and Zensical's bundles read their configuration
    from (and stop on the page). Under MkDocs page_hooks.on_config gives toc core.safe_slugify;
    the engines that run no hook get it in their derived configuration."""
    import importlib.util

    from generator.build import build_site

    if importlib.util.find_spec(engine) is None:
        pytest.fail(f"{engine} is not installed: pip install -e '.[test]' installs it")
    project = valid_project
    assert build_site(project / "mkdocs.yml").ok
    docs = project / "build" / "docs"
    with (docs / "tags.md").open("a", encoding="utf-8") as page:
        page.write("\n\n## __config\n\nText.\n\n## Kb search\n\nMore.\n")
    config = engines.derived_config(engine, project / "mkdocs.yml", docs, project / "site")
    toc = next(entry["toc"] for entry in config["markdown_extensions"] if isinstance(entry, dict) and "toc" in entry)
    assert toc["permalink"] is True and "slugify" in toc
    assert engines.build(engine, project / "mkdocs.yml", docs, project / "site") is None
    html = (project / "site" / "tags.html").read_text(encoding="utf-8")
    assert 'id="h-__config"' in html and 'id="h-kb-search"' in html
    assert not re.search(r'<h2 id="(__config|kb-search)"', html)
