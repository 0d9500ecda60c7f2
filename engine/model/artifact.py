"""The model artifact: LightGBM model files plus ``schema.json``, and the schema check.

A model directory holds one LightGBM text model per output (``<output>.txt``),
``schema.json`` and the training report (``metrics.json``, ``importance.csv``,
``importance.png``). ``schema.json`` is what the engine trusts::

    format            artifact format version (1)
    feature_names     the features, in the order a row must have them
    schema_hash       FeatureSchema.hash of the matrix the models were trained on
    feature_schema    the full schema (names, parameters, version) when it is known
    outputs           per output: name, file, sha256 of the file, trees, best iteration
    labels            what each output predicts (kind, horizon, dead band)
    training          data file and sha256, rows, sessions, time span, config
    metrics           the walk-forward summary
    versions          obflow, lightgbm, numpy, numba, python

The engine refuses a model whose schema hash differs from its own feature schema, naming
the features that differ; and a model file whose sha256 is not the one recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import orjson

from engine.errors import ModelError
from engine.features.registry import FeatureSchema

ARTIFACT_FORMAT = 1
SCHEMA_FILE = "schema.json"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: Path, data: dict) -> None:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
                                  | orjson.OPT_SERIALIZE_NUMPY) + b"\n")


@dataclass(frozen=True)
class Artifact:
    """A model directory's ``schema.json``, read and checked for completeness."""

    path: Path
    feature_names: tuple[str, ...]
    schema_hash: str
    feature_schema: dict | None
    outputs: tuple[dict, ...]
    raw: dict

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(o["name"] for o in self.outputs)

    def model_path(self, output: dict) -> Path:
        return self.path / output["file"]


def read_artifact(model_dir: str | Path) -> Artifact:
    model_dir = Path(model_dir)
    path = model_dir / SCHEMA_FILE
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ModelError(f"{model_dir}: no {SCHEMA_FILE} (not a model directory; "
                         f"write one with obflow train)") from None
    except orjson.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON: {exc}") from None
    if raw.get("format") != ARTIFACT_FORMAT:
        raise ModelError(f"{path}: artifact format {raw.get('format')!r}, this engine reads "
                         f"{ARTIFACT_FORMAT}")
    for key in ("feature_names", "schema_hash", "outputs"):
        if key not in raw:
            raise ModelError(f"{path}: missing {key!r}")
    for output in raw["outputs"]:
        for key in ("name", "file", "sha256"):
            if key not in output:
                raise ModelError(f"{path}: an output lacks {key!r}")
    return Artifact(model_dir, tuple(raw["feature_names"]), raw["schema_hash"],
                    raw.get("feature_schema"), tuple(raw["outputs"]), raw)


def schema_difference(model_names: tuple[str, ...], engine_names: tuple[str, ...],
                      model_schema: dict | None = None, engine_schema: dict | None = None,
                      ) -> str:
    """What differs between the model's features and the engine's, in words."""
    engine_set, model_set = set(engine_names), set(model_names)
    parts = []
    missing = [n for n in model_names if n not in engine_set]
    extra = [n for n in engine_names if n not in model_set]
    if missing:
        parts.append(f"missing from the engine ({len(missing)}): {', '.join(missing)}")
    if extra:
        parts.append(f"extra in the engine, unknown to the model ({len(extra)}): "
                     f"{', '.join(extra)}")
    common_model = [n for n in model_names if n in engine_set]
    common_engine = [n for n in engine_names if n in model_set]
    moved = [f"{n} (model #{model_names.index(n)}, engine #{engine_names.index(n)})"
             for a, n in zip(common_engine, common_model, strict=True) if a != n]
    if moved:
        parts.append(f"reordered ({len(moved)}): {', '.join(moved)}")
    if not parts:
        if model_schema and engine_schema:
            mp, ep = model_schema.get("params", {}), engine_schema.get("params", {})
            diffs = [f"{k} {mp.get(k)!r} (model) vs {ep.get(k)!r} (engine)"
                     for k in sorted(set(mp) | set(ep)) if mp.get(k) != ep.get(k)]
            if model_schema.get("version") != engine_schema.get("version"):
                diffs.append(f"schema version {model_schema.get('version')} (model) vs "
                             f"{engine_schema.get('version')} (engine)")
            parts.append("same features in the same order; feature parameters differ: "
                         + ("; ".join(diffs) if diffs else "unknown"))
        else:
            parts.append("same features in the same order; the feature parameters or the "
                         "schema version differ")
    return "; ".join(parts)


def check_schema(artifact: Artifact, schema: FeatureSchema) -> None:
    """Refuse (ModelError) a model trained on another feature schema than ``schema``."""
    if artifact.schema_hash == schema.hash:
        if artifact.feature_names != schema.names:
            raise ModelError(f"{artifact.path}: schema.json carries hash {schema.hash} but "
                             f"lists other features: "
                             + schema_difference(artifact.feature_names, schema.names))
        return
    detail = schema_difference(artifact.feature_names, schema.names, artifact.feature_schema,
                               schema.as_dict())
    raise ModelError(f"{artifact.path}: model trained on feature schema "
                     f"{artifact.schema_hash}, the engine computes {schema.hash}: {detail}")


def read_model_texts(artifact: Artifact) -> list[str]:
    """Each output's LightGBM model text, after checking the file's recorded sha256."""
    texts = []
    for output in artifact.outputs:
        path = artifact.model_path(output)
        if not path.exists():
            raise ModelError(f"{path}: model file missing")
        if sha256_file(path) != output["sha256"]:
            raise ModelError(f"{path}: sha256 differs from schema.json (file changed after "
                             f"training)")
        texts.append(path.read_text())
    return texts
