/**
 * A small benchmark harness. The machines are shared and noisy, so a
 * comparison interleaves short rounds of the subject and its baseline and
 * reports medians: the ratio is steadier than either rate.
 */
export interface Rate { opsPerSec: number }
export interface Comparison { subject: number; baseline: number; ratio: number }

function round(fn: () => unknown, ms: number): number {
  let n = 0
  const start = performance.now()
  const end = start + ms
  let now = start
  while (now < end) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    now = performance.now()
  }
  return (n * 1000) / (now - start)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export function compare(subject: () => unknown, baseline: () => unknown, { rounds = 9, ms = 150 } = {}): Comparison {
  round(subject, ms)
  round(baseline, ms)
  const s: number[] = []
  const b: number[] = []
  const r: number[] = []
  for (let i = 0; i < rounds; i++) {
    const x = round(subject, ms)
    const y = round(baseline, ms)
    s.push(x); b.push(y); r.push(x / y)
  }
  return { subject: median(s), baseline: median(b), ratio: median(r) }
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
