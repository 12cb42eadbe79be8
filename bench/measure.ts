// What every benchmark here reports: medians of interleaved samples, and the machine's load.
import os from 'node:os'

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export function loadAverage(): string {
  return os.loadavg().map((load) => load.toFixed(2)).join(', ')
}
