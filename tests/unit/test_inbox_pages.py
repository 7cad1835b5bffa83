"""The inbox's pure parts (dash_app/workspace): the page offsets, a search snippet cut around its match with the
marks moved, and the views as one API query each."""

from __future__ import annotations

from dash_app.workspace import inbox, paging, search_results


def test_page_buttons_move_by_a_page_and_anything_else_starts_over():
    assert paging.moved("ws-page-next", 0) == 100
    assert paging.moved("ws-page-next", 100) == 200
    assert paging.moved("ws-page-prev", 100) == 0
    assert paging.moved("ws-page-prev", 0) == 0
    assert paging.moved("ws-view", 300) == 0 and paging.moved("ws-search", None) == 0


def test_a_page_past_the_end_becomes_the_last_one():
    assert paging.clamped(300, 105) == 100
    assert paging.clamped(100, 100) == 0
    assert paging.clamped(100, 0) == 100  # nothing at all: the offset does not matter
    assert paging.clamped(None, 10) == 0
    assert paging.summary(100, 5, 105) == "101–105 de 105" and paging.summary(0, 40, 40) == ""


def test_a_long_snippet_is_cut_around_its_first_match_and_the_marks_follow():
    text = "a" * 200 + " boleto " + "b" * 200
    start = text.index("boleto")
    cut, marks = search_results.abbreviated(text, [(start, start + 6)], size=60)
    assert cut.startswith("…") and cut.endswith("…") and len(cut) == 62
    (a, b), = marks
    assert cut[a:b] == "boleto"
    short, same = search_results.abbreviated("o boleto", [[2, 8]])
    assert short == "o boleto" and same == [(2, 8)]


def test_marked_parts_are_text_and_marks():
    parts = search_results.marked("o boleto veio", [(2, 8)])
    assert parts[0] == "o " and parts[1].children == "boleto" and parts[2] == " veio"


def test_each_view_is_one_query_in_the_inboxs_order():
    none = inbox.Filters()
    teams = inbox.query("equipes", "me", ["t1", "t2"], none)
    assert teams["team_id"] == ["t1", "t2"] and teams["status"] == ["waiting", "open"] and teams["order"] == "queue"
    assert inbox.query("equipes", "me", [], none) is None  # no team of one's own: nothing to ask
    assert inbox.query("equipes", "me", ["t1"], inbox.Filters(team_id="t2")) is None
    assert inbox.query("todas", "me", [], none)["status"] == ["waiting", "open", "bot"]
    assert inbox.query("aguardando", "me", [], inbox.Filters(status="open")) is None
    mine = inbox.query("minhas", "me", [], inbox.Filters(label_id="l1"))
    assert mine["assignee_id"] == "me" and mine["status"] == "open" and mine["label_id"] == "l1"
