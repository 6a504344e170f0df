"""The charts are built as plain dicts without Plotly's validation (issue #18: half a second per chart
on the bench machine); each must be exactly the figure Plotly's validated construction gives."""
import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from domain import disclosure
from ui import charts
from ui.release_view import services_share_chart, table_chart


def validated(fig: go.Figure) -> dict:
    """What Plotly makes of the same spec when it checks every property (raises on a wrong one)."""
    return json.loads(pio.to_json(go.Figure(fig.to_dict()), validate=True))


def sent(fig: go.Figure) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


CATEGORIES = ["عضویت جدید — بررسی اولیه", "تمدید — بررسی نهایی", "انتقال — پرداخت"]


@pytest.mark.parametrize("fig", [
    charts.bars("عنوان", ["مهر", "آبان"], [("الف", [3, None]), ("ب", [1.5, 2])], y_title="تعداد", digits=1),
    charts.bars("عنوان", ["مهر", "آبان"], [("الف", [3, 4]), ("ب", [1, 2])], stacked=True, suffix="٪"),
    charts.hbars("کارهای باز", CATEGORIES, [("نزد عضو", [1, 0, 2]), ("۰ تا ۱", [5, 6, None])], x_title="تعداد",
                 stacked=True),
    charts.month_lines("روند", ["مهر ۱۴۰۵", "آبان ۱۴۰۵"], [("مرحله‌ها", [90.5, None])], y_title="درصد", suffix="٪"),
], ids=["bars", "stacked", "hbars", "lines"])
def test_each_chart_is_what_validation_would_send(fig):
    assert sent(fig) == validated(fig)
    assert sent(fig)["data"] and all("customdata" in t["hovertemplate"] for t in sent(fig)["data"])


def test_release_charts_are_what_validation_would_send():
    mark = disclosure.MARK
    cross = {"kind": "cross", "title": "پروانه‌ها", "rows": ["عمران", "معماری"], "columns": ["پایه ۱", "پایه ۲"],
             "cells": [[7, mark], [12, 9]], "row_totals": [mark, 21], "row_header": "رشته"}
    plain = {**cross, "cells": [[7, 8], [12, 9]]}
    small = {**plain, "cells": [[1, 0], [2, 3]]}
    services = {"kind": "services", "title": "خدمات", "rows": ["عضویت جدید", "تمدید"],
                "columns": ["رسیده", "رسیدگی‌شده", "در مهلت", "میانه"], "cells": [[10, 8, 75.0, 3.5], [6, 5, None, None]]}
    figures = [table_chart(cross), table_chart(plain), table_chart(small), table_chart(services),
               services_share_chart(services)]
    for fig in figures:
        assert sent(fig) == validated(fig)
    assert [t["y"] for t in sent(figures[0])["data"]] == [[None, 21]]  # hidden cells drawn by shown totals only
