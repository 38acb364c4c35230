#!/usr/bin/env python3
"""The short table at the end of tools/device/run.sh: our figures next to the peers', with ratios.
Reads OUTDIR/{selftest.txt,kernels.jsonl,bench.json,peers.json,parity.json}; missing parts are skipped."""
import json, os, re, sys

out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p): return None
    with open(p) as f:
        if name.endswith('.jsonl'):
            return [json.loads(l) for l in f if l.strip().startswith('{')]
        try: return json.load(f)
        except Exception: return None

rows = []
st = os.path.join(out, 'selftest.txt')
if os.path.exists(st):
    text = open(st).read()
    m = re.search(r'(\d+) checks, (\d+) passed, (\d+) failed', text)
    rows.append(('selftest --backend cuda', m.group(0) if m else 'no summary line', ''))
k = load('kernels.jsonl') or []
peers = load('peers.json') or {}
sdpa = {(r['backend'], r['seqlen']): r['TFLOPs'] for r in peers.get('sdpa', [])}
copy = next((r['GBps'] for r in k if r.get('kernel') == 'copy'), None)
for r in k:
    if r.get('kernel') == 'flash_attention':
        s = r['seqlen']; f = sdpa.get(('flash', s)); c = sdpa.get(('cudnn', s))
        rows.append((f"flash attention {r.get('variant', '')} causal {s//1024}K (TFLOP/s)", f"{r['TFLOPs']:.0f}",
                     f"torch flash {f:.0f} (x{r['TFLOPs']/f:.2f}), cuDNN {c:.0f} (x{r['TFLOPs']/c:.2f})" if f and c else ''))
    elif r.get('kernel') == 'flash_attention_chunk':
        rows.append((f"flash attention {r.get('variant', '')} 2K chunk at 126K (TFLOP/s)", f"{r['TFLOPs']:.0f}", ''))
    elif r.get('kernel') == 'flash_attention_check':
        rows.append((f"hopper vs fa2 rows {r['rows']} at {r['pos0']}", f"{r['max_rel_diff']:.2e}", 'finite' if r['finite'] else 'NOT FINITE'))
    elif r.get('kernel') == 'decode_attention':
        rows.append((f"decode attention {r['len']//1024}K (GB/s)", f"{r['GBps']:.0f}", f"{r['GBps']/copy:.0%} of copy" if copy else ''))
    elif r.get('kernel') == 'gemv':
        rows.append((f"gemv {r['shape']} {r['m']}x{r['k']} (GB/s)", f"{r['GBps']:.0f}", f"{r['GBps']/copy:.0%} of copy" if copy else ''))
    elif r.get('kernel') == 'best_of_row':
        rows.append((f"best {r['count']} of {r['n']} logits (us)", f"{r['us']:.1f}", 'sampling on the device'))
    elif r.get('kernel') == 'copy':
        rows.append(('device copy (GB/s, read+write)', f"{r['GBps']:.0f}", 'memory ceiling'))
b = load('bench.json')
tf = {r['tokens']: r['seconds'] for r in peers.get('transformers_prefill', [])}
if b:
    wbytes = b.get('weights_bytes', 0)
    for r in b['results']:
        ctx = r['context']
        # roofline: weights + KV of the context per token over the measured copy bandwidth
        kv = 40 * 2 * 2 * 128 * 2 * ctx
        roof = copy * 1e9 / (wbytes + kv) if copy and wbytes else None
        rows.append((f"decode at {ctx} (tokens/s)", f"{r['decode_tokens_per_s']:.1f}",
                     f"roofline {roof:.0f} -> {r['decode_tokens_per_s']/roof:.0%}" if roof else ''))
        t = tf.get(ctx) or tf.get(131072 if ctx > 131000 else -1)
        rows.append((f"prefill {ctx} tokens (s)", f"{r['prefill_seconds']:.2f}",
                     f"transformers {t:.2f} s (x{t/r['prefill_seconds']:.2f} faster)" if t else ''))
p = load('parity.json')
if p:
    for r in p.get('results', []):
        rows.append((f"parity vs transformers bf16 at {r['tokens']}", f"rel err {r['rel_error']:.2e}",
                     f"top-1 {'same' if r['top1_same'] else 'DIFFERENT'}; inv_freq ok: {p.get('inv_freq_ok')}"))
w = max((len(a) for a, _, _ in rows), default=10)
for a, bb, c in rows:
    print(f"{a:<{w}}  {bb:>14}  {c}")
