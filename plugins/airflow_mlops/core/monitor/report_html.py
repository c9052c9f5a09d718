"""Report HTML in which a value of the data stays a value.

Evidently embeds a report's data in a ``<script>`` tag with ``json.dumps``, which leaves ``<`` as it
is: a value holding ``</script>`` (or ``<!--``) would end the tag and run as the page's script. Here
the same page is built with the data escaped by :func:`script_json`, so a report is safe wherever it
is opened (a download, MLflow's artifact view), not only in the view's sandbox.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

#: What Evidently writes where its data would go when asked not to embed it.
_NO_DATA = "<!-- no embedded data -->"


def script_json(value: Any) -> str:
    """``value`` as JSON safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028/9 as escapes (JSON holds
    them only inside strings, where ``\\u003c`` is the same character)."""
    from evidently.legacy.utils.numpy_encoder import NumpyEncoder

    text = json.dumps(value, cls=NumpyEncoder, allow_nan=True)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def evidently_html(snapshot: Any) -> str:
    """The standalone HTML page of an Evidently snapshot (what ``get_html_str(as_iframe=False)``
    gives), with its data embedded through :func:`script_json`."""
    from evidently.legacy.model.dashboard import DashboardInfo
    from evidently.legacy.model.widget import AdditionalGraphInfo, BaseWidgetInfo
    from evidently.legacy.renderers.html_widgets import group_widget
    from evidently.legacy.utils.dashboard import TemplateParams, file_html_template

    # What Snapshot.get_html_str and evidently.core.metric_types.render_widgets do (0.7.x).
    widgets = [group_widget(title="", widgets=snapshot._widgets), *snapshot._tests_widgets]
    graphs: dict[str, Any] = {}
    for widget in widgets:
        for extra in widget.get_additional_graphs():
            info = extra.params if isinstance(extra, AdditionalGraphInfo) else extra
            graphs[str(extra.id)] = info.dict() if isinstance(info, BaseWidgetInfo) else info
    dashboard_id = "metric_" + uuid.uuid4().hex
    info = DashboardInfo(name="Report", widgets=widgets)
    page = file_html_template(
        TemplateParams(dashboard_id=dashboard_id, dashboard_info=info, additional_graphs={}, embed_data=False)
    )
    if page.count(_NO_DATA) != 1:  # the page is Evidently's own template, before any data
        raise RuntimeError("Evidently's report template changed: no single place for the report's data")
    dashboard = info.dict()
    for widget_dict in dashboard["widgets"]:
        widget_dict.pop("additionalGraphs", None)  # as Evidently's dashboard_info_to_json does
    data = (
        f"<script>\n    var {dashboard_id} = {script_json(dashboard)};\n"
        f"    var additional_graphs_{dashboard_id} = {script_json(graphs)};\n</script>"
    )
    return str(page).replace(_NO_DATA, data, 1)
