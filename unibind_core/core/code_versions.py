"""Code versions: which library code each stored output depends on, as a hash of that code's source.

Every reuse key (decoded inputs, features, text embeddings, captions, heads, ...) includes the version of
the code path that computes it, so an output never outlives the code that made it: change a view and the
features (and what is keyed on them) are recomputed; change a docstring or a comment and nothing is.
The Dagster `code_version` of each asset is derived from the same table (ASSET_PATHS).

A version is a hash of the path's modules in a normal form: Python source parsed, docstrings dropped and
dumped without line numbers (so comments, blank lines and docstrings do not count); other files in a
package (class-name lists, the paper's results) by their bytes. A path lists module names relative to
`unibind_core` (a package stands for every file under it) and may include another path as `:name`.
Every library module is on some path or in OUTPUT_NEUTRAL (tests/core/core/test_code_versions.py checks it),
so a new module cannot be forgotten. Downstream stages pick up an upstream change through the data
versions their keys already chain (docs/architecture.md, Code versions).
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # unibind_core/

# `numeric_env` (the kernels and threads every computation runs with) travels with `torch_setup`.
# Shared by every stored output: how tables and stamps are written, and the keys of reuse themselves.
GROUPS = ("core", "storage", "data", "encoders", "knowledge", "method", "evaluation", "use")  # docstring-only packages
_STORAGE = (
    "storage.io",
    "storage.tables",
    "storage.table_contract",
    "storage.shards",
    "stages.common",
    "core.code_versions",
    "core.modality",
)

CODE_PATHS: dict[str, tuple[str, ...]] = {
    # the demo world's files (its stamp key)
    "world": ("demo", "stages.data", *_STORAGE),
    # manifests: readers, split assignment, class lists
    "manifest": ("data.benchmarks", "stages.data", *_STORAGE),
    # decoded inputs (data/decoding.py inputs_key, the decoded-input cache): the modality loaders
    "decode": ("data.modalities", "data.decoding", *_STORAGE),
    # the demo encoders pre-trained on decoded inputs and the text tower's prompt vectors
    "demo_backbone": (
        "encoders.backbone.pretrain",
        "encoders.backbone.demo",
        "encoders.backbone.stems",
        "knowledge.templates",
        "stages.data",
        ":text_tower",
        *_STORAGE,
    ),
    # frozen features from decoded inputs: backbones, their views, external embedding scripts
    "features": (
        "encoders.backbone",
        "encoders.external",
        "data.decoding",
        "stages.features",
        "core.torch_setup",
        "core.numeric_env",
        *_STORAGE,
    ),
    # a text's vector (knowledge/text_cache.py's per-text cache): the text towers of every backbone, not their
    # data views
    "text_tower": (
        "encoders.text",
        "knowledge.text_cache",
        "core.torch_setup",
        "core.numeric_env",
        "encoders.backbone.base",
        "encoders.backbone.select",
        "encoders.backbone.open_clip",
        "encoders.backbone.hf_clip",
        "encoders.backbone.clap",
        "encoders.backbone.imagebind",
        "encoders.backbone.languagebind",
        "encoders.backbone.external",
        "encoders.external.envs",
        "encoders.external.runner",
        "encoders.external.worker",
        "encoders.external.scripts.embed_common",
        "encoders.external.scripts.imagebind_embed",
        "encoders.external.scripts.languagebind_embed",
        "encoders.external.scripts.pipes_io",
        *_STORAGE,
    ),
    # one sample's caption (knowledge/captioners/cache.py): views, model wrappers, the judge
    "captioner": (
        "knowledge.captioners",
        "encoders.external.lavis",
        "encoders.external.runner",
        "encoders.external.envs",
        "encoders.external.scripts.lavis_caption",
        "encoders.external.scripts.pipes_io",
        "core.torch_setup",
        "core.numeric_env",
        *_STORAGE,
    ),
    "captions": (":captioner", "knowledge.kb", "method.protocols", "stages.knowledge", *_STORAGE),
    "descriptions": ("knowledge.describe", "knowledge.llm", "knowledge.kb", "stages.knowledge", *_STORAGE),
    "kb": ("knowledge.kb", "knowledge.curated", "stages.knowledge", *_STORAGE),
    "text_embeddings": (
        ":text_tower",
        "knowledge.kb",
        "knowledge.curated",
        "knowledge.templates",
        "stages.knowledge",
        *_STORAGE,
    ),
    "centres": ("method.centres", "method.nn_search", "stages.centres", "stages.head_inputs", *_STORAGE),
    # head training: the aligners (their losses), the loop, the runs and partners it trains on
    "heads": (
        "method.aligners",
        "stages.heads",
        "stages.head_inputs",
        "stages.runs",
        "stages.partners",
        "method.protocols",
        "evaluation.metrics",
        "core.torch_setup",
        "core.numeric_env",
        *_STORAGE,
    ),
    "evaluation": (
        "evaluation.evaluate",
        "evaluation.metrics",
        "method.centres",
        "evaluation.plots",
        "knowledge.templates",
        "method.aligners.store",
        "stages.evaluation",
        "stages.heads",
        "stages.head_inputs",
        "core.torch_setup",
        "stages.runs",
        *_STORAGE,
    ),
    "retrieval": (
        "evaluation.retrieval",
        "method.nn_search",
        "evaluation.metrics",
        "method.aligners.store",
        "stages.retrieval",
        "stages.head_inputs",
        "stages.runs",
        *_STORAGE,
    ),
    "results": (
        "evaluation.results",
        "evaluation.plots",
        "evaluation.paper",
        "stages.results",
        "stages.provenance",
        *_STORAGE,
    ),
    # the FAISS galleries of stored features (stages/index.py) and the predictions over an inbox folder
    "index": ("use.search_index", "method.nn_search", "stages.index", *_STORAGE),
    "predictions": (
        ":decode",
        ":features",
        "use.predict",
        "evaluation.evaluate",
        "method.aligners.store",
        "stages.predictions",
        *_STORAGE,
    ),
}

# Modules whose edits change no stored output: configuration plumbing (the option values a stage uses are
# in its key), progress and errors, asset checks (they judge outputs, never write them), the `embed` CLI's
# helper (its output is printed or written once, never reused), the stage result type.
OUTPUT_NEUTRAL: tuple[str, ...] = (
    "__init__",
    *(f"{g}.__init__" for g in GROUPS),
    "core.settings",
    "core.options",
    "storage.layout",
    "core.errors",
    "core.progress",
    "core.registry",
    "evaluation.checks",
    "encoders.embed_files",
    "stages.__init__",
    # CLI helpers whose outputs are written once and never reused:
    "use.export",
    "use.search",
)

# The Dagster assets and the code path of each (assets/*.py code_version=asset_code_version(name)).
ASSET_PATHS: dict[str, str] = {
    "demo_world": "world",
    "benchmark_manifest": "manifest",
    "demo_backbone": "demo_backbone",
    "data_embeddings": "features",
    "category_descriptions": "descriptions",
    "data_captions": "captions",
    "knowledge_base": "kb",
    "kb_text_embeddings": "text_embeddings",
    "embedding_centres": "centres",
    "aligned_heads": "heads",
    "benchmark_evaluation": "evaluation",
    "retrieval_evaluation": "retrieval",
    "results_table": "results",
    "embedding_index": "index",
    "predictions": "predictions",
}


class _StripDocstrings(ast.NodeTransformer):
    """Drops the docstring of the module and of every class and function (they never change an output)."""

    def _strip(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        body = getattr(node, "body", None)
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _strip


@cache
def source_fingerprint(path: Path) -> str:
    """Hash of one file: Python in normal form (docstrings, comments, layout ignored), others by bytes
    (once per process: the code a process runs does not change under it)."""
    data = Path(path).read_bytes()
    if Path(path).suffix == ".py":
        tree = _StripDocstrings().visit(ast.parse(data, filename=str(path)))
        data = ast.dump(tree, include_attributes=False).encode()
    return hashlib.sha256(data).hexdigest()


def module_files(name: str, package: Path = PACKAGE) -> list[Path]:
    """The files a module name stands for: `a.b` -> a/b.py, or every file under the package a/b/."""
    base = package.joinpath(*name.split("."))
    if base.is_dir():
        return sorted(
            p
            for p in base.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
        )
    if base.with_suffix(".py").is_file():
        return [base.with_suffix(".py")]
    raise KeyError(f"code version: module {name!r} names no file or package under {package}")


def path_modules(path: str) -> list[str]:
    """Every module name on a code path, `:other` paths expanded."""
    if path not in CODE_PATHS:
        raise KeyError(f"unknown code path {path!r}; known: {', '.join(sorted(CODE_PATHS))}")
    out: list[str] = []
    for entry in CODE_PATHS[path]:
        out += path_modules(entry[1:]) if entry.startswith(":") else [entry]
    return sorted(set(out))


@cache
def code_version(path: str) -> str:
    """The version of a code path: 16 hex digits that change when (and only when) its code changes."""
    files = sorted({f for m in path_modules(path) for f in module_files(m)})
    h = hashlib.sha256(path.encode())
    for f in files:
        h.update(f"{f.relative_to(PACKAGE).as_posix()}\0{source_fingerprint(f)}\n".encode())
    return h.hexdigest()[:16]


def asset_code_version(asset: str) -> str:
    """The Dagster code_version of an asset: its code path's version."""
    return code_version(ASSET_PATHS[asset])
