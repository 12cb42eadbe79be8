import { describe, expect, it } from 'vitest'
import { addFirewall, firewallFor, removeFirewall, type FirewallState } from '../../../src/egress/firewall.js'
import type { Privilege } from '../../../src/isolation.js'

/** A stand-in for root that keeps the rules in memory, as iptables would, and records each command. */
function fakeTables(): Privilege & { commands: string[]; chains: Map<string, string[]> } {
  const chains = new Map<string, string[]>([['iptables OUTPUT', ['-j OTHER-TOOL']], ['ip6tables OUTPUT', []], ['iptables CODEX-ACTION-OTHER', ['-j REJECT']]])
  const commands: string[] = []
  return {
    isRoot: true,
    commands,
    chains,
    async asRoot(tool, args) {
      commands.push(`${tool} ${args.join(' ')}`)
      const [, verb, chain = '', ...rest] = args
      const key = `${tool} ${chain}`
      const rules = chains.get(key)
      const fail = (why: string): never => {
        throw new Error(why)
      }
      switch (verb) {
        case '-N':
          return rules ? fail('Chain already exists') : (chains.set(key, []), '')
        case '-A':
          return rules ? (rules.push(rest.join(' ')), '') : fail('No chain')
        case '-I':
          return rules ? (rules.splice(Number(rest[0]) - 1, 0, rest.slice(1).join(' ')), '') : fail('No chain')
        case '-C':
          return rules?.includes(rest.join(' ')) ? '' : fail('Bad rule')
        case '-D': {
          const at = rules?.indexOf(rest.join(' ')) ?? -1
          return at < 0 ? fail('Bad rule') : (rules?.splice(at, 1), '')
        }
        case '-S':
          return rules ? rules.join('\n') : fail('No chain')
        case '-F':
          return rules ? ((rules.length = 0), '') : fail('No chain')
        case '-X':
          return rules?.length === 0 ? (chains.delete(key), '') : fail('Chain not empty')
        default:
          return fail(`unexpected ${verb}`)
      }
    }
  }
}

describe('the run firewall', () => {
  const firewall: FirewallState = { chain: 'CODEX-ACTION-ABC', uid: 1234567, families: ['ipv4', 'ipv6'] }

  it('names a chain after the agent uid', () => {
    expect(firewallFor(1234567).chain).toBe(`CODEX-ACTION-${(1234567).toString(36).toUpperCase()}`)
    expect(firewallFor(1234567).chain.length).toBeLessThanOrEqual(28)
  })

  it('accepts only the given destinations, rejects the rest, and jumps to it first for the agent uid only', async () => {
    const tables = fakeTables()
    await addFirewall(tables, firewall, [{ address: '127.0.0.1', port: 4000 }, { address: '127.0.0.1', port: 4001 }, { address: '::1', port: 5432 }])
    expect(tables.chains.get('iptables CODEX-ACTION-ABC')).toEqual([
      '-d 127.0.0.1 -p tcp --dport 4000 -j ACCEPT',
      '-d 127.0.0.1 -p tcp --dport 4001 -j ACCEPT',
      '-p tcp -j REJECT --reject-with tcp-reset',
      '-j REJECT --reject-with icmp-port-unreachable'
    ])
    expect(tables.chains.get('ip6tables CODEX-ACTION-ABC')).toEqual([
      '-d ::1 -p tcp --dport 5432 -j ACCEPT',
      '-p tcp -j REJECT --reject-with tcp-reset',
      '-j REJECT --reject-with icmp6-port-unreachable'
    ])
    expect(tables.chains.get('iptables OUTPUT')).toEqual(['-m owner --uid-owner 1234567 -j CODEX-ACTION-ABC', '-j OTHER-TOOL'])
    expect(tables.commands.every((command) => command.split(' ')[1] === '-w')).toBe(true)
  })

  it('removes its own chain and jump, twice over, and nothing of another run', async () => {
    const tables = fakeTables()
    await addFirewall(tables, firewall, [{ address: '127.0.0.1', port: 4000 }])
    tables.chains.get('iptables OUTPUT')?.unshift('-m owner --uid-owner 1234567 -j CODEX-ACTION-ABC')
    expect(await removeFirewall(tables, firewall)).toEqual([])
    expect(await removeFirewall(tables, firewall)).toEqual([])
    expect([...tables.chains.keys()].sort()).toEqual(['ip6tables OUTPUT', 'iptables CODEX-ACTION-OTHER', 'iptables OUTPUT'])
    expect(tables.chains.get('iptables OUTPUT')).toEqual(['-j OTHER-TOOL'])
    expect(await removeFirewall(undefined, firewall)).toEqual(['the firewall chain CODEX-ACTION-ABC (no root or sudo in this step)'])
  })
})
