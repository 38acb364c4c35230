#!/usr/bin/env python3
"""Make tiny random GLM reference fixtures with transformers.

Each fixture is a folder holding a tiny, seeded, random GLM / GLM-4 model saved
exactly as people download such models (transformers' save_pretrained output,
or the THUDM `chatglm` layout written here), plus

  expected.safetensors  case{i}.ids (I32 [n]), case{i}.positions (I32 [m]),
                        case{i}.logits (F32 [m, vocab]), rope.inv_freq (F64),
                        rope.attention_scaling (F64 [1])
  expected.json         versions, layout, rope description, per-case figures

The logits are computed by transformers itself on the CPU from the tensors as
stored, upcast to float64 (eager attention).  Self-checks recorded beside them:
float32 vs float64 relative error, native-dtype vs float64, and an independent
float64 implementation written below (own_forward) vs transformers.

Usage (on the device machine, see tools/reference/README.md):
  python3 tools/reference/make_fixtures.py --out OUTDIR [--only NAME ...]
"""

import argparse
import inspect
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback

import torch

VOCAB = 1024
HIDDEN = 128
FFN = 256
LAYERS = 2
HEADS = 4
HEAD_DIM = 32
ROT_DIM = 16  # head_dim * partial_rotary_factor
EPS = 1.5625e-07
EOS = [1000, 1007, 1009]
PAD = 1000
ID_LIMIT = 1014

CASES = [
    {"n": 7, "positions": list(range(7)), "seed": 1001},
    {"n": 300, "positions": [0, 1, 150, 299], "seed": 1002},
    {"n": 2600, "positions": [0, 1000, 2047, 2048, 2599], "seed": 1003},
]

# init scales (documented in README.md)
STD_LINEAR = 0.05
STD_QK = 0.10
STD_BIAS = 0.05
STD_EMBED = 0.30
STD_LM_HEAD = 0.10
NORM_SPREAD = 0.20  # norm weights uniform in [1 - 0.2, 1 + 0.2]

FIXTURES = [
    {
        "name": "glm-bf16",
        "arch": "glm",
        "kv_heads": 2,
        "rope": {"rope_type": "default", "rope_theta": 5e6, "partial_rotary_factor": 0.5},
        "dtype": "bfloat16",
        "layout": "hf-glm",
        "seed": 11,
    },
    {
        "name": "chatglm-f16",
        "arch": "glm",
        "from": "glm-bf16",
        "kv_heads": 2,
        "rope": {"rope_type": "default", "rope_theta": 5e6, "partial_rotary_factor": 0.5},
        "dtype": "float16",
        "layout": "chatglm",
    },
    {
        "name": "glm4-f32-sharded",
        "arch": "glm4",
        "kv_heads": 1,
        "rope": {"rope_type": "default", "rope_theta": 1e6, "partial_rotary_factor": 0.5},
        "dtype": "float32",
        "layout": "hf-glm4-sharded",
        "seed": 13,
        "shard": "1MB",
    },
    {
        "name": "glm4-yarn-bf16",
        "arch": "glm4",
        "kv_heads": 2,
        "rope": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                 "original_max_position_embeddings": 1024, "partial_rotary_factor": 0.5},
        "dtype": "bfloat16",
        "layout": "hf-glm4",
        "seed": 14,
    },
    {
        "name": "glm-llama3-bf16",
        "arch": "glm",
        "kv_heads": 4,
        "rope": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                 "high_freq_factor": 4.0, "original_max_position_embeddings": 1024,
                 "partial_rotary_factor": 0.5},
        "dtype": "bfloat16",
        "layout": "hf-glm",
        "seed": 15,
    },
]

DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def log(*a):
    print(*a, flush=True)


def banner(s):
    log("\n" + "=" * 78 + "\n" + s + "\n" + "=" * 78)


# ---------------------------------------------------------------------------
# transformers access (kept defensive: API details moved between 4.x and 5.x)

def tf_classes(arch):
    import transformers
    if arch == "glm":
        return transformers.GlmConfig, transformers.GlmForCausalLM
    return transformers.Glm4Config, transformers.Glm4ForCausalLM


