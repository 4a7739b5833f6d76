"""The robustness panel of the enterprise portrait: class probabilities, rank interval and the
path to the next class, from the run's newest `mujun robustness` analysis."""

from __future__ import annotations

import json
from typing import Any

from mujun.store import Store
from mujun.web.pages.i18n import class_label, translator
from mujun.web.readmodel import run_robustness


def robustness_context(store: Store, run_id: str, uscc: str, lang: str) -> dict[str, Any]:
    """Template variables of ``_robustness.html`` (empty panel when no analysis exists)."""
    model = run_robustness(store, run_id)
    robust = model.firm(uscc)
    path = model.path(uscc, lang)
    data: dict[str, Any] = {}
    if robust and robust["firm"]:
        f = robust["firm"]
        t = translator(lang)
        codes = [c for c in ("A", "B", "C", "D") if c in f["probs"] or c == f["class"]]
        codes += sorted(c for c in f["probs"] if c and c not in codes)
        classes = [
            {
                "code": c,
                "label": class_label(c, lang),
                "p": f["probs"].get(c, 0.0),
                "published": c == f["class"],
            }
            for c in codes
        ]
        if f["probs"].get(""):
            classes.append(
                {"code": "", "label": t("unclassified"), "p": f["probs"][""], "published": False}
            )
        data = {
            "classes": classes,
            "rank": f["rank"],
            "rank_p05": f["rank_p05"],
            "rank_p95": f["rank_p95"],
            "cohort_size": f["cohort_size"],
            "labels": {"rank": t("rank"), "run": t("run")},
        }
    return {
        "robust": robust,
        "next_path": path,
        "robust_json": json.dumps(data, ensure_ascii=False).replace("</", "<\\/"),
    }
