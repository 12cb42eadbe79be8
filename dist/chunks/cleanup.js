import { i as info, w as warning, c as summary } from './core.js';
import { randomBytes, randomInt } from 'node:crypto';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { realpath, lstat, readdir, stat, copyFile, utimes, mkdir, rename, rm, writeFile, link, readFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';

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

/** `target` relative to `root` when it lies inside it (or is it: ''), else undefined. A name such as `..cache` is inside. */
function relativeInside(root, target) {
    const relative = path.relative(root, target);
    return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative) ? undefined : relative;
}

const execFileAsync$1 = promisify(execFile);
// Switches off everything in a configuration that could make git run a program.
// (External diff programs are refused per call with --no-ext-diff.)
const SAFE_GIT = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.untrackedCache=false', '-c', 'core.sshCommand=false'];
// Long enough for a very large repository; a git call that hangs past it fails the step instead of the job's time limit.
const GIT_TIME_LIMIT_MS = 15 * 60_000;
// What of the user's repository config the agent's git dir keeps: layout and remotes, never credentials or programs.
const KEPT_CONFIG = /^(core\.(repositoryformatversion|filemode|ignorecase|precomposeunicode|symlinks|autocrlf|eol|sparsecheckout|sparsecheckoutcone)|extensions\.[^.]+|remote\.[^\n]+\.(url|pushurl|fetch)|branch\.[^\n]+\.(remote|merge))$/i;
/**
 * How to run git against a git dir and work tree named explicitly: no discovery, no system or
 * global configuration, no hooks, fsmonitor or external programs, and nothing from the
 * environment that says otherwise.
 */