def make_config(arch, kv_heads, rope):
    cfg_cls, _ = tf_classes(arch)
    kw = dict(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=FFN, num_hidden_layers=LAYERS,
              num_attention_heads=HEADS, num_key_value_heads=kv_heads, head_dim=HEAD_DIM,
              max_position_embeddings=4096, rms_norm_eps=EPS, attention_bias=True,
              tie_word_embeddings=False, pad_token_id=PAD,
              partial_rotary_factor=0.5, rope_parameters=dict(rope))
    # eos_token_id is assigned after construction: some GlmConfig revisions only finish
    # __post_init__ when eos_token_id was left at None.
    try:
        cfg = cfg_cls(**kw)
    except Exception as e:  # noqa: BLE001
        log(f"  config with partial_rotary_factor kwarg failed ({type(e).__name__}: {e}); retrying without")
        kw.pop("partial_rotary_factor")
        cfg = cfg_cls(**kw)
    cfg.eos_token_id = list(EOS)
    cfg.pad_token_id = PAD
    log(f"  config.rope_parameters = {getattr(cfg, 'rope_parameters', '<none>')}")
    log(f"  config.partial_rotary_factor = {getattr(cfg, 'partial_rotary_factor', '<none>')}, "
        f"config.rope_theta attr = {getattr(cfg, 'rope_theta', '<none>')}, "
        f"rope_scaling attr = {getattr(cfg, 'rope_scaling', '<none>')}")
    return cfg


def rotary_modules(model):
    mods = []
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(inner, "rotary_emb"):
        mods.append(inner.rotary_emb)
    for _, m in model.named_modules():
        if type(m).__name__.endswith("RotaryEmbedding") and all(m is not x for x in mods):
            mods.append(m)
    if not mods:
        raise RuntimeError("no rotary embedding module found")
    return mods


def rope_state(model):
    mods = rotary_modules(model)
    r = mods[0]
    inv = r.inv_freq.detach().to("cpu", torch.float64).clone()
    scale = float(getattr(r, "attention_scaling", 1.0))
    for m in mods[1:]:
        if not torch.equal(m.inv_freq.detach().to("cpu", torch.float64), inv):
            raise RuntimeError("rotary modules disagree on inv_freq")
    return inv, scale, len(mods), str(r.inv_freq.dtype)


