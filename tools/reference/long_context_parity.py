#!/usr/bin/env python3
"""Long-context parity of the CUDA backend against transformers (tools/device/run.sh, stage parity).
make:    builds a GLM-4-9B-shaped GlmForCausalLM cut to a few layers (random weights, bf16, rope base 5e6
         through rope_parameters, checked on inv_freq), saves it (safetensors), writes random token ids
         of 32K and 128K tokens and transformers' last-position logits (SDPA, bf16: the reference's own
         precision is that of bf16 activations; at 32K an fp32 run is recorded too to show it).
compare: reads our `glmchat-cli logits --backend cuda` JSON and prints the relative error ||ours-ref||/||ref||
         and whether the top-1 token agrees."""
import argparse, json, os, sys
import torch

ap = argparse.ArgumentParser()
ap.add_argument('mode', choices=['make', 'compare'])
ap.add_argument('--dir', required=True)
ap.add_argument('--layers', type=int, default=2)
ap.add_argument('--out')
args = ap.parse_args()
LENS = (32768, 131072)

if args.mode == 'make':
    from transformers import GlmConfig, GlmForCausalLM
    os.makedirs(args.dir, exist_ok=True)
    torch.manual_seed(0)
    cfg = GlmConfig(vocab_size=151552, hidden_size=4096, intermediate_size=13696, num_hidden_layers=args.layers,
                    num_attention_heads=32, num_key_value_heads=2, head_dim=128, attention_bias=True,
                    max_position_embeddings=131072, rms_norm_eps=1.5625e-07, initializer_range=0.02,
                    rope_parameters={'rope_type': 'default', 'rope_theta': 5e6, 'partial_rotary_factor': 0.5})
    cfg._attn_implementation = 'sdpa'
    with torch.device('cuda'):
        model = GlmForCausalLM(cfg)
    # Non-zero biases and norm weights, so those paths count too.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias'): p.normal_(0, 0.5)
            if 'norm' in name: p.normal_(1.0, 0.2)
    # .to(bfloat16) would also round the rotary inv_freq buffer to bf16 (angles off by ~1e-3 relative,
    # radians off at long positions); from_pretrained keeps it fp32, so restore it.
    inv32 = model.model.rotary_emb.inv_freq.detach().clone().float()
    model = model.to(torch.bfloat16).eval()
    model.model.rotary_emb.inv_freq = inv32
    if hasattr(model.model.rotary_emb, 'original_inv_freq'):
        model.model.rotary_emb.original_inv_freq = inv32
    inv = model.model.rotary_emb.inv_freq.float().cpu()
    want = 1.0 / (5e6 ** (torch.arange(0, 64, 2, dtype=torch.float64) / 64))
    inv_ok = bool(torch.allclose(inv.double(), want, rtol=1e-5))
    print('inv_freq matches theta 5e6 (partial 0.5, 32 pairs):', inv_ok, inv[:3].tolist(), flush=True)
    model.save_pretrained(os.path.join(args.dir, 'model'), safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 151552, (1, max(LENS)), generator=g)
    meta = {'inv_freq_ok': inv_ok, 'layers': args.layers, 'reference': 'transformers GlmForCausalLM, sdpa, bf16'}
    for n in LENS:
        with open(os.path.join(args.dir, f'ids_{n}.txt'), 'w') as f:
            f.write(' '.join(map(str, ids[0, :n].tolist())))
        with torch.no_grad():
            lg = model(input_ids=ids[:, :n].cuda(), logits_to_keep=1, use_cache=False).logits[0, -1].float().cpu()
        torch.save(lg, os.path.join(args.dir, f'ref_{n}.pt'))
        print(f'reference logits at {n}: top-1 {int(lg.argmax())}, norm {lg.norm():.3f}', flush=True)
    json.dump(meta, open(os.path.join(args.dir, 'meta.json'), 'w'))
else:
    meta = json.load(open(os.path.join(args.dir, 'meta.json')))
    out = dict(meta, results=[])
    for n in LENS:
        p = os.path.join(args.dir, f'ours_{n}.json')
        if not os.path.exists(p):
            print(f'{n}: no output of ours'); continue
        ours = torch.tensor(json.load(open(p))['logits'][0], dtype=torch.float64)
        ref = torch.load(os.path.join(args.dir, f'ref_{n}.pt')).double()
        r = {'tokens': n, 'rel_error': float((ours - ref).norm() / ref.norm()),
             'top1_same': int(ours.argmax()) == int(ref.argmax()), 'ours_top1': int(ours.argmax()), 'ref_top1': int(ref.argmax())}
        f32 = os.path.join(args.dir, f'ref32_{n}.pt')
        if os.path.exists(f32):
            r32 = torch.load(f32).double()
            r['rel_error_vs_fp32_reference'] = float((ours - r32).norm() / r32.norm())
        out['results'].append(r)
        print(json.dumps(r))
    if args.out: json.dump(out, open(args.out, 'w'), indent=1)
