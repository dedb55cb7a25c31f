"""Notebook display (_repr_html_): well-formed HTML, the numbers that matter, escaped text."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pytest

import filippov as fp
from filippov.objectives import separable_quadratic, slope
from filippov.schemes import DiscreteTrajectory
from filippov.solution import Event, FilippovSolution, Mode, Segment

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
EVIL = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


class _Checker(HTMLParser):
    """Records start tags and fails on a closing tag that does not close the open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Checker:
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return checker


def test_solution_html_is_well_formed_with_counts_and_portrait() -> None:
    sol = fp.solve(fp.steepest_descent_flow(slope(0.5), "linf"), [0.6, 0.1], (0.0, 4.0))
    page = parse(sol._repr_html_())
    text = " ".join(page.text)
    assert "1 (success)" in text and sol.message in text
    assert "3 (sliding-entry 2, stationary 1)" in text  # events and counts by kind
    assert "Segments (3)" in text and "Events (3)" in text
    assert "svg" in page.tags and "script" not in page.tags  # 2-D: an inline portrait


def test_escapes_user_text_in_solution_and_event() -> None:
    neg, pos = Mode("l1", (-1,)), Mode("l1", (1,))
    ev = Event(0.5, [0.0], "crossing", (0,), neg, pos, note=EVIL)
    sol = FilippovSolution(
        t=[0.0, 0.5, 1.5],
        x=[[-1.0], [0.0], [1.0]],
        events=[ev],
        segments=[
            Segment.linear(0.0, 0.5, [-1.0], [2.0], mode=neg, lam=[-1.0]),
            Segment.linear(0.5, 1.5, [0.0], [1.0], mode=pos, lam=[1.0]),
        ],
        status=-1,
        message=EVIL,
        method="exact",
    )
    for markup in (sol._repr_html_(), ev._repr_html_()):
        page = parse(markup)
        assert "script" not in page.tags and "img" not in page.tags
        assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert EVIL in " ".join(parse(sol._repr_html_()).text)  # shown, as text
    assert "FAILURE" in sol._repr_html_() and "svg" not in parse(sol._repr_html_()).tags  # 1-D
    assert EVIL in " ".join(parse(ev._repr_html_()).text)


def test_long_tables_are_elided() -> None:
    obj = separable_quadratic(np.arange(1.0, 31.0), np.zeros(30))
    x0 = np.linspace(1.0, 2.0, 30)
    sol = fp.solve(fp.steepest_descent_flow(obj, "linf"), x0, (0.0, 5.0))
    assert len(sol.events) > 20
    page = parse(sol._repr_html_())
    text = " ".join(page.text)
    assert f"Events ({len(sol.events)})" in text and "more rows" in text
    assert page.tags.count("tr") < 60  # not one row per event
    assert "svg" not in page.tags  # 30-D: no portrait


@pytest.mark.parametrize("batched", [False, True])
def test_trajectory_html(batched: bool) -> None:
    obj = separable_quadratic([1.0, 4.0], [0.0, 0.0])
    x0 = np.array([[1.0, -1.0], [0.5, 0.5]]) if batched else np.array([1.0, -1.0])
    traj = fp.schemes.SignGD(step=0.01).run(obj, x0, n_steps=150)
    page = parse(traj._repr_html_())
    text = " ".join(page.text)
    assert "SignGD" in text and "150 (saved 151 iterates)" in text and "0 (success)" in text
    assert "svg" in page.tags
    evil = DiscreteTrajectory(
        np.zeros((2, 3)),
        np.array([0.0, 0.1]),
        np.array([0, 1]),
        {"step": np.array([0.1])},
        status=-3,
        message=EVIL,
        metadata={"scheme": EVIL, "objective": EVIL},
    )
    markup = evil._repr_html_()
    page = parse(markup)
    assert "script" not in page.tags and "img" not in page.tags and "svg" not in page.tags
    assert " ".join(page.text).count(EVIL) == 3 and "FAILURE" in markup


def test_run_stopped_at_its_start_displays() -> None:
    sol = FilippovSolution([0.0], [[0.1, 0.2]], [], [], -3, "Non-finite field at x0.")
    text = " ".join(parse(sol._repr_html_()).text)
    assert "-3 (FAILURE)" in text and "Non-finite field at x0." in text and "Events" not in text
