"""A matplotlib Figure as an SVG fragment fit to inline in HTML, several to a page.

matplotlib writes a standalone document: an XML declaration and a DOCTYPE naming a W3C URL,
RDF metadata with more URLs, and element ids (glyphs, clip paths, markers) that repeat from
one figure to the next. Inlined as they are, a page of figures would have duplicate ids, whose
references a browser resolves to the first figure's element. So: no metadata, no prolog, no
comments (they echo label text), and every id prefixed with the figure's own id.

Label text is drawn as glyph paths (``svg.fonttype`` "path"), so no text from a record appears
in the SVG as markup at all; the figure looks the same whatever fonts the reader has.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(\bid="|"#|url\(#)([^")]+)')
_SAFE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")

#: rcParams for every figure: deterministic output, text as paths, a quiet house style.
STYLE = {
    "svg.fonttype": "path",
    "svg.hashsalt": "bench-report",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.edgecolor": "#9aa5b1",
    "axes.labelcolor": "#323f4b",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e4e7eb",
    "grid.linewidth": 0.8,
    "xtick.color": "#52606d",
    "ytick.color": "#52606d",
    "legend.frameon": False,
    "legend.fontsize": 9,
}


@contextmanager
def style() -> Iterator[None]:
    """The house style; figures must be *built* inside it (axes read rcParams when made)."""
    with matplotlib.rc_context(STYLE):
        yield


def to_svg(fig: Figure, fig_id: str) -> Markup:
    """``fig`` as an inline ``<svg>`` element whose ids all start with ``fig_id``.

    The result is marked safe for Jinja: it is our own rendering, and no record text survives
    in it as text (labels are paths; comments are removed).
    """
    if not _SAFE_ID.match(fig_id):
        raise ValueError(f"figure id {fig_id!r} must be a plain identifier")
    buf = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    text = _COMMENT.sub("", _PROLOG.sub("", buf.getvalue(), count=1))
    ids = set(_ID.findall(text))

    def prefix(m: re.Match[str]) -> str:
        lead, name = m.group(1), m.group(2)
        return f"{lead}{fig_id}-{name}" if name in ids else m.group(0)

    text = _REF.sub(prefix, text)
    text = text.replace("<svg ", f'<svg id="{fig_id}" role="img" ', 1)
    return Markup(text.strip())  # our own SVG: see the docstring
