import { i as info, w as warning, r as relativeInside, c as summary, f as restoreGitDir, u as saveState, v as getState } from './git-dir.js';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { execFile, execFileSync } from 'node:child_process';
import { readFile, appendFile, readdir, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Prints text the agent wrote or chose (its messages, its commands, file names) to the job log as
 * plain text. The runner reads `::name::` and `##[name]` at the start of any line as workflow
 * commands, so the lines go out between `::stop-commands::<token>` and `::<token>::`, with a fresh
 * random token the agent cannot know, in one write so that nothing else lands inside the block.
 */
function printAgentText(lines) {
    const token = randomBytes(16).toString('hex');
    // The runner splits lines at CR as well as LF.
    const text = lines.flatMap((line) => line.split(/\r\n|\r|\n/));
    info([`::stop-commands::${token}`, ...text, `::${token}::`].join('\n'));
}
/** Agent text for the job summary, which GitHub renders as Markdown with HTML: shown as text, never as markup. */
function escapeHtml(text) {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const TOOL = { ipv4: 'iptables', ipv6: 'ip6tables' };
const REJECT_OTHERS = { ipv4: 'icmp-port-unreachable', ipv6: 'icmp6-port-unreachable' };
/** One chain per run, named after the agent's uid, which no other run of the job ever gets. */
function firewallFor(uid) {
    // The kernel would filter IPv6 for nobody where the runner has no IPv6: then only IPv4 rules are needed.
    const families = existsSync('/proc/net/if_inet6') ? ['ipv4', 'ipv6'] : ['ipv4'];
    return { chain: `CODEX-ACTION-${uid.toString(36).toUpperCase()}`, uid, families };
}
/**
 * Makes the kernel drop every packet the agent's uid sends, whatever program sends it and whatever
 * it unsets, except TCP to the given loopback destinations. The jump sits first in OUTPUT, so
 * no rule another tool added for the runner lets the agent past it.
 */
async function addFirewall(privilege, firewall, direct) {
    for (const family of firewall.families) {
        const table = (args) => privilege.asRoot(TOOL[family], ['-w', ...args]);
        await table(['-N', firewall.chain]);
        for (const { address, port } of direct) {
            if (isIP(address) !== (family === 'ipv4' ? 4 : 6))
                continue;
            await table(['-A', firewall.chain, '-d', address, '-p', 'tcp', '--dport', String(port), '-j', 'ACCEPT']);
        }
        // TCP gets a reset and everything else an ICMP error, so tools fail at once instead of hanging.
        await table(['-A', firewall.chain, '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset']);
        await table(['-A', firewall.chain, '-j', 'REJECT', '--reject-with', REJECT_OTHERS[family]]);
        await table(['-I', 'OUTPUT', '1', '-m', 'owner', '--uid-owner', String(firewall.uid), '-j', firewall.chain]);
    }
}
/** Removes the run's chain and the jump to it, and nothing else; idempotent. Returns what could not be removed. */
async function removeFirewall(privilege, firewall) {
    if (!privilege)
        return [`the firewall chain ${firewall.chain} (no root or sudo in this step)`];
    const left = [];
    for (const family of firewall.families) {
        const table = (args) => privilege.asRoot(TOOL[family], ['-w', ...args]);
        if (!(await table(['-S', firewall.chain]).then(() => true, () => false)))
            continue;
        const jump = ['OUTPUT', '-m', 'owner', '--uid-owner', String(firewall.uid), '-j', firewall.chain];
        // The same jump may be there twice if main was stopped between adding and saving: take every copy.
        for (let copies = 0; copies < 10 && (await table(['-C', ...jump]).then(() => true, () => false)); copies++)
            await table(['-D', ...jump]);
        try {
            await table(['-F', firewall.chain]);
            await table(['-X', firewall.chain]);
        }
        catch (error) {
            left.push(`the ${TOOL[family]} chain ${firewall.chain} (${error.message.trim()})`);
        }
    }
    return left;
}
/** Checks that this runner can filter by owner before the run counts on it. */
async function requireFirewall(privilege, families) {
    for (const family of families) {
        try {
            await privilege.asRoot(TOOL[family], ['-w', '-S', 'OUTPUT']);
        }
        catch (error) {
            throw new Error(`${TOOL[family]} cannot be used on this runner (${error.message.trim().split('\n')[0]}), so the kernel cannot keep the agent to the allowed hosts. Install iptables, or set 'network: open' to run the agent without egress limits`, { cause: error });
        }
    }
}

const execFileAsync = promisify(execFile);
// Helpers the action starts (as root, or as the agent's uid to stop it) get only this: a program
// running as the agent's uid holds its environment where the agent can read it (/proc/<pid>/environ).
const HELPER_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
const run = (command, args) => execFileAsync(command, args, { encoding: 'utf8', env: HELPER_ENV });
/** Every run gets its own agent user, so stopping one run's processes can never touch another's. */
const AGENT_USER_PREFIX = 'codex-agent-';
// Agent uids are drawn here, far from login users (1000+) and the system range, and never reused within a job.
const AGENT_UID_RANGE = { min: 1_000_000, max: 1_999_999 };
// Where the agent's own folders live: outside the runner's home and RUNNER_TEMP, so it needs no path through them.
const AGENT_ROOT_BASE = '/var/lib/codex-action';
// World-writable places where a process of the agent can leave files behind after it is gone.
const SHARED_WRITABLE = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/var/crash', '/var/spool/cron', '/var/mail'];
const STOP_ROUNDS = 50;
async function chooseIdentity(isolation, runnerTemp) {
    if (isolation === 'none')
        return warnedRunnerIdentity("'isolation: none' was set");
    const privilege = process.platform === 'linux' ? await findPrivilege() : undefined;
    let identity;
    try {
        if (!privilege)
            throw new Error(process.platform !== 'linux' ? `${process.platform} runners are not supported for a separate agent user yet` : 'the runner user is neither root nor allowed passwordless sudo');
        await requireMounting();
        identity = await createAgentUser(privilege, runnerTemp);
    }
    catch (error) {
        const why = error.message;
        if (isolation === 'user')
            throw new Error(`Input 'isolation' is 'user', but ${why}. Use 'isolation: none' to run the agent as the runner user (it can then read the key and tokens).`, { cause: error });
        return warnedRunnerIdentity(why);
    }
    info(`Isolation: ${identity.reason}.`);
    return identity;
}
/** The identity main used, rebuilt in the post step from what main saved. */
async function identityForCleanup(mode, userName) {
    const privilege = mode === 'user' ? await findPrivilege() : undefined;
    if (!privilege || !userName || !userExists(userName))
        return runnerIdentity('the agent user is gone');
    return agentUserIdentity(privilege, userName);
}
function agentUserFolder(userName) {
    return path.join(AGENT_ROOT_BASE, userName);
}
function userExists(userName) {
    try {
        execFileSync('id', ['-u', userName], { stdio: 'ignore' });
        return true;
    }
    catch {
        return false;
    }
}
async function findPrivilege() {
    if (process.getuid?.() === 0) {
        return { isRoot: true, asRoot: async (command, args) => (await run(command, args)).stdout };
    }
    try {
        await run('sudo', ['-n', 'true']);
        return { isRoot: false, asRoot: async (command, args) => (await run('sudo', ['-n', command, ...args])).stdout };
    }
    catch {
        return undefined;
    }
}
function warnedRunnerIdentity(reason) {
    warning(`The agent runs as the runner user (${reason}): commands it runs can read the model API key and the GitHub and Actions tokens ` +
        `from this action's process, and use the runner's sudo. Only run it on prompts and repositories you trust.`);
    return runnerIdentity(reason);
}
function runnerIdentity(reason) {
    return {
        mode: 'none',
        reason,
        spawnCommand: (program, args, env) => ({ file: program, args, options: { env, detached: true } }),
        signalAll: async (pid, signal) => {
            if (pid)
                killGroup(pid, signal);
        },
        stop: async (pid) => {
            if (pid)
                killGroup(pid, 'SIGKILL');
            return [];
        },
        sweep: async () => { },
        remove: async () => []
    };
}
/** The agent reaches the workspace through a bind mount, which needs CAP_SYS_ADMIN (a container without it cannot). */
async function requireMounting() {
    const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
    const bounding = /^CapBnd:\s+([0-9a-f]+)/m.exec(status)?.[1];
    const CAP_SYS_ADMIN = 21n;
    if (bounding !== undefined && ((BigInt(`0x${bounding}`) >> CAP_SYS_ADMIN) & 1n) === 0n) {
        throw new Error('this runner cannot mount (no CAP_SYS_ADMIN, as in an unprivileged container), and the agent user reaches the workspace through a bind mount');
    }
}
/** A fresh user with a uid no process, file owner or earlier run of this job has had. */
async function createAgentUser(privilege, runnerTemp) {
    // The uids this job already gave out; RUNNER_TEMP is the job's and out of the agent's reach.
    const ledger = path.join(runnerTemp, 'codex-action-agent-uids');
    const used = new Set((await readFile(ledger, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number));
    for (let attempt = 0; attempt < 20; attempt++) {
        const uid = randomInt(AGENT_UID_RANGE.min, AGENT_UID_RANGE.max + 1);
        if (used.has(uid) || idTaken('passwd', uid) || idTaken('group', uid) || (await processesOf(uid)).length)
            continue;
        const userName = `${AGENT_USER_PREFIX}${uid.toString(36)}`;
        await appendFile(ledger, `${uid}\n`, { mode: 0o600 });
        try {
            await whileLocked(() => privilege.asRoot('groupadd', ['--gid', String(uid), userName]));
            await whileLocked(() => privilege.asRoot('useradd', ['--uid', String(uid), '--gid', String(uid), '--no-create-home', '--no-log-init', '--home-dir', agentUserFolder(userName), '--shell', '/bin/bash', userName]));
        }
        catch (error) {
            await privilege.asRoot('groupdel', [userName]).catch(() => undefined);
            throw new Error(`the agent user '${userName}' could not be created (${error.message.trim()})`, { cause: error });
        }
        return agentUserIdentity(privilege, userName);
    }
    throw new Error('no free uid was found for the agent user');
}
/** Runs a shadow-utils command again while another one holds /etc/passwd or /etc/group locked (a second run ending, say). */
async function whileLocked(command) {
    for (let attempt = 1;; attempt++) {
        try {
            return await command();
        }
        catch (error) {
            if (attempt >= 20 || !/lock/i.test(String(error.stderr ?? error.message)))
                throw error;
            await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
    }
}
function idTaken(database, id) {
    try {
        execFileSync('getent', [database, String(id)], { stdio: 'ignore' });
        return true;
    }
    catch {
        return false;
    }
}
function agentUserIdentity(privilege, userName) {
    const uid = Number(execFileSync('id', ['-u', userName]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', userName]).toString().trim());
    const { isRoot } = privilege;
    // kill(-1) sent as the agent uid reaches every process of that uid in one pass: a forking loop cannot slip out.
    const killEverything = isRoot ? ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', 'kill', '-KILL', '--', '-1']] : ['sudo', ['-n', '-u', userName, '--', 'kill', '-KILL', '--', '-1']];
    let swept = [];
    const identity = {
        mode: 'user',
        reason: `the agent runs as the unprivileged user '${userName}' (uid ${uid}), without sudo`,
        userName,
        uid,
        gid,
        privilege,
        spawnCommand(program, args, env) {
            if (isRoot)
                return { file: program, args, options: { env, uid, gid, detached: true } };
            const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
            return { file: 'sudo', args: ['-n', '-u', userName, '--', 'env', '-i', ...assignments, program, ...args], options: { env: {}, detached: true } };
        },
        async signalAll(pid, signal) {
            if (signal === 'SIGKILL')
                return void (await identity.stop(pid));
            if (pid)
                killGroup(pid, signal);
            if (isRoot)
                for (const other of await processesOf(uid))
                    killPid(other, signal);
            else
                await run('sudo', ['-n', 'pkill', `-${signal.replace(/^SIG/, '')}`, '-u', userName]).catch(() => undefined);
        },
        async stop(pid) {
            if (pid)
                killGroup(pid, 'SIGKILL');
            for (let round = 0; round < STOP_ROUNDS; round++) {
                if ((await processesOf(uid)).length === 0)
                    return [];
                await run(killEverything[0], killEverything[1]).catch(() => undefined);
                if (round > 0)
                    await new Promise((resolve) => setTimeout(resolve, 20));
            }
            const survivors = await processesOf(uid);
            if (survivors.length)
                warning(`Processes of the agent user '${userName}' survived being killed: ${survivors.join(', ')}.`);
            return survivors;
        },
        async sweep(keep) {
            swept = [...(await removeFilesOf(privilege, uid, keep)), ...(await removeIpcOf(privilege, uid)), ...(await removeMessageQueuesOf(privilege, uid))];
        },
        async remove() {
            const left = [];
            if ((await identity.stop()).length)
                left.push(`processes of ${userName}`);
            left.push(...swept);
            await whileLocked(() => privilege.asRoot('userdel', [userName])).catch((error) => {
                if (userExists(userName))
                    left.push(`the user ${userName} (${error.message.trim()})`);
            });
            await whileLocked(() => privilege.asRoot('groupdel', [userName])).catch(() => undefined);
            if (left.length)
                warning(`Could not remove everything the agent left: ${left.join('; ')}.`);
            return left;
        }
    };
    return identity;
}
/** Deletes the agent's files in world-writable folders, except below `keep` (a workspace may lie in /tmp). */
async function removeFilesOf(privilege, uid, keep) {
    const places = SHARED_WRITABLE.filter((place) => existsSync(place));
    // -delete works depth first, where -prune does nothing: what is kept is passed over by its path.
    const kept = keep.flatMap((folder) => ['!', '-path', globEscaped(folder), '!', '-path', `${globEscaped(folder)}/*`]);
    const output = await privilege.asRoot('find', [...places, '-xdev', '-uid', String(uid), ...kept, '-delete']).catch((error) => error.stderr ?? 'find failed');
    return output.trim() ? [`files of uid ${uid} in ${places.join(', ')} (${output.trim().split('\n').slice(0, 3).join('; ')})`] : [];
}
/** POSIX message queues live in the mqueue file system, mounted at /dev/mqueue or, where nothing mounts it, for this sweep alone. */
async function removeMessageQueuesOf(privilege, uid) {
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    const mounted = mountinfo.split('\n').find((line) => line.split(' - ')[1]?.startsWith('mqueue '))?.split(' ')[4];
    const place = mounted ?? (await privilege.asRoot('mktemp', ['-d', '/tmp/codex-action-mqueue-XXXXXXXX']).catch(() => '')).trim();
    if (!place)
        return [];
    try {
        if (!mounted)
            await privilege.asRoot('mount', ['-t', 'mqueue', 'mqueue', place]);
        await privilege.asRoot('find', [place, '-maxdepth', '1', '-uid', String(uid), '-delete']);
        return [];
    }
    catch (error) {
        return [`POSIX message queues of uid ${uid} (${error.message.trim()})`];
    }
    finally {
        if (!mounted)
            await privilege.asRoot('umount', [place]).catch(() => undefined).then(() => privilege.asRoot('rmdir', [place]).catch(() => undefined));
    }
}
function globEscaped(text) {
    return text.replace(/[[\]*?\\]/g, (c) => `\\${c}`);
}
/** Deletes System V shared memory, semaphores and message queues the agent created or owns. */
async function removeIpcOf(privilege, uid) {
    const left = [];
    for (const [kind, flag] of [['shm', '-m'], ['sem', '-s'], ['msg', '-q']]) {
        const table = await readFile(`/proc/sysvipc/${kind}`, 'utf8').catch(() => '');
        const [header, ...rows] = table.trim().split('\n');
        if (!header)
            continue;
        // Each table starts with the key and the id; the owner and creator columns are named in its header.
        const columns = header.trim().split(/\s+/);
        const owners = ['uid', 'cuid'].map((name) => columns.indexOf(name));
        for (const row of rows) {
            const [, id, ...rest] = row.trim().split(/\s+/);
            const fields = [undefined, id, ...rest];
            if (!owners.some((column) => Number(fields[column]) === uid))
                continue;
            await privilege.asRoot('ipcrm', [flag, id]).catch(() => left.push(`System V ${kind} ${id}`));
        }
    }
    return left;
}
/** Live processes whose real, effective, saved or file-system uid is `uid` (zombies are already dead). */
async function processesOf(uid) {
    const pids = [];
    for (const entry of await readdir('/proc').catch(() => [])) {
        if (!/^\d+$/.test(entry))
            continue;
        const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
        const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1].split(/\s+/).map(Number) ?? [];
        if (uids.includes(uid) && !/^State:\s+[ZX]/m.test(status))
            pids.push(Number(entry));
    }
    return pids;
}
function killGroup(pid, signal) {
    try {
        process.kill(-pid, signal);
    }
    catch {
        killPid(pid, signal);
    }
}
function killPid(pid, signal) {
    try {
        process.kill(pid, signal);
    }
    catch {
        // Already gone.
    }
}

// find(1) words for an entry others may not read: a folder they cannot list and enter, or a file they cannot read.
const PRIVATE_TO_OTHERS = ['(', '(', '-type', 'd', '!', '-perm', '-o=rx', ')', '-o', '(', '!', '-type', 'd', '!', '-type', 'l', '!', '-perm', '-o=r', ')', ')'];
function agentFolders(identity, runRoot) {
    if (identity.mode === 'none' || !identity.userName) {
        const root = path.join(runRoot, 'agent');
        return { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home') };
    }
    const root = agentUserFolder(identity.userName);
    return { root, home: path.join(root, 'home'), codexHome: path.join(root, 'codex-home'), workspaceMount: path.join(root, 'workspace'), codexMount: path.join(root, 'codex') };
}
/** Makes the agent's folders, still the runner user's so the action can write Codex's configuration into them. */
async function createAgentFolders(identity, folders) {
    const { privilege } = identity;
    if (!privilege || !folders.workspaceMount || !folders.codexMount) {
        for (const folder of [folders.home, folders.codexHome])
            await mkdir(folder, { recursive: true, mode: 0o700 });
        return;
    }
    const runner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    // Root's, searchable by all: the agent can neither list its neighbours nor rename the mount points.
    await privilege.asRoot('install', ['-d', '-m', '0711', '-o', '0', '-g', '0', path.dirname(folders.root), folders.root, folders.workspaceMount, folders.codexMount]);
    await privilege.asRoot('install', ['-d', '-m', '0700', '-o', runner.split(':')[0], '-g', runner.split(':')[1], folders.home, folders.codexHome]);
}
/** Where the agent will see the repository and the binary once they are lent. */
function agentView(folders, top, workingDirectory, codexFolder, binary, workspace = process.env.GITHUB_WORKSPACE) {
    const mount = folders.workspaceMount;
    const seen = (real) => (mount ? path.join(mount, path.relative(top, real)) : real);
    return {
        top: seen(top),
        workingDirectory: seen(workingDirectory),
        binary: folders.codexMount ? path.join(folders.codexMount, path.relative(codexFolder, binary)) : binary,
        workspace: workspace === undefined || relativeInside(top, workspace) === undefined ? undefined : seen(workspace)
    };
}
/**
 * Lends the repository to the agent. In mode `user` its top folder is bind-mounted at the agent's
 * own path (so no runner folder has to be opened), the Codex folder is mounted read-only beside
 * it, and every entry the runner user owns becomes the agent's, except what an earlier step made
 * private (a file others cannot read, a folder others cannot enter): those stay as they are.
 * Returns what was withheld, from the top.
 */
async function lendWorkspace(identity, folders, top, codexFolder) {
    const { privilege, uid, gid } = identity;
    if (!privilege || uid === undefined || gid === undefined || !folders.workspaceMount || !folders.codexMount)
        return [];
    const runnerUid = String(process.getuid?.() ?? 0);
    const agent = `${uid}:${gid}`;
    const gitDir = path.join(top, '.git');
    const listing = await privilege.asRoot('find', [
        top, '-xdev',
        // The agent's git dir is lent below: its object files are links to the real ones and stay read-only.
        '-path', gitDir, '-prune',
        // Whoever owns it (the runner, root, a container step's user): what others may not read is not lent.
        '-o', ...PRIVATE_TO_OTHERS, '-prune', '-print0',
        // A file with other links is shared with something outside the repository: never hand that to the agent.
        '-o', '-uid', runnerUid, '(', '-type', 'd', '-o', '-links', '1', ')', '-exec', 'chown', '-h', agent, '{}', '+'
    ]);
    await privilege.asRoot('find', [gitDir, '-xdev', '(', '-type', 'd', '-o', '-links', '1', ')', '-exec', 'chown', '-h', agent, '{}', '+']);
    await privilege.asRoot('chown', ['-R', agent, folders.home, folders.codexHome]);
    await privilege.asRoot('mount', ['--bind', top, folders.workspaceMount]);
    await privilege.asRoot('mount', ['--bind', codexFolder, folders.codexMount]);
    await privilege.asRoot('mount', ['-o', 'remount,bind,ro', folders.codexMount]);
    const withheld = listing.split('\0').filter(Boolean).map((entry) => path.relative(top, entry));
    if (withheld.length) {
        info(`Not lent to the agent (private to the runner user, so an earlier step's): ${withheld.length} entries.`);
        printAgentText(withheld.slice(0, 50).map((entry) => `  ${entry}`));
    }
    return withheld;
}
/**
 * Undoes the lending once the agent is stopped: unmounts its views and gives back to the runner
 * user every entry the agent owns in the repository and its folders. Idempotent; run by main and
 * again by the post step. Returns where private entries of the runner's are now, from the top:
 * the agent could not read them, but it could move them, and the patch must not carry them.
 */
async function handBack(identity, folders, top) {
    const { privilege, uid } = identity;
    if (!privilege || uid === undefined)
        return [];
    for (const mount of [folders.workspaceMount, folders.codexMount])
        if (mount)
            await unmount(privilege, mount);
    const privateNow = top ? (await privilege.asRoot('find', [top, '-xdev', '-path', path.join(top, '.git'), '-prune', '-o', '!', '-uid', String(uid), ...PRIVATE_TO_OTHERS, '-prune', '-print0']).catch(() => '')).split('\0').filter(Boolean).map((entry) => path.relative(top, entry)) : [];
    const runner = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    const trees = [top, folders.home, folders.codexHome].filter((tree) => Boolean(tree));
    // -execdir works from each entry's own folder, so no path grows past PATH_MAX however deep the agent nested it. What the
    // agent made unreadable to its owner (mode 000) becomes readable again, links excepted: chmod would follow them.
    await privilege.asRoot('find', [...trees, '-xdev', '-uid', String(uid), '(', '-type', 'l', '-o', '-execdir', 'chmod', 'u+rwX', '{}', '+', ')', '-execdir', 'chown', '-h', runner, '{}', '+']).catch((error) => {
        // A tree that is already gone has nothing to give back; anything else is said, and the rest goes on.
        if (!/^(find: [^\n]*No such file or directory\s*)*$/.test(error.stderr ?? ''))
            warning(`Could not give everything back to the runner user: ${(error.stderr ?? '').trim().split('\n').slice(0, 3).join(' ')}`);
    });
    return privateNow;
}
/** Removes the agent's folders; the mount points are only ever removed empty, so a mount still in place cannot take the repository with it. */
async function removeAgentFolders(privilege, folders) {
    if (!folders.workspaceMount)
        return rm(folders.root, { recursive: true, force: true });
    if (!privilege)
        return;
    for (const folder of [folders.home, folders.codexHome])
        await privilege.asRoot('rm', ['-rf', '--one-file-system', folder]);
    for (const mountPoint of [folders.workspaceMount, folders.codexMount, folders.root]) {
        if (mountPoint)
            await privilege.asRoot('rmdir', ['--ignore-fail-on-non-empty', mountPoint]).catch(() => undefined);
    }
}
async function unmount(privilege, mountPoint) {
    if (!(await isMounted(mountPoint)))
        return;
    await privilege.asRoot('umount', [mountPoint]).catch(() => privilege.asRoot('umount', ['--lazy', mountPoint]));
    if (await isMounted(mountPoint))
        throw new Error(`Could not unmount ${mountPoint}.`);
}
async function isMounted(mountPoint) {
    const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
    // The fifth field is the mount point, with spaces and the like octal-escaped.
    return mounts.split('\n').some((line) => line.split(' ')[4]?.replace(/\\(\d{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8))) === mountPoint);
}

/**
 * Ends the agent's time on the runner, whatever happened before: no process of the agent is left,
 * the repository and the real git dir are back as the runner user's, and the agent's folders,
 * user and leftovers are gone. Run at the end of main and again by the post step; anything already
 * done is skipped. Returns what could not be removed.
 */
async function cleanup(state) {
    if (!state) {
        info('Nothing to clean up: the main step did not get as far as preparing Codex.');
        return [];
    }
    const identity = await identityForCleanup(state.isolation, state.agentUser);
    const left = [];
    // Each step on its own: one the agent managed to break must not keep the next, the real git dir above all, from its turn.
    const step = async (what, work) => {
        await work().catch((error) => {
            warning(`Cleanup could not ${what}: ${error.message}`);
            left.push(what);
        });
    };
    await step("stop the agent's processes", () => identity.stop());
    await step("delete the agent's files in shared folders", () => identity.sweep([state.gitDirs?.top, state.runRoot].filter((folder) => Boolean(folder))));
    await step('give the repository back to the runner user', () => handBack(identity, state.folders, state.gitDirs?.top));
    const { gitDirs } = state;
    if (gitDirs)
        await step("put the repository's git dir back", async () => (await restoreGitDir(gitDirs, identity.privilege)) && info(`Put the repository's git dir back at ${gitDirs.home}.`));
    await step("remove the agent's folders", () => removeAgentFolders(identity.privilege, state.folders));
    await step('remove the agent user', async () => left.push(...(await identity.remove())));
    // The rules go last, and only once no process of the agent is left to use the network they fenced.
    if (state.firewall) {
        if ((await processesOf(state.firewall.uid)).length)
            left.push(`the firewall chain ${state.firewall.chain} (processes of uid ${state.firewall.uid} are still alive)`);
        else
            left.push(...(await removeFirewall(identity.privilege ?? (await findPrivilege()), state.firewall)));
    }
    if (left.length && process.env.GITHUB_STEP_SUMMARY) {
        await summary.addRaw(`<b>Could not remove everything the agent left:</b> ${escapeHtml(left.join('; '))}`, true).write();
    }
    return left;
}

const KEY = 'codex-action-run';
function saveRunState(state) {
    saveState(KEY, JSON.stringify(state));
}
function loadRunState() {
    const saved = getState(KEY);
    if (!saved)
        return undefined;
    try {
        return JSON.parse(saved);
    }
    catch {
        return undefined;
    }
}

export { addFirewall as a, agentFolders as b, chooseIdentity as c, createAgentFolders as d, escapeHtml as e, firewallFor as f, agentView as g, handBack as h, cleanup as i, loadRunState as j, lendWorkspace as l, printAgentText as p, requireFirewall as r, saveRunState as s };