function trustedGitCommand(gitDir, workTree, args, extraEnv = {}) {
    const env = { GIT_DIR: gitDir, GIT_WORK_TREE: workTree, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent', GIT_TERMINAL_PROMPT: '0', ...extraEnv };
    for (const name of ['PATH', 'LANG', 'LC_ALL', 'TMPDIR'])
        if (process.env[name] !== undefined)
            env[name] = process.env[name];
    return { args: [...SAFE_GIT, ...args], env };
}
/** Runs git as `trustedGitCommand` says, with a time limit, and returns what it printed. */
async function trustedGit(gitDir, workTree, args, extraEnv = {}, options = {}) {
    const command = trustedGitCommand(gitDir, workTree, args, extraEnv);
    try {
        const running = execFileAsync$1('git', command.args, { cwd: workTree, env: command.env, maxBuffer: 1024 * 1024 * 1024, encoding: options.encoding ?? 'utf8', timeout: GIT_TIME_LIMIT_MS, killSignal: 'SIGKILL' });
        // Only what the caller gives is fed to git: a call that waited for more input would wait for the time limit.
        running.child.stdin?.on('error', () => undefined).end(options.input);
        const { stdout } = await running;
        return stdout;
    }
    catch (error) {
        const failure = error;
        const why = failure.killed ? `did not finish within ${GIT_TIME_LIMIT_MS / 60_000} minutes` : failure.stderr?.trim() || failure.message;
        throw new Error(`git ${args[0]} failed in ${workTree}: ${why}`);
    }
}
/** Finds the repository of `workingDirectory` and refuses layouts whose git dir lies outside the work tree. */
async function locateRepository(workingDirectory, privateFolder) {
    const [top, gitDir, commonDir] = (await plainGit(workingDirectory, ['rev-parse', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'])).trim().split('\n');
    const home = path.join(top, '.git');
    const workspace = process.env.GITHUB_WORKSPACE;
    // git names the top by its real path: compare it with the workspace's.
    if (workspace && relativeInside(await realpath(workspace).catch(() => workspace), top) === undefined) {
        throw new Error(`The repository of working-directory is at ${top}, outside GITHUB_WORKSPACE (${workspace}); the agent may only be lent the workspace.`);
    }
    const homeStats = await lstat(home).catch(() => undefined);
    if (!homeStats?.isDirectory() || gitDir !== home || path.resolve(await realpath(workingDirectory), commonDir) !== home) {
        throw new Error(`The repository at ${top} keeps its git dir elsewhere (${gitDir}): linked worktrees and separate git dirs are not supported. ` +
            'Check the repository out normally (actions/checkout does) and point working-directory inside it.');
    }
    const modules = await readdir(path.join(home, 'modules')).catch(() => []);
    if (modules.length) {
        throw new Error(`The repository at ${top} has checked-out submodules (${modules.join(', ')}), which are not supported: check it out without submodules.`);
    }
    // A rename moves the git dir aside in no time, but only within one file system.
    const sameFileSystem = (await stat(privateFolder)).dev === homeStats.dev;
    const asideFolder = sameFileSystem ? path.join(privateFolder, 'git-aside') : path.join(path.dirname(top), `.${path.basename(privateFolder)}-git-aside`);
    return { top, home, aside: path.join(asideFolder, 'git') };
}
/** Copies an index, keeping its mtime: git re-hashes entries as new as the index ("racy" ones), and a copy stamped now would hide a same-size edit made in the second the index was written. */
async function copyIndex(from, to) {
    await copyFile(from, to);
    const { atime, mtime } = await stat(from);
    await utimes(to, atime, mtime);
}
/**
 * Stages every file in the work tree now (tracked, and untracked but not ignored) into `index`,
 * starting from what it holds: entries whose stat data still match are not read again.
 * `statProvesSame` says the caller has already dropped the stat data of every entry that may have
 * changed (`forgetStat`), so a changed ctime alone (hand-back's chown) is no reason to read a file.
 */
async function stageWorkTree(dirs, gitDir, index, excluded, options = {}) {
    // Attributes from the start tree (git 2.41 and later): the agent's .gitattributes cannot change how files are read.
    const env = { GIT_INDEX_FILE: index, ...(options.attributeSource ? { GIT_ATTR_SOURCE: options.attributeSource } : {}) };
    // Inode numbers, owners, sizes and mtimes are still compared (checkStat=default): only ctime is left out.
    // As environment settings (git 2.31 and later), an older git ignores them and reads every file, which is only slower.
    if (options.statProvesSame)
        Object.assign(env, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: 'core.trustctime', GIT_CONFIG_VALUE_0: 'false', GIT_CONFIG_KEY_1: 'core.checkStat', GIT_CONFIG_VALUE_1: 'default' });
    await trustedGit(gitDir, dirs.top, ['add', '--all', '--', ':/', ...excluded.map((relative) => `:(exclude,top,literal)${relative}`)], env);
}
/** The tree object of what `index` holds. */
async function writeTree(dirs, gitDir, index) {
    return (await trustedGit(gitDir, dirs.top, ['write-tree'], { GIT_INDEX_FILE: index })).trim();
}
/**
 * Zeroes the stat data of the entries of `index` that `mayHaveChanged` names (from the top), so
 * that git reads those files again whatever their stat says; the others keep theirs. Entries
 * marked skip-worktree (sparse checkout) are not in the work tree and are left as they are.
 */
async function forgetStat(dirs, gitDir, index, mayHaveChanged) {
    const env = { GIT_INDEX_FILE: index };
    // Names as bytes (latin1 keeps every byte): they go back to git exactly as they came.
    const listed = await trustedGit(gitDir, dirs.top, ['ls-files', '--stage', '-t', '-z'], env, { encoding: 'latin1' });
    const forgotten = [];
    for (const record of listed.split('\0')) {
        // "<tag> <mode> <object> <stage>\t<path>", and --index-info reads "<mode> <object> <stage>\t<path>" with no stat data.
        if (!record || record[0] === 'S')
            continue;
        const entry = record.slice(2);
        const relative = Buffer.from(entry.slice(entry.indexOf('\t') + 1), 'latin1').toString('utf8');
        if (mayHaveChanged(relative))
            forgotten.push(entry);
    }
    if (forgotten.length)
        await trustedGit(gitDir, dirs.top, ['update-index', '-z', '--index-info'], env, { input: Buffer.from(forgotten.join('\0') + '\0', 'latin1') });
}
/**
 * Moves the real git dir out of the work tree into the action's private folder, and leaves the
 * agent a disposable one in its place: the same HEAD, refs, index and objects (hard links, which
 * stay read-only to the agent), and a config with no credentials, drivers or programs.
 */
async function setGitDirAside(dirs) {
    await mkdir(path.dirname(dirs.aside), { recursive: true, mode: 0o700 });
    await rename(dirs.home, dirs.aside);
    try {
        await buildAgentGitDir(dirs.aside, dirs.home);
    }
    catch (error) {
        await rm(dirs.home, { recursive: true, force: true });
        await rename(dirs.aside, dirs.home);
        throw new Error(`Could not prepare the agent's git dir: ${error.message}`, { cause: error });
    }
}
/**
 * Moves whatever the agent left at `.git` out of the way, puts the real git dir back, then deletes
 * the agent's. With `privilege` (mode user) as root: the agent may have left its `.git`, or the top
 * folder, so that the runner user cannot move or delete them. Idempotent.
 */
async function restoreGitDir(dirs, privilege) {
    if (!(await lstat(dirs.aside).catch(() => undefined)))
        return false;
    const container = path.dirname(dirs.aside);
    // One rename, whatever it is (a folder nested past PATH_MAX, a link, a file), and no link is followed.
    const discarded = path.join(container, `agent-git-${randomBytes(4).toString('hex')}`);
    if (await lstat(dirs.home).catch(() => undefined))
        await (privilege ? privilege.asRoot('mv', ['--no-target-directory', dirs.home, discarded]) : rename(dirs.home, discarded));
    await (privilege ? privilege.asRoot('mv', ['--no-target-directory', dirs.aside, dirs.home]) : rename(dirs.aside, dirs.home));
    const removal = privilege ? privilege.asRoot('rm', ['-rf', '--one-file-system', container]) : execFileAsync$1('rm', ['-rf', container]);
    await removal.catch((error) => warning(`Could not delete the agent's git dir in ${container}: ${error.message}`));
    return true;
}
async function buildAgentGitDir(realGitDir, agentGitDir) {
    await mkdir(agentGitDir, { mode: 0o755 });
    for (const file of ['HEAD', 'packed-refs', 'shallow', 'index', 'info/exclude', 'info/sparse-checkout']) {
        await mkdir(path.dirname(path.join(agentGitDir, file)), { recursive: true });
        await copyFile(path.join(realGitDir, file), path.join(agentGitDir, file)).catch((error) => {
            if (error.code !== 'ENOENT')
                throw error;
        });
    }
    await copyTree(path.join(realGitDir, 'refs'), path.join(agentGitDir, 'refs'), 'copy');
    await copyTree(path.join(realGitDir, 'reftable'), path.join(agentGitDir, 'reftable'), 'copy');
    await copyTree(path.join(realGitDir, 'objects'), path.join(agentGitDir, 'objects'), 'link');
    await writeFile(path.join(agentGitDir, 'config'), await agentConfig(realGitDir), { mode: 0o644 });
}
/** Copies (or hard-links) a tree of plain files and folders; links and anything else in it are skipped. */
async function copyTree(from, to, how) {
    const entries = await readdir(from, { withFileTypes: true }).catch((error) => {
        if (error.code === 'ENOENT')
            return undefined;
        throw error;
    });
    if (!entries)
        return;
    await mkdir(to, { recursive: true });
    for (const entry of entries) {
        const source = path.join(from, entry.name);
        const target = path.join(to, entry.name);
        if (entry.isDirectory())
            await copyTree(source, target, how);
        else if (entry.isFile())
            await (how === 'link' ? link(source, target) : copyFile(source, target));
    }
}
async function agentConfig(realGitDir) {
    const listed = await plainGit(realGitDir, ['config', '--file', path.join(realGitDir, 'config'), '--list', '-z']).catch(() => '');
    const sections = new Map([['core', ['\tbare = false', '\tlogallrefupdates = true']]]);
    for (const entry of listed.split('\0').filter(Boolean)) {
        const newline = entry.indexOf('\n');
        const name = newline < 0 ? entry : entry.slice(0, newline);
        let value = newline < 0 ? 'true' : entry.slice(newline + 1);
        if (!KEPT_CONFIG.test(name) || /^core\.bare$/i.test(name))
            continue;
        // A remote URL may carry a token as its user part.
        if (/\.(push)?url$/i.test(name))
            value = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
        const section = name.slice(0, name.indexOf('.'));
        const key = name.slice(name.lastIndexOf('.') + 1);
        const subsection = name.slice(section.length + 1, name.length - key.length - 1);
        const header = subsection ? `${section} "${subsection.replace(/["\\]/g, (c) => `\\${c}`)}"` : section;
        const lines = sections.get(header) ?? [];
        lines.push(`\t${key} = "${value.replace(/["\\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`);
        sections.set(header, lines);
    }
    return [...sections].map(([header, lines]) => `[${header}]\n${lines.join('\n')}\n`).join('');
}
/** git before the agent ran, on the user's own checkout: trusted, but still without hooks or fsmonitor. */
async function plainGit(cwd, args) {
    try {
        const { stdout } = await execFileAsync$1('git', [...SAFE_GIT, ...args], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        return stdout;
    }
    catch (error) {
        const stderr = error.stderr?.trim();
        throw new Error(`git ${args[0]} failed in ${cwd}: ${stderr || error.message}`);
    }
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
        return agentUserIdentity(privilege, userName, { uid, gid: uid });
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
/** The agent user's identity; its ids are looked up unless the caller just made the user with them. */
function agentUserIdentity(privilege, userName, ids) {
    const uid = ids?.uid ?? Number(execFileSync('id', ['-u', userName]).toString().trim());
    const gid = ids?.gid ?? Number(execFileSync('id', ['-g', userName]).toString().trim());
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

const OUTPUT_SCHEMA_FILE = 'output-schema.json';
/**
 * The schema compiled, or an Error saying why it is not a JSON Schema the validator accepts. The
 * validator loads only for a run that has a schema: it is a tenth of the bundle's start-up.
 */
async function compileOutputSchema(schema) {
    const dialect = schema.$schema;
    // Codex passes the schema to the model as is; the model's endpoint, not this check, decides which keywords it supports.
    const ajv = typeof dialect === 'string' && dialect.includes('2020-12')
        ? new (await import('./2020.js').then(function (n) { return n._; })).Ajv2020({ allErrors: true, strict: false })
        : new (await import('./ajv.js').then(function (n) { return n.a; })).Ajv({ allErrors: true, strict: false });
    return ajv.compile(schema);
}
/**
 * Puts the schema where Codex reads it and the agent cannot swap it: with a separate agent user, a root-owned file in
 * the agent's root-owned folder (readable, not replaceable); as the runner user, the action's own folder for the agent.
 * Returns its path; nothing without a schema.
 */
async function placeOutputSchema(schema, identity, folders, runRoot) {
    if (!schema)
        return undefined;
    const text = JSON.stringify(schema, null, 2) + '\n';
    const destination = path.join(folders.root, OUTPUT_SCHEMA_FILE);
    if (!folders.workspaceMount || !identity.privilege) {
        await writeFile(destination, text, { mode: 0o600, flag: 'wx' });
        return destination;
    }
    const source = path.join(runRoot, OUTPUT_SCHEMA_FILE);
    await writeFile(source, text, { mode: 0o600, flag: 'wx' });
    await identity.privilege.asRoot('install', ['-m', '0644', '-o', '0', '-g', '0', source, destination]);
    return destination;
}
/** Reads the final message as JSON and checks it against the schema. */
async function readStructuredOutput(schema, finalMessage) {
    let value;
    try {
        value = JSON.parse(finalMessage);
    }
    catch (error) {
        return { errors: [`the final message is not JSON (${error.message})`] };
    }
    const validate = await compileOutputSchema(schema);
    if (validate(value))
        return { value };
    return { errors: (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'does not match'}${error.keyword === 'additionalProperties' ? ` ('${String(error.params.additionalProperty)}')` : ''}`) };
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
    // What the agent made unreadable to its owner (mode 000) becomes readable again, links excepted: chmod would follow them.
    // -execdir works from each entry's own folder, so no path grows past PATH_MAX however deep the agent nested it; only
    // the entries that lack a bit are touched, so a tree the agent left readable costs no chmod at all.
    const lacksOwnerBits = ['(', '(', '-type', 'd', '!', '-perm', '-u=rwx', ')', '-o', '(', '!', '-type', 'd', '!', '-perm', '-u=rw', ')', ')'];
    const said = (error) => {
        // A tree that is already gone has nothing to give back; anything else is said, and the rest goes on.
        if (!/^((find|chown): [^\n]*No such file or directory\s*)*$/.test(error.stderr ?? ''))
            warning(`Could not give everything back to the runner user: ${(error.stderr ?? '').trim().split('\n').slice(0, 3).join(' ')}`);
    };
    await privilege.asRoot('find', [...trees, '-xdev', '-uid', String(uid), '!', '-type', 'l', ...lacksOwnerBits, '-execdir', 'chmod', 'u+rwX', '{}', '+']).catch(said);
    // One chown walk (fts, so no depth limit either) for everything the agent owns, links themselves rather than what they name.
    await privilege.asRoot('chown', ['-R', '-h', `--from=${uid}`, runner, ...trees]).catch(said);
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
    await privilege.asRoot('rm', ['-f', path.join(folders.root, OUTPUT_SCHEMA_FILE)]);
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

/** Ubuntu 23.10 and later (the 24.04 hosted runners) stop unprivileged user namespaces through AppArmor with this. */
const APPARMOR_USERNS = 'kernel.apparmor_restrict_unprivileged_userns';
const STARTED = 'codex-action-sandbox-started';
const WROTE = 'codex-action-sandbox-wrote';
// Says it started, then tries the write; a write that got through is undone at once and reported.
const PROBE_SCRIPT = `echo ${STARTED}; if (printf x > "$1") 2>/dev/null; then rm -f "$1"; echo ${WROTE}; fi; exit 0`;
const PROBE_TIME_LIMIT_MS = 30_000;
const THIS_MACHINE = { read: readSysctl, privilege: findPrivilege };
/**
 * Before Codex starts in one of its sandbox modes, runs one command under that sandbox the way
 * Codex will run the agent's commands (`codex sandbox`, as the agent user, with the agent's
 * environment and config.toml): the sandbox must start here, and a write outside the folders it
 * may write must be refused. Where the kernel keeps the sandbox from starting, says why and how to
 * fix it, or, for the one AppArmor setting that Ubuntu's hosted runners set, relaxes it for this
 * run when the action has root or sudo (`onRelax` records it first, so cleanup can restore it).
 */
async function probeSandbox(settings, binary, identity, configuration, onRelax, kernel = THIS_MACHINE) {
    if (settings.sandbox === 'bypass')
        return undefined;
    const mode = settings.sandbox;
    const target = probeTarget(mode, configuration, settings.writableRoots);
    let run = await runProbe(binary, mode, identity, configuration, target);
    let relaxed;
    if (!run.stdout.includes(STARTED)) {
        const blocker = await sandboxBlocker(kernel.read);
        const privilege = blocker?.name === APPARMOR_USERNS ? (identity.privilege ?? (await kernel.privilege())) : undefined;
        if (!blocker || !privilege)
            throw new Error(cannotStart(mode, run, blocker));
        relaxed = await relaxSysctl(privilege, blocker, onRelax);
        run = await runProbe(binary, mode, identity, configuration, target);
        if (!run.stdout.includes(STARTED))
            throw new Error(cannotStart(mode, run, undefined, relaxed));
    }
    if (target && run.stdout.includes(WROTE)) {
        throw new Error(`Codex's sandbox (${mode}) started, but it did not refuse a write to ${target}, outside the folders it may write: it would not hold the agent here. Use 'sandbox: bypass' with 'isolation: user' instead.`);
    }
    const summary = [
        `started here${target ? ` and refused a write to ${target}` : ''}`,
        target ? '' : 'every folder to try a refused write in is writable by design, so no write was tried',
        relaxed ? `${relaxed.name} was set to 0 for this run (it was ${relaxed.value}) and is restored when the job's cleanup runs` : ''
    ]
        .filter(Boolean)
        .join('; ');
    info(`Codex's sandbox (${mode}) ${summary}.`);
    return { mode, summary, relaxed };
}
/** Where a write must be refused: the working directory in read-only, the agent's home (outside every writable root) in workspace-write. */
function probeTarget(mode, configuration, writableRoots) {
    const name = `.codex-action-sandbox-probe-${randomBytes(6).toString('hex')}`;
    if (mode === 'read-only')
        return path.join(configuration.workingDirectory, name);
    const home = configuration.env.HOME;
    // Codex lets workspace-write write the working directory, /tmp, TMPDIR and the writable roots.
    const writable = [configuration.workingDirectory, '/tmp', configuration.env.TMPDIR, ...writableRoots.map((root) => path.resolve(configuration.workingDirectory, root))];
    if (!home || writable.some((root) => root && relativeInside(root, home) !== undefined))
        return undefined;
    return path.join(home, name);
}
function runProbe(binary, mode, identity, configuration, target) {
    // The mode goes on the command line as it does for `codex exec --sandbox`; the rest (writable roots, network) comes from config.toml.
    const args = ['sandbox', '-c', `sandbox_mode="${mode}"`, '--', 'sh', '-c', PROBE_SCRIPT, 'sandbox-probe', target ?? '/dev/null'];
    const command = identity.spawnCommand(binary, args, configuration.env);
    return new Promise((resolve, reject) => {
        const child = spawn(command.file, command.args, { ...command.options, cwd: configuration.workingDirectory, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (chunk) => (stdout = (stdout + chunk.toString()).slice(-8192)));
        child.stderr?.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-8192)));
        const timer = setTimeout(() => void identity.signalAll(child.pid, 'SIGKILL'), PROBE_TIME_LIMIT_MS);
        child.once('error', (error) => {
            clearTimeout(timer);
            reject(new Error(`Could not run Codex's sandbox probe (${binary} sandbox): ${error.message}`));
        });
        child.once('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}
/** The kernel setting that keeps unprivileged user namespaces (and so Codex's bubblewrap sandbox) from starting here, if one does. */
async function sandboxBlocker(read) {
    if ((await read(APPARMOR_USERNS)) === '1')
        return { name: APPARMOR_USERNS, value: '1' };
    if ((await read('user.max_user_namespaces')) === '0')
        return { name: 'user.max_user_namespaces', value: '0' };
    if ((await read('kernel.unprivileged_userns_clone')) === '0')
        return { name: 'kernel.unprivileged_userns_clone', value: '0' };
    return undefined;
}
async function readSysctl(name) {
    return (await readFile(path.join('/proc/sys', ...name.split('.')), 'utf8').catch(() => undefined))?.trim();
}
/** Sets the AppArmor user-namespace restriction to 0 for this run; recorded before it is changed, so a step killed here still has it restored. */
async function relaxSysctl(privilege, blocker, onRelax) {
    onRelax(blocker);
    await privilege.asRoot('sysctl', ['-w', `${blocker.name}=0`]);
    info(`Codex's sandbox could not start: ${blocker.name} is ${blocker.value} (Ubuntu's AppArmor restriction of unprivileged user namespaces). Set it to 0 for this run; cleanup puts ${blocker.value} back.`);
    return blocker;
}
/** Puts a setting the probe relaxed back as it was. */
async function restoreSysctl(privilege, relaxed) {
    await privilege.asRoot('sysctl', ['-w', `${relaxed.name}=${relaxed.value}`]);
    info(`Restored ${relaxed.name} to ${relaxed.value}.`);
}
function cannotStart(mode, run, blocker, relaxed) {
    const said = run.stderr
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('WARNING: proceeding'))
        .slice(-3)
        .join(' | ');
    const why = blocker
        ? blocker.name === APPARMOR_USERNS
            ? `${blocker.name} is 1: Ubuntu's AppArmor stops unprivileged user namespaces, which the sandbox needs, and the action has neither root nor passwordless sudo to relax it. Fix: run 'sudo sysctl -w ${blocker.name}=0' in an earlier step, or`
            : `${blocker.name} is ${blocker.value}: the kernel allows no new user namespaces, which the sandbox needs (a container or a hardened host). Fix: allow user namespaces on this runner, or`
        : `${relaxed ? `even with ${relaxed.name} set to 0, ` : ''}it exited with ${run.code ?? 'a signal'}${said ? ` (${said})` : ''}. Fix: check that this runner allows unprivileged user namespaces, or`;
    return `Codex's sandbox (sandbox: ${mode}) cannot start on this runner: ${why} use 'sandbox: bypass' with 'isolation: user' (the separate agent user and the network proxy then contain the agent).`;
}

/**
 * Ends the agent's time on the runner, whatever happened before: no process of the agent is left,
 * the repository and the real git dir are back as the runner user's, and the agent's folders,
 * user and leftovers are gone. Run at the end of main and again by the post step; anything already
 * done is skipped. Returns what could not be removed. Main passes the agent's identity it holds;
 * the post step finds it again from the saved state.
 */
async function cleanup(state, known) {
    if (!state) {
        info('Nothing to clean up: the main step did not get as far as preparing Codex.');
        return [];
    }
    const identity = known ?? (await identityForCleanup(state.isolation, state.agentUser));
    const left = [];
    // Each step on its own: one the agent managed to break must not keep the next, the real git dir above all, from its turn.
    const step = async (what, work) => {
        await work().catch((error) => {
            warning(`Cleanup could not ${what}: ${error.message}`);
            left.push(what);
        });
    };
    // All of it again even after main did: a process caught mid-fork by main's stop can have written since.
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
    const { relaxedSysctl } = state;
    if (relaxedSysctl) {
        await step(`restore ${relaxedSysctl.name} to ${relaxedSysctl.value}`, async () => {
            const privilege = identity.privilege ?? (await findPrivilege());
            if (!privilege)
                throw new Error('the action has neither root nor passwordless sudo now');
            await restoreSysctl(privilege, relaxedSysctl);
        });
    }
    if (left.length && process.env.GITHUB_STEP_SUMMARY) {
        await summary.addRaw(`<b>Could not remove everything the agent left:</b> ${escapeHtml(left.join('; '))}`, true).write();
    }
    return left;
}

var cleanup$1 = /*#__PURE__*/Object.freeze({
    __proto__: null,
    cleanup: cleanup
});

export { cleanup$1 as A, GIT_TIME_LIMIT_MS as G, setGitDirAside as a, restoreGitDir as b, copyIndex as c, trustedGitCommand as d, firewallFor as e, forgetStat as f, requireFirewall as g, addFirewall as h, compileOutputSchema as i, escapeHtml as j, readStructuredOutput as k, chooseIdentity as l, agentFolders as m, createAgentFolders as n, locateRepository as o, printAgentText as p, agentView as q, relativeInside as r, stageWorkTree as s, trustedGit as t, placeOutputSchema as u, lendWorkspace as v, writeTree as w, probeSandbox as x, handBack as y, cleanup as z };
