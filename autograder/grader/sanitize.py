"""What a submission shows is data: nothing a learner wrote runs in anyone's browser.

A submission reaches browsers through three pages: formgrader's submission view (the instructor's
own Jupyter server, where a script could call the REST API with the instructor's session), the
feedback HTML and, quoted, the class report. Two layers keep learner HTML inert:

* **when pages are rendered** — :func:`clean_html` (the maintained `Ammonia
  <https://github.com/rust-ammonia/ammonia>`_ sanitiser through ``nh3``) cleans every piece of
  HTML that comes from a notebook: rendered markdown (:func:`markdown_to_safe_html`, installed as
  nbconvert's ``markdown2html`` filter by the course's ``nbgrader_config.py``) and, with
  ``HTMLExporter.sanitize_html`` on, HTML, markdown and SVG outputs (nbconvert then also drops
  JavaScript and widget outputs);
* **when the graded notebook is stored** — :class:`SanitizeNotebook` (an nbgrader preprocessor run
  by every autograde) keeps only inert output data (text, validated PNG/JPEG/GIF, cleaned HTML),
  drops widget state and output metadata that templates insert into attributes, and replaces each
  markdown cell the learner wrote (one not in the lesson's source) by its cleaned rendering. So even
  a formgrader that renders without sanitising (a course configured before this) shows only text,
  tables, images and formulas.

What survives: text and its formatting, tables, lists, headings, links to http(s)/mailto, images
carried as ``data:image/…;base64`` (figures are cell attachments; SVG only as an image, where it
cannot run script), MathML (the feedback's formulas), and the check messages with their colours
(ANSI colours become nbconvert's own spans, not learner HTML). Script, event-handler attributes,
``javascript:`` and other non-http URLs, iframes, forms, ``<meta>``, ``<base>``, ``<style>``, inline
styles beyond colour and font (nothing positioned over the page) and ``id``/``name`` (DOM clobbering
of the page's own script) never survive.
"""

from __future__ import annotations

import base64
import binascii
import copy
import html
import re
from typing import Any

import nh3
from jinja2 import pass_context
from nbformat import NotebookNode

HTML_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small",
    "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt",
    "u", "ul", "var", "wbr",
})
# Presentation MathML (the feedback's formulas); not maction (interactive) nor annotation-xml (it can carry HTML).
MATHML_TAGS = frozenset({
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup",
    "msubsup", "mfrac", "msqrt", "mroot", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mlabeledtr",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none",
})
MATHML_ATTRIBUTES = frozenset({
    "display", "mathvariant", "mathsize", "stretchy", "fence", "separator", "lspace", "rspace", "accent",
    "accentunder", "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines", "frame",
    "linethickness", "scriptlevel", "displaystyle", "notation", "width", "height", "depth", "form", "minsize",
    "maxsize", "largeop", "movablelimits", "symmetric", "xmlns", "encoding", "align",
})
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "details": {"open"},
    **{tag: set(MATHML_ATTRIBUTES) for tag in MATHML_TAGS},
}
# Removed with everything inside them (not just their tags).
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript",
                                  "textarea", "select", "title", "frame", "frameset", "noembed", "xmp"})
# Inline styles keep their look (rich text, Keras' model summary) but nothing that moves or covers the page.
STYLE_PROPERTIES = frozenset({"color", "background-color", "font-weight", "font-style", "font-family",
                              "text-decoration", "text-align", "white-space", "vertical-align"})
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
IMAGE_DATA_URL = re.compile(r"data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z", re.IGNORECASE)
LINK_URL = re.compile(r"(?:https?://|mailto:|#)", re.IGNORECASE)  # nothing relative: it would reach the grader's server
SIZE = re.compile(r"\d{1,5}%?\Z")


def _attribute(tag: str, name: str, value: str) -> str | None:
    """Per-attribute rules nh3's lists cannot say: which URLs, which sizes."""
    if tag == "img" and name == "src":
        return value if IMAGE_DATA_URL.match(value.strip()) else None
    if name == "href":
        return value if LINK_URL.match(value.strip()) else None
    if name in ("width", "height", "span", "colspan", "rowspan", "start") and tag not in MATHML_TAGS:
        return value if SIZE.match(value.strip()) else None
    return value


def clean_html(element: Any) -> str:
    """Learner HTML made inert (the module's docstring says what is kept). Also nbconvert's ``clean_html`` filter."""
    text = element.decode("utf-8", "replace") if isinstance(element, bytes) else str(element)
    return nh3.clean(text, tags=set(HTML_TAGS | MATHML_TAGS), clean_content_tags=set(DROPPED_WITH_CONTENT),
                     attributes=ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer nofollow",
                     filter_style_properties=set(STYLE_PROPERTIES), strip_comments=True)


