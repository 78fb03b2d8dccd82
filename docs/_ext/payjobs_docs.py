"""
Sphinx helpers of this site: README sections, the connection form, and docstring checks.

- ``readme-section``: renders one section of README.md, so README and site share one text.
- ``connection-form``: the connection form as Airflow shows it, from the provider info itself.
- Docstring checks: every public class, function and method documented by autodoc has a
  docstring, and documents each of its parameters with ``:param name:`` (and no others).
  Each failure is a warning naming the file, the line and the fix; ``-W`` makes it fail the build.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.domains.python import builtin_resolver
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

PACKAGE = "airflow_provider_payjobs"
HEADING = re.compile(r"(#{1,6})[ \t]+(.+?)[ \t#]*$")
FENCE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
LOCAL_LINK = re.compile(r"\]\((#[^)\s]*)\)")
# `airflow_provider_payjobs.hooks.payjobs.PayJobsHook` in README text: a link to its entry here.
DOTTED_NAME = re.compile(r"(?<![`{])`(airflow_provider_payjobs(?:\.\w+)+)`(?!`)")
PARAM_FIELD = re.compile(r":param\s+(?:[^:]*\s)?\**(\w+)\s*:")
logger = logging.getLogger(__name__)


# --- README sections ----------------------------------------------------------------------------


class ReadmeSectionError(Exception):
    pass


def readme_lines(text: str) -> list[tuple[int, str, int | None, str | None]]:
    """Each line with its index, and its heading level and title when it is a heading (not in code)."""
    result: list[tuple[int, str, int | None, str | None]] = []
    fence: str | None = None
    for index, line in enumerate(text.splitlines()):
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip().startswith(fence[0] * len(fence)):
            fence = None
        elif fence is None and (heading := HEADING.match(line)):
            result.append((index, line, len(heading.group(1)), heading.group(2).strip()))
            continue
        result.append((index, line, None, None))
    return result


def extract_section(
    text: str, title: str, *, heading_level: int | None, intro: bool, end_before: str | None = None
) -> tuple[int, list[str]]:
    """
    The section of ``text`` under the heading ``title``: (index of its first line, its lines).

    Its own heading is dropped, or kept at ``heading_level``; subheadings move by the same
    amount, so they sit below the page's title (level 1) or below the kept heading.
    """
    lines = readme_lines(text)
    # Titles compare without backticks: a fence's argument cannot hold them.
    wanted = title.replace("`", "")
    starts = [
        position
        for position, (_, _, level, found) in enumerate(lines)
        if level and found and found.replace("`", "") == wanted
    ]
    if len(starts) != 1:
        titles = [found for _, _, level, found in lines if level]
        raise ReadmeSectionError(
            f"README.md has {len(starts)} headings titled {title!r} (one is needed); its headings: {titles}"
        )
    start = starts[0]
    own_level = lines[start][2]
    assert own_level is not None
    end = len(lines)
    for position in range(start + 1, len(lines)):
        level = lines[position][2]
        if level is not None and (intro or level <= own_level):
            end = position
            break
        if end_before and lines[position][1].startswith(end_before):
            end = position
            break
    shift = (heading_level if heading_level is not None else 1) - own_level
    body = lines[start:end] if heading_level is not None else lines[start + 1 : end]
    shifted = [
        line if level is None else "#" * (level + shift) + " " + found for _, line, level, found in body
    ]
    return body[0][0] if body else start, shifted


class ReadmeSection(SphinxDirective):
    """
    Render a section of README.md by its heading, e.g. ``{readme-section} Deploying``; the title
    is given without its backticks (``The proof: make soak``).

    Options: ``:heading-level: N`` keeps the section's heading at level N (else it is dropped and
    its subsections become level 2); ``:intro:`` stops at the first subheading; ``:end-before:
    TEXT`` stops at the first line that starts with TEXT.
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {
        "heading-level": directives.positive_int,
        "intro": directives.flag,
        "end-before": directives.unchanged_required,
    }

    def run(self) -> list[nodes.Node]:
        readme = Path(self.config.payjobs_readme)
        self.env.note_dependency(str(readme))
        try:
            first, lines = extract_section(
                readme.read_text(encoding="utf-8"),
                self.arguments[0],
                heading_level=self.options.get("heading-level"),
                intro="intro" in self.options,
                end_before=self.options.get("end-before"),
            )
        except ReadmeSectionError as error:
            logger.warning(
                "readme-section %r: %s. Was the heading renamed? Use its new title here.",
                self.arguments[0],
                error,
                location=(self.env.docname, self.lineno),
                type="payjobs",
                subtype="readme",
            )
            return []
        text = LOCAL_LINK.sub(self._site_link, "\n".join(lines))
        # Every dotted name the README quotes must exist on the site (-n says so when it does not).
        text = DOTTED_NAME.sub(r"{py:obj}`~\1`", text)
        # myst renders the text into the page, as its own include directive does; warnings
        # then name README.md and its line. (myst's renderer is reached through the state.)
        renderer = self.state._renderer
        document = renderer.document
        source, reporter_source = document["source"], renderer.reporter.source
        line_of = getattr(renderer.reporter, "get_source_and_line", None)
        try:
            document["source"] = renderer.reporter.source = str(readme)
            renderer.reporter.get_source_and_line = lambda line: (str(readme), line)
            renderer.nested_render_text(text, first)
        finally:
            document["source"], renderer.reporter.source = source, reporter_source
            if line_of is not None:
                renderer.reporter.get_source_and_line = line_of
        return []

    def _site_link(self, match: re.Match[str]) -> str:
        anchor = match.group(1)
        target = self.config.payjobs_readme_links.get(anchor)
        if target is None:
            logger.warning(
                "README.md links to %s inside a section this site includes; add %r to "
                "payjobs_readme_links in docs/conf.py with the page that holds it",
                anchor,
                anchor,
                location=(self.env.docname, self.lineno),
                type="payjobs",
                subtype="readme",
            )
            return match.group(0)
        return f"]({target})"


