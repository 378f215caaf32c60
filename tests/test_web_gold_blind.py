"""Gold stays indistinguishable on every counter an annotator sees (audit #1): walking through a
gold-rate-0.5 project, the header of the annotate page and the projects page move the same way
whether the item just labelled was gold or data — for a vendor's annotator and an in-house one."""

from __future__ import annotations

import re

from tests._web import PASSWORD, Client, Server, csrf_of, item_of, seed, workspace


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


def _counters(c: Client) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    page = c.get("/p/p1/annotate")[1]
    head = re.search(r'<div class="progress" id="progress">(.*?)</div>', page, re.S).group(1)
    home = c.get("/")[1]
    row = re.search(r'<tr data-project="p1">(.*?)</tr>', home, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    return page, _numbers(re.sub(r"<[^>]+>", " ", head)), _numbers(" ".join(cells[3:5]))


def test_counters_move_identically_for_gold_and_data(tmp_path):
    from redline.data.records import Record

    url = f"sqlite:///{tmp_path / 'ws.db'}"
    svc = workspace(url)
    recs = [Record.model_validate({"id": f"n{i:02d}", "prompt": f"question {i}", "category": "harassment"})
            for i in range(20)]
    gold = [(Record.model_validate({"id": f"g{i:02d}", "prompt": f"gold question {i}", "category": "harassment"}),
             {"category": "harassment", "intent": "harmful"}) for i in range(20)]
    seed(svc, recs=recs, overlap=1, gold=gold, gold_rate=0.5)
    svc.add_user("h1", PASSWORD, "annotator")  # in-house annotator
    srv = Server(url, tmp_path / "server.log")
    try:
        for user in ("a1", "h1"):
            c = Client(srv.base)
            assert c.login(user)[0] == 303
            moves: dict[bool, set[tuple[tuple[int, ...], tuple[int, ...]]]] = {True: set(), False: set()}
            page, head, home = _counters(c)
            for _ in range(7):
                item = item_of(page)
                assert item is not None
                is_gold = bool(svc.item("p1", item, include_gold=True).is_gold)
                assert c.post(f"/p/p1/items/{item}/label", {"csrf": csrf_of(page), "category": "harassment",
                                                             "intent": "harmful"})[0] == 303
                page, head2, home2 = _counters(c)
                moves[is_gold].add((tuple(b - a for a, b in zip(head, head2, strict=True)),
                                    tuple(b - a for a, b in zip(home, home2, strict=True))))
                head, home = head2, home2
            assert moves[True] and moves[False], f"{user}: both gold and data were served"
            assert moves[True] == moves[False], f"{user}: counters differ for gold: {moves}"
    finally:
        srv.stop()
