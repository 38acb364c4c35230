#!/usr/bin/env python3
"""Per-kernel times of one decode step from an ncu CSV (--csv --page raw --metrics gpu__time_duration.sum).
The step is the kernels between the last two argmax launches (greedy decoding ends each step with one).
Prints the total, then per kernel (name, grid): count, sum and mean in microseconds."""
import csv, sys, collections

path = sys.argv[1]
rows = []
with open(path, newline='') as f:
    lines = [l for l in f if l.startswith('"')]
reader = csv.reader(lines)
header = next(reader)
name_i = header.index('Kernel Name')
grid_i = header.index('Grid Size') if 'Grid Size' in header else None
block_i = header.index('Block Size') if 'Block Size' in header else None
t_i = header.index('gpu__time_duration.sum')
unit = None
for r in reader:
    if len(r) <= t_i: continue
    v = r[t_i].replace(',', '')
    try: val = float(v)
    except ValueError:
        unit = v; continue  # the units row
    rows.append((r[name_i], r[grid_i] if grid_i is not None else '', r[block_i] if block_i is not None else '', val))
scale = {'nsecond': 1e-3, 'usecond': 1.0, 'msecond': 1e3, 'ns': 1e-3, 'us': 1.0, 'ms': 1e3}.get(unit, 1e-3)
marks = [i for i, r in enumerate(rows) if 'argmax' in r[0]]
if len(marks) < 2:
    print(f"ncu_step: {len(rows)} kernels, {len(marks)} argmax launches: no whole step found"); sys.exit(1)
step = rows[marks[-2] + 1: marks[-1] + 1]
total = sum(r[3] for r in step) * scale
agg = collections.OrderedDict()
for n, g, b, t in step:
    short = n.split('(')[0].replace('void ', '').split('::')[-1]
    key = (short[:60], g, b)
    c, s = agg.get(key, (0, 0.0))
    agg[key] = (c + 1, s + t * scale)
print(f"decode step: {len(step)} kernels, sum of kernel times {total:.1f} us")
for (n, g, b), (c, s) in sorted(agg.items(), key=lambda kv: -kv[1][1]):
    print(f"  {n:60s} grid {g:>16s} block {b:>12s}  x{c:4d}  {s:8.1f} us  ({s / c:6.2f} each)")
