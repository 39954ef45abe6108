"""Figures a researcher looks at beside the numbers: a benchmark's embedding space before and after each
aligner (PCA to 2-D, samples coloured by class, with the class's centres), and the heads' training curves.

PNG files under results/plots/; `previews` (and `inline_png`, one image) inline them as markdown for the
asset's metadata.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pyarrow as pa

from unibind_core.storage.io import atomic_path
from unibind_core.storage.tables import HEAD_HISTORY


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    _pyplot().close(fig)
    return path


def embedding_map(
    panels: dict[str, np.ndarray],
    y: np.ndarray,
    centres: np.ndarray,
    centre_class: np.ndarray,
    path: Path,
    title: str,
    max_points: int = 2000,
    seed: int = 0,
) -> Path:
    """One panel per space (name -> (N, D) unit vectors of the same samples): PCA of samples and centres,
    samples as dots coloured by their (N,) class, the (M, D) centres as crosses of their class's colour.

    The centres are fixed text vectors, so every panel projects them with that panel's PCA: a panel shows how
    far the aligned samples moved towards their class's centres. At most `max_points` samples and as many
    centres are fitted and drawn (a seeded sample of each)."""
    from sklearn.decomposition import PCA

    plt = _pyplot()
    keep = np.random.default_rng(seed).permutation(len(y))[:max_points]
    if len(centres) > max_points:  # 50 centres x 1,000 classes: fit and draw a seeded sample of them too
        shown = np.sort(np.random.default_rng(seed + 1).permutation(len(centres))[:max_points])
        centres, centre_class = centres[shown], centre_class[shown]
    cmap = plt.get_cmap("tab20" if int(max(y.max(), centre_class.max())) >= 10 else "tab10")
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (name, x) in zip(axes[0], panels.items()):
        pca = PCA(n_components=2, random_state=seed).fit(np.concatenate([x[keep], centres]))
        p, c = pca.transform(x[keep]), pca.transform(centres)
        ax.scatter(p[:, 0], p[:, 1], c=y[keep] % cmap.N, cmap=cmap, vmin=0, vmax=cmap.N - 1, s=6, alpha=0.6)
        ax.scatter(
            c[:, 0],
            c[:, 1],
            c=centre_class % cmap.N,
            cmap=cmap,
            vmin=0,
            vmax=cmap.N - 1,
            marker="x",
            s=40,
            linewidths=1.5,
        )
        ax.set_title(name, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"{title}: samples (dots) and centres (crosses) by class, PCA", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def training_curves(history: pa.Table, path: Path, title: str) -> Path:
    """HEAD_HISTORY rows of the fixed split: training loss and eval accuracy against optimizer steps, per aligner."""
    plt = _pyplot()
    rows = [r for r in history.to_pylist() if r["fold"] is None]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name in dict.fromkeys(r["aligner"] for r in rows):
        mine = [r for r in rows if r["aligner"] == name]
        trained = [r for r in mine if r["step"] > 0]
        loss_ax.plot([r["step"] for r in trained], [r["loss"] for r in trained], marker=".", label=name)
        acc_ax.plot([r["step"] for r in mine], [r["eval_accuracy"] for r in mine], marker=".", label=name)
    loss_ax.set(xlabel="step", ylabel="training loss", title="loss")
    acc_ax.set(xlabel="step", ylabel="eval top-1 (centres)", title="eval accuracy")
    acc_ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def alignment_plots(
    out: Path,
    bench: str,
    zero_shot: np.ndarray,
    aligned: dict[str, np.ndarray],
    y: np.ndarray,
    centres: np.ndarray,
    centre_class: np.ndarray,
    history: Path,
) -> dict[str, Path]:
    """A benchmark's test embedding map before ((N, D) frozen features) and after each aligner (name -> (N, D)),
    and its head's training curves when the HEAD_HISTORY table at `history` exists: name -> PNG under `out`."""
    panels = {"zero-shot": zero_shot, **{f"fine-tuned: {a}": z for a, z in aligned.items()}}
    plots = {
        "embedding map": embedding_map(panels, y, centres, centre_class, out / f"{bench}_embedding_map.png", bench)
    }
    if history.exists():
        plots["training curves"] = training_curves(
            HEAD_HISTORY.read(history), out / f"{bench}_training_curves.png", f"{bench}: head training"
        )
    return plots


def inline_png(name: str, path: Path) -> str:
    """A markdown image of the PNG at `path`, inlined as a data URI (Dagster's markdown metadata shows it)."""
    return f"![{name}](data:image/png;base64,{base64.b64encode(Path(path).read_bytes()).decode()})"


def previews(plots: dict[str, Path]) -> str:
    """Markdown with each PNG inlined under its name, for a Dagster markdown metadata value."""
    return "\n\n".join(f"**{name}**\n\n{inline_png(name, p)}" for name, p in plots.items())
