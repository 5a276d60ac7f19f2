"""Menus the crawl first took for new ones, folded into the menu they are (no call)."""

from __future__ import annotations

import pytest

from harness.discover.model import NO_INPUT, Edge, IvrMap, Node, Outcome, same_menus

pytestmark = pytest.mark.unit


def test_a_menu_reached_first_behind_a_message_is_folded_into_the_menu_it_is() -> None:
    # key 0 was tried before the menu was ever heard alone: "invalid + menu" looked like a new menu
    # (n1); once the clips are split, its menu prompt is the root's (clip2), so n1 is n0
    m = IvrMap("main")
    m.nodes = {"n0": Node("n0", (), ["clip1"]), "n1": Node("n1", ("0",), ["clip3"]),
               "n2": Node("n2", ("3",), ["clip5"])}
    m.edges = [Edge("n0", "0", Outcome("menu", ["clip3"], to="n1")),
               Edge("n0", "3", Outcome("menu", ["clip5"], to="n2")),
               Edge("n1", "5", Outcome("menu", ["clip4", "clip2"], to="n1")),
               Edge("n2", NO_INPUT, Outcome("menu", ["clip3"], to="n1"), [Outcome("hangup", ["clip6"])])]
    leaves = {"clip1": ["clip7", "clip2"], "clip3": ["clip4", "clip2"], "clip5": ["clip5"]}
    pairs = same_menus(list(m.nodes.values()), lambda n: leaves[n.clips[-1]][-1])
    assert pairs == [("n1", "n0")]
    m.merge("n1", "n0")
    assert set(m.nodes) == {"n0", "n2"}
    assert [(e.node, e.action, e.outcome.to) for e in m.edges] == [
        ("n0", "0", "n0"), ("n0", "3", "n2"), ("n2", NO_INPUT, "n0")]  # n1's own edges are gone
    assert m.edges[-1].then[0].kind == "hangup"


def test_different_menus_stay_apart() -> None:
    nodes = [Node("n0", (), ["a"]), Node("n1", ("1",), ["b"]), Node("n2", ("1", "1"), ["c"])]
    assert same_menus(nodes, lambda n: n.clips[-1]) == []