# --- the connection form ------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[nodes.Node | str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in headers)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    body.extend(_row(cells) for cells in rows)
    return table


def _row(cells: list[nodes.Node | str]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        paragraph = nodes.paragraph()
        paragraph += nodes.Text(cell) if isinstance(cell, str) else cell
        entry += paragraph
        row += entry
    return row


def _code(value: Any) -> nodes.Node:
    if value is None:
        return nodes.Text("")
    text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value
    return nodes.literal(text=str(text))


class ConnectionForm(SphinxDirective):
    """The "PayQuicker Payment Jobs" connection form, read from ``get_provider_info()``."""

    def run(self) -> list[nodes.Node]:
        from airflow_provider_payjobs import get_provider_info

        self.env.note_dependency(str(Path(self.config.payjobs_readme).parent / PACKAGE / "__init__.py"))
        (connection,) = get_provider_info()["connection-types"]
        behaviour = connection["ui-field-behaviour"]
        placeholders = behaviour.get("placeholders", {})
        standard = [
            [_code(field), label, _code(placeholders.get(field))]
            for field, label in behaviour["relabeling"].items()
        ]
        hidden = ", ".join(behaviour["hidden-fields"])
        extras = []
        for key, field in connection["conn-fields"].items():
            kind = next(kind for kind in field["schema"]["type"] if kind != "null")
            choices = field["schema"].get("enum")
            shown = "one of " + ", ".join(choices) if choices else kind
            extras.append(
                [
                    field["label"],
                    _code(key),
                    shown,
                    _code(field["schema"].get("default")),
                    field["description"],
                ]
            )
        intro = nodes.paragraph(
            text=f"Connection type {connection['connection-type']!r}, shown as "
            f"{connection['hook-name']!r}. Hidden fields: {hidden}. Extra placeholder: "
        )
        intro += nodes.literal(text=placeholders.get("extra", ""))
        result = [
            intro,
            _table(["field", "form label", "placeholder"], standard),
            _table(["form label", "extra", "type", "default shown", "help text"], extras),
        ]
        known = self._known_extras()
        without_field = sorted(known - set(connection["conn-fields"]))
        if without_field:
            note = nodes.paragraph(text="Extras with no form field, set in the Extra JSON: ")
            for position, key in enumerate(without_field):
                note += nodes.literal(text=key)
                note += nodes.Text(", " if position < len(without_field) - 1 else ".")
            result.append(note)
        return result

    def _known_extras(self) -> set[str]:
        """The extras the hook reads; README's Connection section must describe each one."""
        from airflow_provider_payjobs.client.connection_settings import KNOWN_EXTRAS

        readme = Path(self.config.payjobs_readme)
        _, lines = extract_section(
            readme.read_text(encoding="utf-8"), "Connection", heading_level=None, intro=False
        )
        described = "\n".join(lines)
        for key in sorted(KNOWN_EXTRAS):
            if f"`{key}`" not in described:
                logger.warning(
                    "README.md's Connection section does not describe the connection extra `%s`, "
                    "which the hook reads (KNOWN_EXTRAS in "
                    "airflow_provider_payjobs/client/connection_settings.py): "
                    "add a row to its table",
                    key,
                    location=(self.env.docname, self.lineno),
                    type="payjobs",
                    subtype="connection",
                )
        return set(KNOWN_EXTRAS)


# --- docstring checks ---------------------------------------------------------------------------


def _is_ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _is_public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _where(obj: Any) -> str | None:
    """``path:line`` of the object's definition, relative to the repository, when known."""
    target = inspect.unwrap(getattr(obj, "fget", None) or getattr(obj, "func", None) or obj)
    try:
        path = Path(inspect.getsourcefile(target) or "")
        line = inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        return None
    if path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())
    return f"{path}:{line}"


