#!/usr/bin/env python3
"""Peers for the CUDA backend's figures, run on the same GPU in the same call (tools/device/run.sh):
- PyTorch SDPA, causal, GQA 32 query / 2 KV heads, head dim 128, bf16, flash and cuDNN backends, at
  4K/16K/32K tokens, in TFLOP/s counted as FlashAttention does (4*S^2*d*heads/2);
- transformers GlmForCausalLM (SDPA), GLM-4-9B shape with random bf16 weights, prefill (one forward,
  logits for the last position) at 32K and 128K tokens."""
import argparse, json, time
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

ap = argparse.ArgumentParser()
ap.add_argument('--out', required=True)
ap.add_argument('--layers', type=int, default=40)
args = ap.parse_args()
res = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0), 'sdpa': [], 'transformers_prefill': []}

def bench(fn, reps):
    fn(); fn(); torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True); b = torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize(); ts.append(a.elapsed_time(b))
    ts.sort(); return ts[len(ts) // 2]

for S in (4096, 16384, 32768):
    q = torch.randn(1, 32, S, 128, device='cuda', dtype=torch.bfloat16)
    k = torch.randn(1, 2, S, 128, device='cuda', dtype=torch.bfloat16)
    v = torch.randn(1, 2, S, 128, device='cuda', dtype=torch.bfloat16)
    for name, be in (('flash', SDPBackend.FLASH_ATTENTION), ('cudnn', SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(be):
                ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True), 10)
            tf = 4 * S * S * 128 * 32 / 2 / ms / 1e9
            res['sdpa'].append({'backend': name, 'seqlen': S, 'ms': ms, 'TFLOPs': tf})
            print(f'sdpa {name} {S}: {ms:.3f} ms {tf:.0f} TFLOP/s', flush=True)
        except Exception as e:
            print(f'sdpa {name} {S}: failed: {e}', flush=True)
    del q, k, v
torch.cuda.empty_cache()

try:
    import transformers
    from transformers import GlmConfig, GlmForCausalLM
    res['transformers'] = transformers.__version__
    cfg = GlmConfig(vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=args.layers,
                    num_attention_heads=32, num_key_value_heads=2, head_dim=128, attention_bias=True,
                    max_position_embeddings=131072, rms_norm_eps=1.5625e-07,
                    rope_parameters={'rope_type': 'default', 'rope_theta': 5e6, 'partial_rotary_factor': 0.5})
    cfg._attn_implementation = 'sdpa'
    torch.set_default_dtype(torch.bfloat16)
    with torch.device('cuda'):
        model = GlmForCausalLM(cfg).eval()
    torch.set_default_dtype(torch.float32)
    print('inv_freq[:3]', model.model.rotary_emb.inv_freq[:3].tolist(), flush=True)
    g = torch.Generator().manual_seed(0)
    for n in (1024, 32768, 131072):
        ids = torch.randint(0, 151552, (1, n), generator=g).cuda()
        with torch.no_grad():
            torch.cuda.synchronize(); t0 = time.perf_counter()
            model(input_ids=ids, logits_to_keep=1, use_cache=False)
            torch.cuda.synchronize(); dt = time.perf_counter() - t0
        if n > 1024:  # 1K is the warm-up
            res['transformers_prefill'].append({'tokens': n, 'seconds': dt, 'layers': args.layers,
                                                'peak_gib': torch.cuda.max_memory_allocated() / 2**30})
        print(f'transformers prefill {n}: {dt:.2f} s (peak {torch.cuda.max_memory_allocated()/2**30:.1f} GiB)', flush=True)
except Exception as e:
    print('transformers prefill failed:', repr(e), flush=True)
json.dump(res, open(args.out, 'w'), indent=1)
