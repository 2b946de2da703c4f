"""``sadakat connector new NAME``: a connector package that passes its own conformance tests
before you change a line. The templates in ``templates/connector`` are plain files with
``{{name}}``, ``{{package}}``, ``{{dist}}``, ``{{Class}}`` and ``{{Title}}`` placeholders."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates" / "connector"
VALID = re.compile(r"^[a-z][a-z0-9]*([_-][a-z0-9]+)*$")


class ScaffoldError(ValueError):
    pass


def names(name: str) -> dict[str, str]:
    """``acme-shop`` → platform ``acme_shop``, package ``sadakat_acme_shop``, distribution
    ``sadakat-acme-shop``, class prefix ``AcmeShop``, title ``Acme Shop``."""
    if not VALID.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid connector name: use lower-case letters, digits, - or _, "
            "starting with a letter (e.g. acme or acme-shop)")
    words = re.split(r"[_-]", name)
    return {
        "name": "_".join(words),
        "package": "sadakat_" + "_".join(words),
        "dist": "sadakat-" + "-".join(words),
        "Class": "".join(w.capitalize() for w in words),
        "Title": " ".join(w.capitalize() for w in words),
    }


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def scaffold(name: str, directory: Path) -> Path:
    """Write ``<directory>/sadakat-<name>/`` and return its path; never overwrites."""
    values = names(name)
    root = directory / values["dist"]
    if root.exists():
        raise ScaffoldError(f"{root} already exists")
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = template.relative_to(TEMPLATES).with_suffix("")  # drop .tmpl
        parts = [values["package"] if part == "package" else part for part in relative.parts]
        target = root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(template.read_text(), values))
    return root
