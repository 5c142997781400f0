"""The chart `/test` posts: each model's scores as grouped bars (PNG bytes), drawn by matplotlib.

matplotlib is imported here only, with its non-interactive Agg backend (no display on a server), so a
bot that never runs a test never loads it."""

from __future__ import annotations

import io

from agent.training.evaluation import TestReport

_COLOURS = ("#5865F2", "#EB459E", "#57F287", "#FEE75C")  # Discord's palette: readable in light and dark


def chart_png(report: TestReport) -> bytes:
    """Grouped bars per metric (exact, contains, similarity, graded where measured), one bar per model,
    0–100 %; the title names the models and the number of examples."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    metrics: list[tuple[str, list[float]]] = [
        ("exact", [s.exact for s in report.scores]),
        ("contains", [s.contains for s in report.scores]),
    ]
    if any(s.similarity is not None for s in report.scores):
        metrics.append(("similarity", [max(s.similarity or 0.0, 0.0) for s in report.scores]))
    if any(s.graded is not None for s in report.scores):
        metrics.append(("graded", [s.graded or 0.0 for s in report.scores]))

    figure = Figure(figsize=(7, 3.6), dpi=110)
    axes = figure.subplots()
    width = 0.8 / max(len(report.scores), 1)
    for i, score in enumerate(report.scores):
        xs = [m + (i - (len(report.scores) - 1) / 2) * width for m in range(len(metrics))]
        values = [100 * values[i] for _name, values in metrics]
        bars = axes.bar(xs, values, width * 0.95, label=score.model, color=_COLOURS[i % len(_COLOURS)])
        axes.bar_label(bars, labels=[f"{v:.0f}" for v in values], fontsize=8, padding=2)
    axes.set_xticks(range(len(metrics)), [name for name, _ in metrics])
    axes.set_ylim(0, 112)
    axes.set_ylabel("%")
    axes.set_title(report.heading(), fontsize=10)
    # Below the axes, so no bar is ever hidden behind it.
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(report.scores), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
