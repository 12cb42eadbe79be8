import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import type { Privilege } from '../isolation.js'

export type Family = 'ipv4' | 'ipv6'

/** What the post step needs to take a run's rules away again. */
export interface FirewallState {
  chain: string
  uid: number
  families: Family[]
}

/** A destination the agent may reach directly, bypassing the egress proxy: the proxies themselves and listed local services. */
export interface DirectDestination {
  address: string
  port: number
}

const TOOL: Record<Family, string> = { ipv4: 'iptables', ipv6: 'ip6tables' }
const REJECT_OTHERS: Record<Family, string> = { ipv4: 'icmp-port-unreachable', ipv6: 'icmp6-port-unreachable' }

/** One chain per run, named after the agent's uid, which no other run of the job ever gets. */
export function firewallFor(uid: number): FirewallState {
  // The kernel would filter IPv6 for nobody where the runner has no IPv6: then only IPv4 rules are needed.
  const families: Family[] = existsSync('/proc/net/if_inet6') ? ['ipv4', 'ipv6'] : ['ipv4']
  return { chain: `CODEX-ACTION-${uid.toString(36).toUpperCase()}`, uid, families }
}

/**
 * Makes the kernel drop every packet the agent's uid sends, whatever program sends it and whatever
 * it unsets, except TCP to the given loopback destinations. The jump sits first in OUTPUT, so
 * no rule another tool added for the runner lets the agent past it.
 */
export async function addFirewall(privilege: Privilege, firewall: FirewallState, direct: DirectDestination[]): Promise<void> {
  for (const family of firewall.families) {
    const table = (args: string[]): Promise<string> => privilege.asRoot(TOOL[family], ['-w', ...args])
    await table(['-N', firewall.chain])
    for (const { address, port } of direct) {
      if (isIP(address) !== (family === 'ipv4' ? 4 : 6)) continue
      await table(['-A', firewall.chain, '-d', address, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT'])
    }
    // TCP gets a reset and everything else an ICMP error, so tools fail at once instead of hanging.
    await table(['-A', firewall.chain, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'])
    await table(['-A', firewall.chain, '-j', 'REJECT', '--reject-with', REJECT_OTHERS[family]])
    await table(['-I', 'OUTPUT', '1', '-m', 'owner', '--uid-owner', String(firewall.uid), '-j', firewall.chain])
  }
}

/** Removes the run's chain and the jump to it, and nothing else; idempotent. Returns what could not be removed. */
export async function removeFirewall(privilege: Privilege | undefined, firewall: FirewallState): Promise<string[]> {
  if (!privilege) return [`the firewall chain ${firewall.chain} (no root or sudo in this step)`]
  const left: string[] = []
  for (const family of firewall.families) {
    const table = (args: string[]): Promise<string> => privilege.asRoot(TOOL[family], ['-w', ...args])
    if (!(await table(['-S', firewall.chain]).then(() => true, () => false))) continue
    const jump = ['OUTPUT', '-m', 'owner', '--uid-owner', String(firewall.uid), '-j', firewall.chain]
    // The same jump may be there twice if main was stopped between adding and saving: take every copy.
    for (let copies = 0; copies < 10 && (await table(['-C', ...jump]).then(() => true, () => false)); copies++) await table(['-D', ...jump])
    try {
      await table(['-F', firewall.chain])
      await table(['-X', firewall.chain])
    } catch (error) {
      left.push(`the ${TOOL[family]} chain ${firewall.chain} (${(error as Error).message.trim()})`)
    }
  }
  return left
}

/** Checks that this runner can filter by owner before the run counts on it. */
export async function requireFirewall(privilege: Privilege, families: Family[]): Promise<void> {
  for (const family of families) {
    try {
      await privilege.asRoot(TOOL[family], ['-w', '-S', 'OUTPUT'])
    } catch (error) {
      throw new Error(`${TOOL[family]} cannot be used on this runner (${(error as Error).message.trim().split('\n')[0]}), so the kernel cannot keep the agent to the allowed hosts. Install iptables, or set 'network: open' to run the agent without egress limits`, { cause: error })
    }
  }
}
