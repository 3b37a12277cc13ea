/** What one run of a case gave: its outputs, or the first line of the error it threw. */
export type Outcome =
  | { outputs: { shape: number[]; dtype: string; values: number[] }[]; leaked: number }
  | { error: string; leaked: number };

/**
 * Why `got` differs from the reference `ref`, or null when it matches. NaN equals NaN and
 * infinities must match exactly. With `exact` (elementwise kernels that round as stock does),
 * every value must be identical, the sign of zero included; otherwise a finite value may differ
 * by `tolerance` times the largest finite |ref| of that output (at least 1), since sums run in
 * another order.
 */
export function difference(got: Outcome, ref: Outcome, exact: boolean, tolerance = 1e-4): string | null {
  if ('error' in ref || 'error' in got) {
    if ('error' in ref && 'error' in got) return got.error === ref.error ? null : `error "${got.error}", stock "${ref.error}"`;
    return 'error' in got ? `threw "${got.error}", stock did not` : `did not throw, stock threw "${(ref as { error: string }).error}"`;
  }
  if (got.outputs.length !== ref.outputs.length) return `${got.outputs.length} outputs, stock ${ref.outputs.length}`;
  for (const [i, r] of ref.outputs.entries()) {
    const g = got.outputs[i]!;
    if (g.dtype !== r.dtype || g.shape.join() !== r.shape.join()) {
      return `output ${i}: ${g.dtype}[${g.shape}], stock ${r.dtype}[${r.shape}]`;
    }
    // A loop, not Math.max(...values): spreading a large output overflows the call stack.
    const scale = r.values.reduce((m, v) => (Number.isFinite(v) && Math.abs(v) > m ? Math.abs(v) : m), 1);
    for (const [j, want] of r.values.entries()) {
      const have = g.values[j]!;
      const same = Object.is(have, want) || (Number.isNaN(have) && Number.isNaN(want));
      const close = !exact && Number.isFinite(want) && Math.abs(have - want) <= tolerance * scale;
      if (!same && !close && !(!exact && have === want)) return `output ${i}[${j}] = ${have}, stock ${want}`;
    }
  }
  return null;
}
