/** Versions up to 0.38.0 have a sandbox path-escape bug, fixed in 0.39.0. */
export const MINIMUM_CODEX_VERSION = '0.39.0'

const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/

export function isExactVersion(version: string): boolean {
  return EXACT.test(version)
}

/** Orders x.y.z versions; a pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = a.split(/-(.*)/s)
  const [coreB, preB] = b.split(/-(.*)/s)
  const partsA = coreA.split('.').map(Number)
  const partsB = coreB.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if (partsA[i] !== partsB[i]) return partsA[i] - partsB[i]
  }
  if (preA === preB) return 0
  if (preA === undefined) return 1
  if (preB === undefined) return -1
  return preA < preB ? -1 : 1
}