def usable_attachments(raw: object) -> dict[str, dict[str, str]]:
    """A cell's attachments that render: images with valid base64 (an empty or broken bundle is dropped)."""
    kept = {}
    for name, bundle in (raw.items() if isinstance(raw, dict) else ()):
        if isinstance(name, str) and isinstance(bundle, dict):
            images = {mime: payload for mime, data in bundle.items()
                      if mime in (*IMAGE_MIMES, "image/svg+xml") and (payload := valid_base64(data)) is not None}
            if images:
                kept[name] = images
    return kept


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown as nbconvert renders it for a page, before cleaning (links to script URLs already refused).

    ``attachments`` must come from :func:`usable_attachments`; a reference to any other name renders as an
    image without a source (nbconvert would stop the whole page on it).
    """
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        def _embed_image_or_attachment(self, src: str) -> str:
            if src.startswith("attachment:") and src[len("attachment:"):] not in self.attachments:
                return ""
            return super()._embed_image_or_attachment(src)

    renderer = Renderer(escape=False, allow_harmful_protocols=False, attachments=attachments or {},
                        embed_images=False)  # embedding would read files from the grader's disk
    return MarkdownWithMath(renderer=renderer).render(source)


@pass_context
def markdown_to_safe_html(context: Any, source: str) -> str:
    """nbconvert's ``markdown2html`` filter, cleaned: set in the course's ``nbgrader_config.py`` for formgrader."""
    cell = context.get("cell", {}) if hasattr(context, "get") else {}
    return clean_html(render_markdown(source, usable_attachments(cell.get("attachments"))))


def valid_base64(data: Any, limit: int = 64 * 2**20) -> str | None:
    """``data`` when it is base64 text (an image's payload), without whitespace; None otherwise."""
    if not isinstance(data, str) or len(data) > limit:
        return None
    compact = re.sub(r"\s+", "", data)
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return compact


def _size_metadata(metadata: Any, mime: str) -> dict[str, dict[str, int]]:
    sizes = metadata.get(mime, {}) if isinstance(metadata, dict) else {}
    kept = {key: int(sizes[key]) for key in ("width", "height")
            if isinstance(sizes, dict) and isinstance(sizes.get(key), (int, float)) and 0 < sizes[key] < 100_000}
    return {mime: kept} if kept else {}


def safe_output(output: NotebookNode, lang: str = "en") -> NotebookNode:
    """One output with only inert data (see the module's docstring); what was dropped is said in ``text/plain``."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output  # streams and errors are text, escaped by every template
    data, kept, metadata = output.get("data", {}), {}, {}
    for mime in IMAGE_MIMES:
        payload = valid_base64(data.get(mime))
        if payload is not None:
            kept[mime] = payload
            metadata |= _size_metadata(output.get("metadata", {}), mime)
    if isinstance(data.get("text/html"), str):
        kept["text/html"] = clean_html(data["text/html"])
    elif isinstance(data.get("text/markdown"), str):
        kept["text/html"] = clean_html(render_markdown(data["text/markdown"]))
    if isinstance(data.get("text/latex"), str):
        kept["text/latex"] = data["text/latex"]  # escaped by the templates
    plain = data.get("text/plain")
    if isinstance(plain, list):
        plain = "".join(str(part) for part in plain)
    dropped = sorted(set(data) - set(kept) - {"text/plain", "text/markdown"})
    if isinstance(plain, str):
        kept["text/plain"] = plain
    if dropped and not kept:
        from autograder.learner.i18n import message

        kept["text/plain"] = message("output_removed", lang, types=", ".join(dropped))
    clean = copy.copy(output)
    clean["data"], clean["metadata"] = NotebookNode(kept), NotebookNode(metadata)
    return clean


def safe_markdown_cell(cell: NotebookNode) -> None:
    """Replace a learner's markdown cell by its cleaned rendering, which every renderer passes through as is.

    A CommonMark HTML block runs until a blank line, so the rendering is one ``<div>`` without blank lines
    (a line holding only a no-break space keeps an empty line of a code block).
    """
    rendered = clean_html(render_markdown(cell.source if isinstance(cell.source, str) else "".join(cell.source),
                                          usable_attachments(cell.get("attachments"))))
    body = "\n".join(line if line.strip() else "&nbsp;" for line in rendered.strip().splitlines())
    cell.source = f'<div class="learner-markdown">\n{body}\n</div>'
    cell.pop("attachments", None)


# Terminal control: C0 (but tab and newline), DEL, C1 (ESC [ … and the 8-bit CSI), and the Unicode
# direction marks that can make a line read differently from what it holds.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: object, one_line: bool = False) -> str:
    """Learner text as it may reach a terminal or a file: every control character shown as an escape (\\x1b).

    ``one_line`` also turns line breaks and tabs into spaces (a table cell, a one-line note).
    """
    value = str(text)
    if one_line:
        value = value.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    return CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), value)


def markdown_cell_text(text: object) -> str:
    """Learner text quoted in a Markdown table cell: one line, no control characters, no HTML, no cell breaks."""
    return html.escape(terminal_safe(text, one_line=True), quote=False).replace("|", "\\|")