def _warn(obj: Any, name: str, problem: str) -> None:
    logger.warning(
        "%s %s. Every public class, method and parameter of this package needs a reST docstring "
        "with ':param <name>: ...' for each parameter (see docs/contributing.md).",
        name,
        problem,
        location=_where(obj),
        type="payjobs",
        subtype="docstring",
    )


def _parameters(what: str, obj: Any) -> tuple[list[str], set[str]] | None:
    """(parameters a docstring must document, those it may), or None without a signature to read."""
    target = obj.__init__ if what in {"class", "exception"} else obj
    if what in {"class", "exception"} and target is object.__init__:
        return [], set()
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    optional = {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
    parameters = list(signature.parameters.items())
    if parameters and parameters[0][0] in {"self", "cls"}:
        parameters = parameters[1:]
    required = [name for name, parameter in parameters if parameter.kind not in optional]
    return [name for name in required if not name.startswith("_")], {name for name, _ in parameters}


def check_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """autodoc-process-docstring: a docstring, and one ``:param:`` per parameter, no stale ones."""
    if not (_is_ours(name) and _is_public(name)):
        return
    if (
        what in {"class", "exception", "function"}
        and getattr(obj, "__module__", None) != name.rpartition(".")[0]
    ):
        return  # imported into the module autodoc is reading: checked where it is defined
    if not any(line.strip() for line in lines):
        _warn(obj, name, "has no docstring")
        return
    if what not in {"class", "exception", "function", "method"}:
        return
    if what in {"class", "exception"} and "__init__" not in vars(obj):
        return  # its constructor is inherited: documented where it is defined
    parameters = _parameters(what, obj)
    if parameters is None:
        return
    required, allowed = parameters
    documented = PARAM_FIELD.findall("\n".join(lines))
    missing = [parameter for parameter in required if parameter not in documented]
    stale = [parameter for parameter in documented if parameter not in allowed]
    if missing:
        _warn(obj, name, f"does not document its parameters {', '.join(missing)}")
    if stale:
        _warn(obj, name, f"documents parameters it does not have: {', '.join(stale)}")


def check_skipped_member(
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """autodoc-skip-member: a public method of one of our classes, skipped for want of a docstring."""
    if what not in {"class", "exception"} or not skip or name.startswith("_"):
        return None
    target = getattr(obj, "fget", None) or getattr(obj, "func", None) or obj
    ours = inspect.isroutine(target) and _is_ours(getattr(target, "__module__", "") or "")
    if ours and not getattr(target, "__doc__", None):
        _warn(obj, f"{target.__module__}.{target.__qualname__}", "has no docstring")
    return None


def check_public_modules_documented(app: Sphinx, env: Any) -> None:
    """env-check-consistency: every public class and function of a public module is on the site."""
    documented = env.domains["py"].objects
    for module_name in app.config.payjobs_public_modules:
        module = importlib.import_module(module_name)
        for member_name, member in vars(module).items():
            defined_here = getattr(member, "__module__", None) == module_name
            if member_name.startswith("_") or not defined_here:
                continue
            if not (inspect.isclass(member) or inspect.isfunction(member)):
                continue
            qualified = f"{module_name}.{member_name}"
            if not member.__doc__:
                _warn(member, qualified, "has no docstring")
            elif qualified not in documented:
                logger.warning(
                    "%s is public but on no page of the site: add it to the page of its module "
                    "(an autoclass or automodule directive in docs/), or make it private (_name)",
                    qualified,
                    location=_where(member),
                    type="payjobs",
                    subtype="docstring",
                )


def _external(app: Sphinx, reftype: str, target: str) -> bool:
    """Whether nitpick_ignore(_regex) in conf.py already lets this reference go unresolved."""
    if (f"py:{reftype}", target) in set(app.config.nitpick_ignore):
        return True
    return any(
        re.fullmatch(kind, f"py:{reftype}") and re.fullmatch(pattern, target)
        for kind, pattern in app.config.nitpick_ignore_regex
    )


def explain_missing_reference(app: Sphinx, env: Any, node: Any, contnode: Any) -> nodes.Node | None:
    """
    missing-reference, last: a type or name inside an API entry that resolves to nothing.

    Sphinx would name only the page (or nothing, for a type in a signature); this names the
    entry and the line of its definition, and says what to do. Returns the plain text, so that
    Sphinx does not warn a second time.
    """
    if node.get("refdomain") != "py" or _external(app, node["reftype"], node["reftarget"]):
        return None
    if builtin_resolver(app, env, node, contnode) is not None:
        return None  # a builtin or typing name: Sphinx resolves it (every listener runs)
    entry = node.parent
    while entry is not None and not isinstance(entry, addnodes.desc):
        entry = entry.parent
    if entry is None:
        return None
    signature = next(iter(entry.findall(addnodes.desc_signature)), None)
    name = signature.get("fullname") if signature is not None else None
    module = signature.get("module") if signature is not None else None
    if not name or not module:
        return None
    mentioned = node["reftarget"]
    if "." not in mentioned and hasattr(sys.modules.get(module), mentioned):
        # A bare name left by an annotation Sphinx could not evaluate (Airflow wraps operator
        # constructors in a function of its own module): what the entry's module means by it.
        meant = getattr(sys.modules[module], mentioned)
        qualified = f"{getattr(meant, '__module__', '')}.{getattr(meant, '__qualname__', mentioned)}"
        if _external(app, node["reftype"], qualified):
            return contnode
        resolved = env.domains["py"].resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], qualified, node, contnode
        )
        if resolved is not None:
            return resolved
    target = sys.modules.get(module)
    for part in name.split("."):
        target = getattr(target, part, None)
    where = _where(target) if target is not None else None
    logger.warning(
        "%s.%s mentions %r, which is on no page of the site: document it if it is this "
        "package's (a docs/reference page), import it outside 'if TYPE_CHECKING' if it is a type "
        "in a signature, or add its library to _EXTERNAL_MODULES in docs/conf.py",
        module,
        name,
        node["reftarget"],
        location=where or node,
        type="payjobs",
        subtype="reference",
    )
    return contnode


def check_unparsed_fences(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: a directive fence that did not parse shows as text (a backtick in its argument)."""
    for text in doctree.findall(nodes.Text):
        if "```{" in text.astext() and not isinstance(text.parent, (nodes.literal_block, nodes.literal)):
            logger.warning(
                "a directive fence did not parse and shows as text: %r (backticks in a fence's "
                "argument end it; leave them out)",
                text.astext()[:80],
                location=text.parent,
                type="payjobs",
                subtype="fence",
            )
            return


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("payjobs_readme", "", "env")
    app.add_config_value("payjobs_readme_links", {}, "env")
    app.add_config_value("payjobs_public_modules", [], "env")
    app.add_directive("readme-section", ReadmeSection)
    app.add_directive("connection-form", ConnectionForm)
    app.connect("autodoc-process-docstring", check_docstring)
    app.connect("autodoc-skip-member", check_skipped_member)
    app.connect("env-check-consistency", check_public_modules_documented)
    app.connect("missing-reference", explain_missing_reference, priority=950)
    app.connect("doctree-read", check_unparsed_fences)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
