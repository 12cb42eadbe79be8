// Attacks on Codex's stdout file and the run stage's reading of it (isolation: user, the action as root).
// Each test asserts the SECURE outcome: a failing test here is a hole. With pidfd_getfd (no Yama here;
// Ubuntu's ptrace_scope 1 stops it) a process of the agent's uid takes Codex's own descriptors.
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { scratchRepository } from './harness.js'
import { agentUid, attack, processesOfUid, toolOutput } from './agent-attack.js'

// Takes Codex's stdout (fd 1) and stderr (fd 2), makes the stdout file a terabyte long without writing a byte
// (ftruncate on the write-only descriptor: the action reads holes of NULs), and keeps both descriptors open in a
// background process of its own session that outlives Codex.
const HOLD = String.raw`my $pidfd = syscall(434, $ARGV[0] + 0, 0); my ($o, $e) = map { syscall(438, $pidfd, $_, 0) } 1, 2; die "pidfd_getfd: $!\n" if $o < 0 || $e < 0; open(my $h, ">&=", $o) or die "fdopen: $!\n"; truncate($h, 2**40) or die "truncate: $!\n"; if (fork) { print "holding\n"; exit 0 } POSIX::setsid(); close STDOUT; close STDERR; sleep 3600`

describe("Codex's descriptors kept by the agent after Codex exits (the action as root)", () => {
  it('do not keep the step running: neither a stderr held open nor a terabyte-long sparse stdout file', async () => {
    const repository = scratchRepository()
    const started = Date.now()
    const run = await attack(repository, undefined, [`for p in $(pgrep -u $(id -u) -x codex); do perl -MPOSIX -e '${HOLD}' $p 2>&1; done`], {
      inputs: { 'timeout-minutes': '5' },
      timeoutMs: 8 * 60_000
    })
    expect(toolOutput(0)).toContain('holding')
    expect(Date.now() - started, `main ran this long: ${run.main.stdout.slice(-2000)}`).toBeLessThan(3 * 60_000)
    expect(run.main.stdout).toContain("Codex's output was still being read 60 s after it exited")
    expect(run.main.outputs.conclusion).toBeDefined()
    expect(processesOfUid(agentUid(run))).toEqual([])
    expect(path.basename(run.main.outputs['patch-path'] ?? '')).not.toBe('')
  }, 10 * 60_000)
})