def expected_inv_freq(rope):
    """Our own float64 formula for each rope type (informative for scaled types)."""
    theta = float(rope["rope_theta"])
    d = ROT_DIM
    base = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    t = rope["rope_type"]
    if t == "default":
        return base, 1.0
    if t == "llama3":
        factor, lo, hi = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
        orig = rope["original_max_position_embeddings"]
        lo_wl, hi_wl = orig / lo, orig / hi
        out = base.clone()
        for i, f in enumerate(base.tolist()):
            wl = 2 * math.pi / f
            if wl < hi_wl:
                out[i] = f
            elif wl > lo_wl:
                out[i] = f / factor
            else:
                s = (orig / wl - lo) / (hi - lo)
                out[i] = (1 - s) * f / factor + s * f
        return out, 1.0
    if t == "yarn":
        factor = rope["factor"]
        orig = rope["original_max_position_embeddings"]
        bf, bs = rope.get("beta_fast", 32), rope.get("beta_slow", 1)

        def corr(rot):
            return d * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(theta))
        lo = max(math.floor(corr(bf)), 0)
        hi = min(math.ceil(corr(bs)), d - 1)
        if lo == hi:
            hi += 0.001
        ramp = ((torch.arange(d // 2, dtype=torch.float64) - lo) / (hi - lo)).clamp(0, 1)
        extra = 1 - ramp
        inv = (base / factor) * (1 - extra) + base * extra
        return inv, 0.1 * math.log(factor) + 1.0
    raise ValueError(t)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            shape = tuple(p.shape)
            if name.endswith("norm.weight"):
                v = 1.0 + NORM_SPREAD * (2 * torch.rand(shape, generator=g, dtype=torch.float64) - 1)
            elif name.endswith(".bias"):
                v = STD_BIAS * torch.randn(shape, generator=g, dtype=torch.float64)
            elif "embed_tokens" in name:
                v = STD_EMBED * torch.randn(shape, generator=g, dtype=torch.float64)
            elif "lm_head" in name:
                v = STD_LM_HEAD * torch.randn(shape, generator=g, dtype=torch.float64)
            elif "q_proj" in name or "k_proj" in name:
                v = STD_QK * torch.randn(shape, generator=g, dtype=torch.float64)
            else:
                v = STD_LINEAR * torch.randn(shape, generator=g, dtype=torch.float64)
            p.copy_(v.to(p.dtype))
    names = [n for n, _ in model.named_parameters()]
    log(f"  randomized {len(names)} parameters: {names}")


def save_model(model, folder, dtype, shard):
    model.to(dtype)
    kw = {"safe_serialization": True}
    if shard:
        kw["max_shard_size"] = shard
    try:
        model.save_pretrained(folder, **kw)
    except TypeError as e:
        log(f"  save_pretrained({kw}) raised TypeError: {e}; retrying without safe_serialization")
        kw.pop("safe_serialization")
        model.save_pretrained(folder, **kw)
    log(f"  save_pretrained kwargs used: {kw}")


def list_folder(folder):
    out = {}
    for f in sorted(os.listdir(folder)):
        out[f] = os.path.getsize(os.path.join(folder, f))
    return out


def read_tensors(folder):
    """All tensors of a folder, as stored (index-aware)."""
    from safetensors import safe_open
    idx = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as fh:
            files = sorted(set(json.load(fh)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors, metas = {}, {}
    for f in files:
        with safe_open(os.path.join(folder, f), framework="pt") as sf:
            metas[f] = sf.metadata()
            for k in sf.keys():
                tensors[k] = sf.get_tensor(k)
    return tensors, metas


def describe_tensors(tensors):
    dts = sorted({str(t.dtype) for t in tensors.values()})
    log(f"  stored tensors: {len(tensors)}, dtypes {dts}")
    for k in sorted(tensors):
        log(f"    {k:60s} {str(tensors[k].dtype):15s} {list(tensors[k].shape)}")


def write_own_shards(folder, tensors, nshards=3):
    """Fallback if save_pretrained did not shard: HF-style shards plus index."""
    from safetensors.torch import save_file
    for f in os.listdir(folder):
        if f.endswith(".safetensors") or f.endswith(".index.json"):
            os.remove(os.path.join(folder, f))
    names = sorted(tensors)
    per = math.ceil(len(names) / nshards)
    wmap, total = {}, 0
    for i in range(nshards):
        part = names[i * per:(i + 1) * per]
        fname = f"model-{i + 1:05d}-of-{nshards:05d}.safetensors"
        save_file({k: tensors[k].contiguous() for k in part}, os.path.join(folder, fname), metadata={"format": "pt"})
        for k in part:
            wmap[k] = fname
            total += tensors[k].numel() * tensors[k].element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, fh, indent=2)


def from_pretrained(model_cls, folder, dtype):
    try:
        m = model_cls.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    except TypeError as e:
        log(f"  from_pretrained(dtype=) TypeError {e}; using torch_dtype=")
        m = model_cls.from_pretrained(folder, torch_dtype=dtype, attn_implementation="eager")
    m.to(dtype)
    m.eval()
    impl = getattr(m.config, "_attn_implementation", "?")
    if impl != "eager":
        log(f"  WARNING: attention implementation is {impl}, wanted eager")
    return m


def check_against_stored(model, stored, dtype):
    sd = model.state_dict()
    missing = [k for k in sd if k not in stored and not k.endswith("inv_freq")]
    unexpected = [k for k in stored if k not in sd]
    bad = []
    for k, v in stored.items():
        if k in sd and not torch.equal(sd[k].cpu(), v.to(dtype)):
            bad.append(k)
    if missing or unexpected or bad:
        raise RuntimeError(f"loaded model != stored tensors: missing {missing} unexpected {unexpected} differ {bad}")


def case_ids(case):
    g = torch.Generator().manual_seed(case["seed"])
    return torch.randint(0, ID_LIMIT, (case["n"],), generator=g, dtype=torch.int64)


def hf_logits(model, ids, positions):
    with torch.no_grad():
        out = model(input_ids=ids[None, :], use_cache=False)
    return out.logits[0, positions].detach().cpu()


def relerr(a, b):
    a64, b64 = a.to(torch.float64), b.to(torch.float64)
    return float((a64 - b64).norm() / b64.norm())


# ---------------------------------------------------------------------------
# independent float64 implementation (HF glm/glm4 tensor names)

def own_forward(sd, kv_heads, glm4, inv_freq, att_scale, ids, positions):
    sd = {k: v.to(torch.float64) for k, v in sd.items()}
    n = ids.shape[0]

    def rms(x, w):
        return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS))

    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv_freq.to(torch.float64)[None, :]
    cos = (torch.cos(ang) * att_scale)[:, None, :]
    sin = (torch.sin(ang) * att_scale)[:, None, :]
    r = 2 * inv_freq.shape[0]

    def rope(t):
        ev, od = t[..., 0:r:2], t[..., 1:r:2]
        rot = torch.stack([ev * cos - od * sin, od * cos + ev * sin], dim=-1).flatten(-2)
        return torch.cat([rot, t[..., r:]], dim=-1)

    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    x = sd["model.embed_tokens.weight"][ids]
    for li in range(LAYERS):
        p = f"model.layers.{li}."
        h = rms(x, sd[p + "input_layernorm.weight"])
        q = (h @ sd[p + "self_attn.q_proj.weight"].T + sd[p + "self_attn.q_proj.bias"]).view(n, HEADS, HEAD_DIM)
        k = (h @ sd[p + "self_attn.k_proj.weight"].T + sd[p + "self_attn.k_proj.bias"]).view(n, kv_heads, HEAD_DIM)
        v = (h @ sd[p + "self_attn.v_proj.weight"].T + sd[p + "self_attn.v_proj.bias"]).view(n, kv_heads, HEAD_DIM)
        q, k = rope(q), rope(k)
        rep = HEADS // kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        s = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(HEAD_DIM)
        s = s.masked_fill(mask[None], float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = torch.einsum("hqk,khd->qhd", a, v).reshape(n, HEADS * HEAD_DIM)
        o = o @ sd[p + "self_attn.o_proj.weight"].T
        if glm4:
            o = rms(o, sd[p + "post_self_attn_layernorm.weight"])
        x = x + o
        h = rms(x, sd[p + "post_attention_layernorm.weight"])
        gate, up = (h @ sd[p + "mlp.gate_up_proj.weight"].T).chunk(2, dim=-1)
        m = (up * torch.nn.functional.silu(gate)) @ sd[p + "mlp.down_proj.weight"].T
        if glm4:
            m = rms(m, sd[p + "post_mlp_layernorm.weight"])
        x = x + m
    x = rms(x[positions], sd["model.norm.weight"])
    return x @ sd["lm_head.weight"].T


# ---------------------------------------------------------------------------
# chatglm layout

CHATGLM_CONFIG = {
    "architectures": ["ChatGLMModel"], "model_type": "chatglm",
    "num_layers": LAYERS, "hidden_size": HIDDEN, "ffn_hidden_size": FFN, "kv_channels": HEAD_DIM,
    "num_attention_heads": HEADS, "multi_query_attention": True, "multi_query_group_num": 2,
    "padded_vocab_size": VOCAB, "seq_length": 4096, "rope_ratio": 500, "layernorm_epsilon": EPS,
    "rmsnorm": True, "add_qkv_bias": True, "add_bias_linear": False, "post_layer_norm": True,
    "original_rope": True, "apply_residual_connection_post_layernorm": False,
    "apply_query_key_layer_scaling": True, "attention_softmax_in_fp32": True, "fp32_residual_connection": False,
    "tie_word_embeddings": False, "torch_dtype": "float16", "eos_token_id": list(EOS), "pad_token_id": PAD,
}


def hf_to_chatglm(hf, dtype):
    out = {"transformer.embedding.word_embeddings.weight": hf["model.embed_tokens.weight"]}
    for li in range(LAYERS):
        p, c = f"model.layers.{li}.", f"transformer.encoder.layers.{li}."
        out[c + "input_layernorm.weight"] = hf[p + "input_layernorm.weight"]
        out[c + "self_attention.query_key_value.weight"] = torch.cat(
            [hf[p + f"self_attn.{x}_proj.weight"] for x in "qkv"], dim=0)
        out[c + "self_attention.query_key_value.bias"] = torch.cat(
            [hf[p + f"self_attn.{x}_proj.bias"] for x in "qkv"], dim=0)
        out[c + "self_attention.dense.weight"] = hf[p + "self_attn.o_proj.weight"]
        out[c + "post_attention_layernorm.weight"] = hf[p + "post_attention_layernorm.weight"]
        out[c + "mlp.dense_h_to_4h.weight"] = hf[p + "mlp.gate_up_proj.weight"]
        out[c + "mlp.dense_4h_to_h.weight"] = hf[p + "mlp.down_proj.weight"]
    out["transformer.encoder.final_layernorm.weight"] = hf["model.norm.weight"]
    out["transformer.output_layer.weight"] = hf["lm_head.weight"]
    out = {k: v.to(dtype).contiguous() for k, v in out.items()}
    # real checkpoints carry this buffer (base 10000, before rope_ratio): engines must ignore it
    out["transformer.rotary_pos_emb.inv_freq"] = (
        1.0 / (10000.0 ** (torch.arange(0, ROT_DIM, 2, dtype=torch.float32) / ROT_DIM))).contiguous()
    return out


def chatglm_to_hf(cg, cfg):
    q_rows = cfg["num_attention_heads"] * cfg["kv_channels"]
    kv_rows = cfg["multi_query_group_num"] * cfg["kv_channels"]
    hf = {"model.embed_tokens.weight": cg["transformer.embedding.word_embeddings.weight"]}
    for li in range(cfg["num_layers"]):
        p, c = f"model.layers.{li}.", f"transformer.encoder.layers.{li}."
        hf[p + "input_layernorm.weight"] = cg[c + "input_layernorm.weight"]
        w = cg[c + "self_attention.query_key_value.weight"]
        b = cg[c + "self_attention.query_key_value.bias"]
        for name, lo, hi in (("q", 0, q_rows), ("k", q_rows, q_rows + kv_rows),
                             ("v", q_rows + kv_rows, q_rows + 2 * kv_rows)):
            hf[p + f"self_attn.{name}_proj.weight"] = w[lo:hi].clone()
            hf[p + f"self_attn.{name}_proj.bias"] = b[lo:hi].clone()
        hf[p + "self_attn.o_proj.weight"] = cg[c + "self_attention.dense.weight"]
        hf[p + "post_attention_layernorm.weight"] = cg[c + "post_attention_layernorm.weight"]
        hf[p + "mlp.gate_up_proj.weight"] = cg[c + "mlp.dense_h_to_4h.weight"]
        hf[p + "mlp.down_proj.weight"] = cg[c + "mlp.dense_4h_to_h.weight"]
    hf["model.norm.weight"] = cg["transformer.encoder.final_layernorm.weight"]
    hf["lm_head.weight"] = cg["transformer.output_layer.weight"]
    return {k: v.contiguous() for k, v in hf.items()}


# ---------------------------------------------------------------------------

def build_fixture(fx, outdir, versions, built_configs):
    import transformers  # noqa: F401
    from safetensors.torch import save_file
    name = fx["name"]
    folder = os.path.join(outdir, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    dtype = DTYPES[fx["dtype"]]
    glm4 = fx["arch"] == "glm4"
    _, model_cls = tf_classes(fx["arch"])
    info = {"name": name, "layout": fx["layout"], "weights_dtype": fx["dtype"],
            "architecture": model_cls.__name__, "rope_requested": fx["rope"]}
    tmp = None

    # --- build + save -------------------------------------------------------
    if fx["layout"] == "chatglm":
        src = os.path.join(outdir, fx["from"])
        if not os.path.exists(os.path.join(src, "model.safetensors")):
            raise RuntimeError(f"source fixture {fx['from']} missing")
        hf_src, _ = read_tensors(src)
        cg = hf_to_chatglm(hf_src, dtype)
        save_file(cg, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(folder, "config.json"), "w") as fh:
            json.dump(CHATGLM_CONFIG, fh, indent=2)
            fh.write("\n")
        # how much the fp16 rewrite changed the bf16 weights (informative)
        worst = 0.0
        back = chatglm_to_hf(cg, CHATGLM_CONFIG)
        for k, v in hf_src.items():
            d = (back[k].double() - v.double()).abs().max().item()
            worst = max(worst, d)
        log(f"  max |f16 - bf16| over all weights: {worst:.3e}")
        info["max_abs_diff_vs_source_bf16"] = worst
        # reference model: map back to HF glm naming in a temp folder, theta 10000 * rope_ratio
        tmp = tempfile.mkdtemp(prefix="chatglm-ref-")
        theta = 10000.0 * CHATGLM_CONFIG["rope_ratio"]
        cfg = make_config("glm", CHATGLM_CONFIG["multi_query_group_num"],
                          {"rope_type": "default", "rope_theta": theta, "partial_rotary_factor": 0.5})
        cfg.save_pretrained(tmp)
        save_file(chatglm_to_hf(read_tensors_single(os.path.join(folder, "model.safetensors")), CHATGLM_CONFIG),
                  os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        load_folder = tmp
        info["reference_note"] = ("chatglm tensors as stored (float16) mapped to GlmForCausalLM names "
                                  "(query_key_value rows split 128/64/64), rope_theta = 10000 * rope_ratio = 5e6")
    else:
        torch.manual_seed(fx["seed"])
        cfg = make_config(fx["arch"], fx["kv_heads"], fx["rope"])
        model = model_cls(cfg)
        model.eval()
        inv, scale, nmods, inv_dtype = rope_state(model)
        exp_inv, exp_scale = expected_inv_freq(fx["rope"])
        log(f"  built: rotary modules {nmods}, inv_freq dtype {inv_dtype}")
        log(f"  inv_freq (transformers) = {inv.tolist()}")
        log(f"  inv_freq (own formula)  = {exp_inv.tolist()}")
        log(f"  attention_scaling transformers {scale!r}, own formula {exp_scale!r}")
        if inv.shape[0] != ROT_DIM // 2:
            raise RuntimeError(f"inv_freq has {inv.shape[0]} entries, wanted {ROT_DIM // 2} (partial rotary ignored?)")
        rel = float(((inv - exp_inv).abs() / exp_inv).max())
        info["inv_freq_max_rel_vs_own_formula"] = rel
        log(f"  inv_freq max rel diff vs own float64 formula: {rel:.3e}")
        if fx["rope"]["rope_type"] == "default" and rel > 1e-6:
            raise RuntimeError(f"inv_freq does not match rope_theta {fx['rope']['rope_theta']} (rel {rel:.3e})")
        if fx["rope"]["rope_type"] != "default" and (rel > 1e-5 or abs(scale - exp_scale) > 1e-6):
            log("  WARNING: scaled rope differs from own formula (kept transformers' values)")
        randomize(model, fx["seed"])
        save_model(model, folder, dtype, fx.get("shard"))
        built_configs[name] = cfg
        load_folder = folder

    files = list_folder(folder)
    log(f"  files: {files}")
    with open(os.path.join(folder, "config.json")) as fh:
        cfg_text = fh.read()
    log(f"  config.json as written:\n{cfg_text}")
    if fx.get("shard"):
        if "model.safetensors.index.json" not in files or sum(f.endswith(".safetensors") for f in files) < 2:
            log("  WARNING: save_pretrained did not shard; writing own shards + index")
            stored, _ = read_tensors(folder)
            write_own_shards(folder, stored)
            info["sharded_by"] = "make_fixtures.py fallback"
        else:
            info["sharded_by"] = "save_pretrained"
        files = list_folder(folder)
        with open(os.path.join(folder, "model.safetensors.index.json")) as fh:
            log(f"  index: {fh.read()}")
    stored, metas = read_tensors(folder)
    describe_tensors(stored)
    log(f"  safetensors metadata: {metas}")
    info["stored_dtypes"] = sorted({str(t.dtype) for t in stored.values()})
    wrong = [k for k, t in stored.items() if t.dtype != dtype and not k.endswith("inv_freq")]
    if wrong:
        raise RuntimeError(f"tensors not stored as {fx['dtype']}: {wrong}")

    # --- reference: float64, eager, CPU -----------------------------------------
    ref_stored, _ = read_tensors(load_folder)
    m64 = from_pretrained(model_cls, load_folder, torch.float64)
    check_against_stored(m64, ref_stored, torch.float64)
    inv, scale, nmods, inv_dtype = rope_state(m64)
    log(f"  reloaded float64 model: inv_freq {inv.tolist()} (buffer dtype {inv_dtype}), attention_scaling {scale!r}")
    exp_inv, exp_scale = expected_inv_freq(fx["rope"])
    rel = float(((inv - exp_inv).abs() / exp_inv).max())
    log(f"  reloaded inv_freq max rel diff vs own formula: {rel:.3e}")
    if fx["rope"]["rope_type"] == "default" and rel > 1e-6:
        raise RuntimeError("reloaded config gives wrong inv_freq (rope base lost in config.json round trip?)")
    info["inv_freq"] = inv.tolist()
    info["attention_scaling"] = scale
    info["rope_config_as_loaded"] = json_safe(getattr(m64.config, "rope_parameters", None))
    info["partial_rotary_factor_as_loaded"] = json_safe(getattr(m64.config, "partial_rotary_factor", None))

    m32 = from_pretrained(model_cls, load_folder, torch.float32)
    mnat = None
    if dtype != torch.float32:
        try:
            mnat = from_pretrained(model_cls, load_folder, dtype)
        except Exception as e:  # noqa: BLE001
            log(f"  native-dtype model failed: {e}")
    own_sd = {k: v for k, v in ref_stored.items()}

    tensors = {"rope.inv_freq": inv.to(torch.float64).contiguous(),
               "rope.attention_scaling": torch.tensor([scale], dtype=torch.float64)}
    cases_info = []
    for ci, case in enumerate(CASES):
        ids = case_ids(case)
        pos = torch.tensor(case["positions"], dtype=torch.int64)
        t0 = time.time()
        l64 = hf_logits(m64, ids, pos)
        t64 = time.time() - t0
        assert l64.dtype == torch.float64, l64.dtype
        l32 = hf_logits(m32, ids, pos)
        c = {"n": case["n"], "positions": case["positions"],
             "logits_l2_fp64": float(l64.norm()),
             "logits_std_fp64": float(l64.std()),
             "logits_maxabs_fp64": float(l64.abs().max()),
             "relerr_fp32_vs_fp64": relerr(l32, l64),
             "maxabs_fp32_vs_fp64": float((l32.double() - l64).abs().max()),
             "relerr_f32_rounded_reference": relerr(l64.float(), l64)}
        if mnat is not None:
            try:
                c[f"relerr_{fx['dtype']}_compute_vs_fp64"] = relerr(hf_logits(mnat, ids, pos), l64)
            except Exception as e:  # noqa: BLE001
                c[f"relerr_{fx['dtype']}_compute_vs_fp64"] = f"failed: {e}"
        try:
            lown = own_forward(own_sd, m64.config.num_key_value_heads, glm4, inv, scale, ids, pos)
            c["relerr_own_fp64_impl_vs_transformers"] = relerr(lown, l64)
        except Exception as e:  # noqa: BLE001
            c["relerr_own_fp64_impl_vs_transformers"] = f"failed: {e}"
            traceback.print_exc()
        # does the rope base matter here? logits with inv_freq of a 10x larger base
        try:
            mods = rotary_modules(m64)
            saved = [m.inv_freq.clone() for m in mods]
            theta = float(fx["rope"]["rope_theta"])
            alt = 1.0 / ((10 * theta) ** (torch.arange(0, ROT_DIM, 2, dtype=torch.float64) / ROT_DIM))
            for m in mods:
                m.inv_freq.copy_(alt.to(m.inv_freq.dtype))
            lalt = hf_logits(m64, ids, pos)
            for m, s in zip(mods, saved):
                m.inv_freq.copy_(s)
            c["relchange_if_rope_base_x10"] = relerr(lalt, l64)
        except Exception as e:  # noqa: BLE001
            c["relchange_if_rope_base_x10"] = f"failed: {e}"
        log(f"  case{ci}: n={case['n']} positions={case['positions']} fp64 {t64:.1f}s " +
            " ".join(f"{k}={v:.3e}" if isinstance(v, float) else f"{k}={v}" for k, v in c.items()
                     if k not in ("n", "positions")))
        tensors[f"case{ci}.ids"] = ids.to(torch.int32).contiguous()
        tensors[f"case{ci}.positions"] = pos.to(torch.int32).contiguous()
        tensors[f"case{ci}.logits"] = l64.to(torch.float32).contiguous()
        cases_info.append(c)

    save_file(tensors, os.path.join(folder, "expected.safetensors"), metadata={"format": "pt"})
    info.update(versions)
    info["reference_compute"] = ("transformers on CPU, weights as stored upcast to float64, "
                                 "attn_implementation=eager, use_cache=False; rope angles computed by "
                                 "transformers in float32 (inv_freq buffer float32, cos/sin then cast to float64)")
    info["cases"] = cases_info
    info["token_ids"] = f"torch.randint(0, {ID_LIMIT}, (n,), generator=torch.Generator().manual_seed(seed))"
    info["case_seeds"] = [c["seed"] for c in CASES]
    info["init"] = {"linear_std": STD_LINEAR, "q_k_proj_std": STD_QK, "bias_std": STD_BIAS,
                    "embed_std": STD_EMBED, "lm_head_std": STD_LM_HEAD,
                    "norm_weights": f"uniform [1-{NORM_SPREAD}, 1+{NORM_SPREAD}]", "seed": fx.get("seed")}
    info["files"] = list_folder(folder)
    with open(os.path.join(folder, "expected.json"), "w") as fh:
        json.dump(info, fh, indent=2)
        fh.write("\n")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def read_tensors_single(path):
    from safetensors.torch import load_file
    return load_file(path)


def json_safe(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        if isinstance(v, dict):
            return {str(k): json_safe(x) for k, x in v.items()}
        return repr(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/fixtures")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    import transformers
    import safetensors
    versions = {"transformers": transformers.__version__, "torch": torch.__version__,
                "safetensors": getattr(safetensors, "__version__", "?"), "python": sys.version.split()[0]}
    banner(f"versions: {versions}; threads {torch.get_num_threads()}")
    for cls_name in ("GlmConfig", "Glm4Config"):
        cls = getattr(transformers, cls_name)
        try:
            log(f"{cls_name}.__init__{inspect.signature(cls.__init__)}")
        except Exception as e:  # noqa: BLE001
            log(f"{cls_name}: signature unavailable: {e}")
    for fn in ("save_pretrained", "from_pretrained"):
        try:
            log(f"PreTrainedModel.{fn}{inspect.signature(getattr(transformers.PreTrainedModel, fn))}")
        except Exception as e:  # noqa: BLE001
            log(f"{fn}: {e}")
    try:
        from transformers.models.glm import modeling_glm
        src = inspect.getsource(modeling_glm.GlmRotaryEmbedding)
        log("GlmRotaryEmbedding source:\n" + src[:4000])
        src = inspect.getsource(modeling_glm.GlmRMSNorm.forward)
        log("GlmRMSNorm.forward source:\n" + src)
    except Exception as e:  # noqa: BLE001
        log(f"source unavailable: {e}")

    built_configs = {}
    results = {}
    t_all = time.time()
    for fx in FIXTURES:
        if args.only and fx["name"] not in args.only:
            continue
        banner(f"fixture {fx['name']}")
        t0 = time.time()
        try:
            info = build_fixture(fx, args.out, versions, built_configs)
            results[fx["name"]] = "ok"
            log(f"  OK in {time.time() - t0:.1f}s; files {info['files']}")
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            results[fx["name"]] = f"FAILED: {type(e).__name__}: {e}"
            sys.stdout.flush()
    banner("summary")
    for k, v in results.items():
        log(f"  {k:20s} {v}")
        p = os.path.join(args.out, k, "expected.json")
        if os.path.exists(p):
            with open(p) as fh:
                info = json.load(fh)
            for ci, c in enumerate(info["cases"]):
                log(f"    case{ci} l2={c['logits_l2_fp64']:.4f} fp32rel={c['relerr_fp32_vs_fp64']:.3e} "
                    f"own={c['relerr_own_fp64_impl_vs_transformers']} ropex10={c['relchange_if_rope_base_x10']}")
    total = 0
    for root, _, fs in os.walk(args.out):
        for f in fs:
            total += os.path.getsize(os.path.join(root, f))
    log(f"  total size {total} bytes; {time.time() - t_all:.1f}s")
    return 0 if all(v == "ok" for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
