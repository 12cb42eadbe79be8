import * as core from '@actions/core'
import { mkdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { printAgentText } from './agent-text.js'
import { relativeInside } from './path-inside.js'
import { agentUserFolder, type AgentIdentity, type Privilege } from './isolation.js'
import { OUTPUT_SCHEMA_FILE } from './output-schema.js'

// find(1) words for an entry others may not read: a folder they cannot list and enter, or a file they cannot read.
const PRIVATE_TO_OTHERS = ['(', '(', '-type', 'd', '!', '-perm', '-o=rx', ')', '-o', '(', '!', '-type', 'd', '!', '-type', 'l', '!', '-perm', '-o=r', ')', ')']

/** Where the agent's own folders are, and where it sees the repository and the Codex binary. */
export interface AgentFolders {
  /** The agent's own folder: outside the runner's home and RUNNER_TEMP in mode `user`. */
  root: string
  home: string
  codexHome: string
  /** In mode `user`, the repository's top folder is mounted here; in mode `none` the agent uses it where it is. */
  workspaceMount?: string
  /** In mode `user`, the folder holding the Codex binary is mounted here, read-only. */
  codexMount?: string
}

/** Where the agent sees what it is lent. */
export interface AgentView {
  top: string
  workingDirectory: string
  binary: string
  /** GITHUB_WORKSPACE, where it lies inside the repository. */
  workspace?: string
}

export function agentFolders(identity: Pick<AgentIdentity, 'mode' | 'userName'>, runRoot: string): AgentFolders {
  if (identity.mode === 'none' || !identity.userName) {
    const root = path.join(runRoot, 'agent')
    return { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home') }
  }
  const root = agentUserFolder(identity.userName)
  return { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home'), workspaceMount: path.join(root, 'workspace'), codexMount: path.join(root, 'codex') }
}

/** Makes the agent's folders, still the runner user's so the action can write Codex's configuration into them. */
export async function createAgentFolders(identity: AgentIdentity, folders: AgentFolders): Promise<void> {
  const { privilege } = identity
  if (!privilege || !folders.workspaceMount || !folders.codexMount) {
    for (const folder of [folders.home, folders.codexHome]) await mkdir(folder, { recursive: true, mode: 0o700 })
    return
  }
  const runner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
  // Root's, searchable by all: the agent can neither list its neighbours nor rename the mount points.
  await privilege.asRoot('install', ['-d', '-m', '0711', '-o', '0', '-g', '0', path.dirname(folders.root), folders.root, folders.workspaceMount, folders.codexMount])
  await privilege.asRoot('install', ['-d', '-m', '0700', '-o', runner.split(':')[0], '-g', runner.split(':')[1], folders.home, folders.codexHome])
}

/** Where the agent will see the repository and the binary once they are lent. */
export function agentView(folders: AgentFolders, top: string, workingDirectory: string, codexFolder: string, binary: string, workspace = process.env.GITHUB_WORKSPACE): AgentView {
  const mount = folders.workspaceMount
  const seen = (real: string): string => (mount ? path.join(mount, path.relative(top, real)) : real)
  return {
    top: seen(top),
    workingDirectory: seen(workingDirectory),
    binary: folders.codexMount ? path.join(folders.codexMount, path.relative(codexFolder, binary)) : binary,
    workspace: workspace === undefined || relativeInside(top, workspace) === undefined ? undefined : seen(workspace)
  }
}

/**
 * Lends the repository to the agent. In mode `user` its top folder is bind-mounted at the agent's
 * own path (so no runner folder has to be opened), the Codex folder is mounted read-only beside
 * it, and every entry the runner user owns becomes the agent's, except what an earlier step made
 * private (a file others cannot read, a folder others cannot enter): those stay as they are.
 * Returns what was withheld, from the top.
 */
export async function lendWorkspace(identity: AgentIdentity, folders: AgentFolders, top: string, codexFolder: string): Promise<string[]> {
  const { privilege, uid, gid } = identity
  if (!privilege || uid === undefined || gid === undefined || !folders.workspaceMount || !folders.codexMount) return []
  const runnerUid = String(process.getuid?.() ?? 0)
  const agent = `${uid}:${gid}`
  const gitDir = path.join(top, '.git')
  const listing = await privilege.asRoot('find', [
    top, '-xdev',
    // The agent's git dir is lent below: its object files are links to the real ones and stay read-only.
    '-path', gitDir, '-prune',
    // Whoever owns it (the runner, root, a container step's user): what others may not read is not lent.
    '-o', ...PRIVATE_TO_OTHERS, '-prune', '-print0',
    // A file with other links is shared with something outside the repository: never hand that to the agent.
    '-o', '-uid', runnerUid, '(', '-type', 'd', '-o', '-links', '1', ')', '-exec', 'chown', '-h', agent, '{}', '+'
  ])
  await privilege.asRoot('find', [gitDir, '-xdev', '(', '-type', 'd', '-o', '-links', '1', ')', '-exec', 'chown', '-h', agent, '{}', '+'])
  await privilege.asRoot('chown', ['-R', agent, folders.home, folders.codexHome])
  await privilege.asRoot('mount', ['--bind', top, folders.workspaceMount])
  await privilege.asRoot('mount', ['--bind', codexFolder, folders.codexMount])
  await privilege.asRoot('mount', ['-o', 'remount,bind,ro', folders.codexMount])

  const withheld = listing.split('\0').filter(Boolean).map((entry) => path.relative(top, entry))
  if (withheld.length) {
    core.info(`Not lent to the agent (private to the runner user, so an earlier step's): ${withheld.length} entries.`)
    printAgentText(withheld.slice(0, 50).map((entry) => `  ${entry}`))
  }
  return withheld
}

/**
 * Undoes the lending once the agent is stopped: unmounts its views and gives back to the runner
 * user every entry the agent owns in the repository and its folders. Idempotent; run by main and
 * again by the post step. Returns where private entries of the runner's are now, from the top:
 * the agent could not read them, but it could move them, and the patch must not carry them.
 */
export async function handBack(identity: Pick<AgentIdentity, 'privilege' | 'uid'>, folders: AgentFolders, top: string | undefined): Promise<string[]> {
  const { privilege, uid } = identity
  if (!privilege || uid === undefined) return []
  for (const mount of [folders.workspaceMount, folders.codexMount]) if (mount) await unmount(privilege, mount)
  const privateNow = top ? (await privilege.asRoot('find', [top, '-xdev', '-path', path.join(top, '.git'), '-prune', '-o', '!', '-uid', String(uid), ...PRIVATE_TO_OTHERS, '-prune', '-print0']).catch(() => '')).split('\0').filter(Boolean).map((entry) => path.relative(top, entry)) : []
  const runner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
  const trees = [top, folders.home, folders.codexHome].filter((tree): tree is string => Boolean(tree))
  // What the agent made unreadable to its owner (mode 000) becomes readable again, links excepted: chmod would follow them.
  // -execdir works from each entry's own folder, so no path grows past PATH_MAX however deep the agent nested it; only
  // the entries that lack a bit are touched, so a tree the agent left readable costs no chmod at all.
  const lacksOwnerBits = ['(', '(', '-type', 'd', '!', '-perm', '-u=rwx', ')', '-o', '(', '!', '-type', 'd', '!', '-perm', '-u=rw', ')', ')']
  const said = (error: { stderr?: string }): void => {
    // A tree that is already gone has nothing to give back; anything else is said, and the rest goes on.
    if (!/^((find|chown): [^\n]*No such file or directory\s*)*$/.test(error.stderr ?? '')) core.warning(`Could not give everything back to the runner user: ${(error.stderr ?? '').trim().split('\n').slice(0, 3).join(' ')}`)
  }
  await privilege.asRoot('find', [...trees, '-xdev', '-uid', String(uid), '!', '-type', 'l', ...lacksOwnerBits, '-execdir', 'chmod', 'u+rwX', '{}', '+']).catch(said)
  // One chown walk (fts, so no depth limit either) for everything the agent owns, links themselves rather than what they name.
  await privilege.asRoot('chown', ['-R', '-h', `--from=${uid}`, runner, ...trees]).catch(said)
  return privateNow
}

/** Removes the agent's folders; the mount points are only ever removed empty, so a mount still in place cannot take the repository with it. */
export async function removeAgentFolders(privilege: Privilege | undefined, folders: AgentFolders): Promise<void> {
  if (!folders.workspaceMount) return rm(folders.root, { recursive: true, force: true })
  if (!privilege) return
  for (const folder of [folders.home, folders.codexHome]) await privilege.asRoot('rm', ['-rf', '--one-file-system', folder])
  await privilege.asRoot('rm', ['-f', path.join(folders.root, OUTPUT_SCHEMA_FILE)])
  for (const mountPoint of [folders.workspaceMount, folders.codexMount, folders.root]) {
    if (mountPoint) await privilege.asRoot('rmdir', ['--ignore-fail-on-non-empty', mountPoint]).catch(() => undefined)
  }
}

async function unmount(privilege: Privilege, mountPoint: string): Promise<void> {
  if (!(await isMounted(mountPoint))) return
  await privilege.asRoot('umount', [mountPoint]).catch(() => privilege.asRoot('umount', ['--lazy', mountPoint]))
  if (await isMounted(mountPoint)) throw new Error(`Could not unmount ${mountPoint}.`)
}

async function isMounted(mountPoint: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  // The fifth field is the mount point, with spaces and the like octal-escaped.
  return mounts.split('\n').some((line) => line.split(' ')[4]?.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === mountPoint)
}
