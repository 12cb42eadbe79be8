/** Wall time of each pipeline stage, for run.json and the closing numbers of a run. */
export class StageClock {
  readonly startedAt = new Date()
  /** `startup`: from the process's start to this clock's (Node itself and loading the bundle). */
  readonly milliseconds: Record<string, number> = { startup: Math.round(performance.now() * 10) / 10 }

  async time<T>(stage: string, work: () => T | Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await work()
    } finally {
      this.milliseconds[stage] = Math.round((performance.now() - started) * 10) / 10
    }
  }
}
