"""The README stays a front door (at most 300 lines) and every relative link in it and in docs/
resolves to a file, so a page that moves or is renamed cannot leave dead links behind."""
import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(path: str) -> list[str]:
    text = re.sub(r"```.*?```", "", open(path).read(), flags=re.S)
    return [link.split("#")[0] for link in LINK.findall(text)
            if not link.startswith(("http://", "https://", "mailto:", "#"))]


def test_readme_is_a_front_door():
    assert len(open(os.path.join(REPO, "README.md")).read().splitlines()) <= 300


def test_every_relative_link_resolves(tmp_path):
    pages = [os.path.join(REPO, "README.md"), os.path.join(REPO, "CHANGELOG.md"),
             *glob.glob(os.path.join(REPO, "docs", "*.md"))]
    broken = [(os.path.relpath(page, REPO), link) for page in pages for link in relative_links(page)
              if not os.path.exists(os.path.join(os.path.dirname(page), link))]
    assert broken == []
    dead = tmp_path / "page.md"
    dead.write_text("see [gone](nowhere.md) and [code](x.md)\n```\n[not a link](skipped.md)\n```\n")
    assert relative_links(str(dead)) == ["nowhere.md", "x.md"]
