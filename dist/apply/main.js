import { p as plainGit, t as trustedGit, w as warning, g as getInput, r as relativeInside, s as setSecret, a as setFailed, b as setOutput, c as summary } from '../chunks/git-dir.js';
import { g as getOctokit, c as context } from '../chunks/github.js';
import { p as pathMatcher, a as picomatch, o as openAgentFile, g as globProblem, A as AgentFileRefused, c as cutText, b as cutDiffstat, I as InputError, r as readSecret, d as readBoolean, e as readList, f as readChoice } from '../chunks/inputs.js';
import { mkdtemp, mkdir, rm, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { execFileSync } from 'node:child_process';
import 'os';
import 'crypto';
import 'fs';
import 'path';
import 'http';
import 'https';
import 'net';
import 'tls';
import 'events';
import 'assert';
import 'util';
import 'node:assert';
import 'node:net';
import 'node:http';
import 'node:stream';
import 'node:buffer';
import 'node:util';
import 'node:querystring';
import 'node:events';
import 'node:diagnostics_channel';
import 'node:tls';
import 'node:zlib';
import 'node:perf_hooks';
import 'node:util/types';
import 'node:worker_threads';
import 'node:url';
import 'node:async_hooks';
import 'node:console';
import 'node:dns';
import 'string_decoder';
import 'child_process';
import 'timers';
import 'node:crypto';
import 'node:fs';

// As Linux allows (MAXSYMLINKS): a longer chain resolves nowhere, and is refused as leaving.
const MAX_LINK_HOPS = 40;
/**
 * Follows the link `link` of a tree as the file system will once the tree is checked out: each
 * part of its target in turn, through the tree's other links (`links`: path → target), `..` after
 * a link going up from where that link leads, not from its name. Says whether it leaves the
 * repository (an absolute target, above the top, into a `.git`, or no end) and every path it went
 * through, so a link that left before the patch can be told from one the patch sends out.
 */
function followLink(link, links) {
    const through = [link];
    const target = links.get(link) ?? '';
    if (target.startsWith('/'))
        return { leaves: true, through };
    const at = link.split('/').slice(0, -1);
    const pending = target.split('/');
    let hops = 0;
    while (pending.length) {
        const part = pending.shift();
        if (part === '' || part === '.')
            continue;
        if (part === '..') {
            if (!at.length)
                return { leaves: true, through };
            at.pop();
            continue;
        }
        // git refuses `.git` in any case at any depth in a tree; a case-insensitive file system finds it as `.GIT`.
        if (part.toLowerCase() === '.git')
            return { leaves: true, through };
        at.push(part);
        const here = at.join('/');
        through.push(here);
        const next = links.get(here);
        if (next === undefined)
            continue;
        if (++hops > MAX_LINK_HOPS || next.startsWith('/'))
            return { leaves: true, through };
        at.pop();
        pending.unshift(...next.split('/'));
    }
    return { leaves: false, through };
}

/**
 * Why apply will not land the agent's work, raised before anything is written: the step fails,
 * the repository and the remote stay as they were, and `paths` (the offending ones, if any) become
 * the `refused-paths` output and the comment's list.
 */
class Refusal extends Error {
    paths;
    constructor(message, paths) {
        super(message);
        this.paths = paths;
        this.name = 'Refusal';
    }
}

async function openRepository(workingDirectory) {
    const [top, gitDir] = (await plainGit(workingDirectory, ['rev-parse', '--show-toplevel', '--absolute-git-dir'])).trim().split('\n');
    const repository = { top, gitDir};
    const head = (await git(repository, ['rev-parse', '--verify', 'HEAD^{commit}'])).trim();
    const branch = (await git(repository, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim() || undefined;
    return { top, gitDir, head, branch };
}
/** git on the repository, as the action runs it everywhere: no hooks, fsmonitor, system or global configuration. */
function git(repository, args, env = {}) {
    return trustedGit(repository.gitDir, repository.top, args, env);
}
async function createScratch(repository) {
    const folder = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'codex-apply-'));
    const objects = path.join(folder, 'objects');
    await mkdir(objects);
    const realObjects = path.join(repository.gitDir, 'objects');
    return {
        env: (indexName) => ({ GIT_INDEX_FILE: path.join(folder, `${indexName}.index`), GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: realObjects }),
        // Objects are named by their content: copying never changes one the repository already has.
        keep: () => cp(objects, realObjects, { recursive: true, force: false, errorOnExist: false }),
        remove: () => rm(folder, { recursive: true, force: true })
    };
}

const SYMLINK_MODE = '120000';
const GITLINK_MODE = '160000';
/**
 * Checks the legs' patches with git in `scratch` (its own indexes and objects), before anything is written: each applies to
 * the checked-out commit, none was redacted, no two change the same path, the combined change stays
 * within max-files and max-bytes and off protected paths, and no link it leaves points outside the
 * repository. Throws a Refusal naming every offender.
 */
async function checkLegs(repository, legs, policy, scratch) {
    const redacted = legs.filter((leg) => leg.redacted);
    if (redacted.length) {
        throw new Refusal(`Refused: the patch of ${names(redacted)} was redacted by the agent job (a secret value was removed, so its content is not what the agent left), or its run.json does not say it was not. Fix the secret's source and run the agent again.`, []);
    }
    const totalBytes = legs.reduce((sum, leg) => sum + leg.patchBytes, 0);
    if (totalBytes > policy.maxBytes)
        throw new Refusal(`Refused: the patches are ${totalBytes} bytes together, more than max-bytes (${policy.maxBytes}).`, []);
    const filesByLeg = new Map();
    for (const [n, leg] of legs.entries())
        filesByLeg.set(leg.name, await changedFiles(repository, [leg], scratch.env(`leg-${n}`)));
    refuseOverlaps(filesByLeg);
    const env = scratch.env('combined');
    const files = await changedFiles(repository, legs, env);
    const tree = (await git(repository, ['write-tree'], env)).trim();
    if (files.length > policy.maxFiles)
        throw new Refusal(`Refused: the patches change ${files.length} files, more than max-files (${policy.maxFiles}).`, []);
    // Protected in any case: a case-insensitive checkout (macOS, Windows) reads .GitHub as .github.
    const isProtected = pathMatcher(policy.protectedPaths, { caseInsensitive: true });
    const isAllowed = pathMatcher(policy.allowedPaths);
    const refused = files.filter((file) => isProtected(file) && !isAllowed(file));
    if (refused.length) {
        throw new Refusal(`Refused: the patches change protected paths: ${refused.join(', ')}. Land them by hand, or name them in allowed-paths if this workflow may change them.`, refused);
    }
    const entries = await treeEntries(repository, tree, env);
    // A gitlink pins a commit of another repository (one a fork can add to GitHub's network), fetched by `submodules: true` checkouts.
    const gitlinks = files.filter((file) => entries.get(file)?.mode === GITLINK_MODE && !isAllowed(file));
    if (gitlinks.length) {
        throw new Refusal(`Refused: the patches change submodule commits: ${gitlinks.join(', ')}. Land them by hand, or name them in allowed-paths if this workflow may change them.`, gitlinks);
    }
    const escaping = await escapingLinks(repository, entries, await treeEntries(repository, repository.head, env), files, env);
    if (escaping.length) {
        throw new Refusal(`Refused: the patches leave symbolic links that point outside the repository: ${escaping.map((link) => `${link.path} -> ${link.target}`).join(', ')}.`, escaping.map((link) => link.path));
    }
    const diffstat = files.length ? (await git(repository, ['-c', 'core.quotePath=false', 'diff', '--no-ext-diff', '--no-textconv', '--no-color', '--stat=120', repository.head, tree], env)).trimEnd() : '';
    return { tree, files, filesByLeg, diffstat };
}
/** Applies the legs' patches in order to a scratch index holding the checked-out commit, and lists what they change. */
async function changedFiles(repository, legs, env) {
    await git(repository, ['read-tree', repository.head], env);
    for (const leg of legs) {
        if (!leg.patchBytes)
            continue;
        await git(repository, ['apply', '--cached', '--binary', '--whitespace=nowarn', leg.patchFile], env).catch((error) => {
            throw new Refusal(`Refused: the patch of '${leg.name}' does not apply to the checked-out commit ${repository.head}: ${error.message.replace(/^git apply failed in [^:]+: /, '')}`, []);
        });
    }
    const changed = await git(repository, ['diff', '--cached', '--no-renames', '--name-only', '-z', repository.head], env);
    return changed.split('\0').filter(Boolean).sort();
}
function refuseOverlaps(filesByLeg) {
    const legsByFile = new Map();
    for (const [leg, files] of filesByLeg)
        for (const file of files)
            legsByFile.set(file, [...(legsByFile.get(file) ?? []), leg]);
    const overlaps = [...legsByFile].filter(([, legs]) => legs.length > 1);
    if (overlaps.length) {
        const list = overlaps.map(([file, legs]) => `${file} (${legs.join(', ')})`).join('; ');
        throw new Refusal(`Refused: legs change the same paths, so their patches cannot be combined: ${list}. Give each matrix leg its own paths.`, overlaps.map(([file]) => file));
    }
}
async function treeEntries(repository, tree, env) {
    const listing = await git(repository, ['ls-tree', '-r', '-z', '--full-tree', tree], env);
    const entries = new Map();
    for (const entry of listing.split('\0').filter(Boolean)) {
        const [meta, file] = [entry.slice(0, entry.indexOf('\t')), entry.slice(entry.indexOf('\t') + 1)];
        const [mode, , object] = meta.split(' ');
        entries.set(file, { mode, object });
    }
    return entries;
}
/**
 * Links in the tree that leave the repository (absolute, above the top, into .git, or no end),
 * followed through the tree's other links, where the patch changed the link or a path on its way:
 * `q -> .` and `p -> q/src/../..` reads as "." but climbs above the top.
 */
async function escapingLinks(repository, entries, before, files, env) {
    // Where a link leads depends only on the tree's links: a patch that adds, changes or removes none leaves every way as it was.
    if (!files.some((file) => entries.get(file)?.mode === SYMLINK_MODE || before.get(file)?.mode === SYMLINK_MODE))
        return [];
    const touched = new Set(files.flatMap((file) => file.split('/').map((_, n, parts) => parts.slice(0, n + 1).join('/'))));
    const links = new Map();
    for (const [file, { mode, object }] of entries)
        if (mode === SYMLINK_MODE)
            links.set(file, await git(repository, ['cat-file', 'blob', object], env));
    const escaping = [];
    for (const [file, target] of links) {
        const way = followLink(file, links);
        if (way.leaves && way.through.some((passed) => touched.has(passed)))
            escaping.push({ path: file, target });
    }
    return escaping;
}
function names(legs) {
    return legs.map((leg) => `'${leg.name}'`).join(', ');
}

// run.json and last-message.md are small; an artifact that says otherwise is not read whole.
const RECORD_LIMIT_BYTES = 1024 * 1024;
/** Downloads this run's artifact(s) named by `artifact-name` or matching `artifact-pattern`, and reads what apply needs from each. */
async function downloadLegs(settings) {
    // Loaded only here: the artifact client and its storage SDK are most of the bundle's start-up time.
    const { DefaultArtifactClient } = await import('../chunks/artifact.js');
    const client = new DefaultArtifactClient();
    const { artifacts } = await client.listArtifacts({ latest: true });
    const wanted = settings.artifactName ? (name) => name === settings.artifactName : picomatch(settings.artifactPattern, { dot: true });
    const chosen = artifacts.filter((artifact) => wanted(artifact.name)).sort((a, b) => a.name.localeCompare(b.name));
    if (!chosen.length) {
        const asked = settings.artifactName ? `named '${settings.artifactName}'` : `matching '${settings.artifactPattern}'`;
        const present = artifacts.map((artifact) => artifact.name).join(', ') || 'none';
        throw new Refusal(`No artifact ${asked} in this workflow run (its artifacts: ${present}). Did the agent job upload one (upload-artifacts), and does apply run after it (needs:)?`, []);
    }
    const root = await mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'codex-apply-'));
    const legs = [];
    for (const artifact of chosen) {
        const folder = path.join(root, String(artifact.id));
        await client.downloadArtifact(artifact.id, { path: folder });
        legs.push(await readLeg(artifact.name, artifact.id, folder, settings.policy.maxBytes));
    }
    return legs;
}
async function readLeg(name, artifactId, folder, maxPatchBytes) {
    const record = await readRecordFile(name, path.join(folder, 'run.json'));
    let run;
    try {
        run = JSON.parse(record);
    }
    catch {
        throw new Refusal(`The artifact '${name}' has a run.json that is not JSON: it was not made by codex-action.`, []);
    }
    const patchFile = path.join(folder, 'codex.patch');
    // Opened as a proven regular file; only its size is needed here, git reads it later.
    const patch = await openAgentFile(patchFile, { maxBytes: 1 }).catch((error) => {
        throw new Refusal(`The artifact '${name}' has no readable codex.patch (${error.message}).`, []);
    });
    patch.stream.destroy();
    if (patch.size > maxPatchBytes)
        throw new Refusal(`The patch of '${name}' is ${patch.size} bytes, more than max-bytes (${maxPatchBytes}).`, []);
    // Shown in the commit message and the pull request: only what the agent job's input could have been, one line each.
    const slice = Array.isArray(run.slice) ? run.slice.filter((glob) => typeof glob === 'string' && !/[\x00-\x1f\x7f`]/.test(glob) && !globProblem(glob)) : [];
    return {
        name,
        artifactId,
        patchFile,
        patchBytes: patch.size,
        redacted: run.patchRedacted !== false,
        slice,
        conclusion: typeof run.conclusion === 'string' ? run.conclusion : 'unknown',
        finalMessage: await readRecordFile(name, path.join(folder, 'last-message.md')).catch(() => ''),
        usage: typeof run.usage === 'object' && run.usage !== null ? run.usage : undefined
    };
}
async function readRecordFile(artifact, file) {
    try {
        const opened = await openAgentFile(file, { maxBytes: RECORD_LIMIT_BYTES });
        return await text(opened.stream);
    }
    catch (error) {
        const why = error instanceof AgentFileRefused ? error.message : error.message;
        throw new Refusal(`The artifact '${artifact}' has no readable ${path.basename(file)} (${why}): it was not made by codex-action.`, []);
    }
}

// GitHub takes 65536 characters in a pull request body or a comment; the agent's parts share half of it.
const AGENT_TEXT_BYTES = 32 * 1024;
const DIFFSTAT_BYTES = 16 * 1024;
const TITLE_LENGTH = 72;
function runContext(env = process.env) {
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    const runUrl = `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
    return { runUrl, workflow: env.GITHUB_WORKFLOW ?? 'workflow', runNumber: env.GITHUB_RUN_NUMBER ?? '', artifactUrl: (leg) => `${runUrl}/artifacts/${leg.artifactId}` };
}
/**
 * Agent text as a fenced code block, longer-fenced than any backtick run inside it: GitHub shows it
 * as it is, and no line of it can become markup, a link, a mention or a closing fence.
 */
function fenced(text, language = '') {
    const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((run) => run[0].length));
    const fence = '`'.repeat(longest + 1);
    return `${fence}${language}\n${text.replace(/\r\n?/g, '\n')}\n${fence}`;
}
/** One line of plain text (a title or commit subject) from agent text: no control characters, cut at a word. */
function plainLine(text, maxLength = TITLE_LENGTH) {
    const line = (text.split('\n').find((candidate) => candidate.trim()) ?? '').replace(/[\x00-\x1f\x7f]/g, ' ').replace(/^[#>*\-\s]+/, '').trim();
    return line.length <= maxLength ? line : `${line.slice(0, maxLength - 1).replace(/\s+\S*$/, '')}…`;
}
function defaultTitle(legs, run) {
    const first = legs.length === 1 ? plainLine(legs[0].finalMessage) : '';
    return first ? `Codex: ${first}` : `Codex: changes from ${run.workflow} run ${run.runNumber}`;
}
function commitMessage(title, legs, run) {
    const legLines = legs.length > 1 ? `\n\nLegs:\n${legs.map((leg) => `- ${leg.name}${leg.slice.length ? ` (${leg.slice.join(', ')})` : ''}`).join('\n')}` : '';
    return `${title}${legLines}\n\nApplied by codex-action from ${run.runUrl}`;
}
/** The pull request body: every leg with its slice, final message and usage, then the diffstat. */
function pullRequestBody(legs, plan, run) {
    const perLeg = Math.floor(AGENT_TEXT_BYTES / legs.length);
    const parts = [`Codex made these changes in [${escapeMarkdownText(run.workflow)} run ${run.runNumber}](${run.runUrl}); review them like any contribution.`];
    for (const leg of legs) {
        const files = plan.filesByLeg.get(leg.name)?.length ?? 0;
        parts.push(`### ${legs.length > 1 ? 'Leg ' : ''}\`${leg.name.replace(/`/g, "'")}\` ([artifact](${run.artifactUrl(leg)}))`, `${leg.slice.length ? `Paths: ${leg.slice.map((glob) => `\`${glob.replace(/`/g, "'")}\``).join(', ')}. ` : ''}Conclusion: ${leg.conclusion.replace(/[^\w-]/g, '')}; ${files} files changed; ${usageLine(leg)}.`, leg.finalMessage.trim() ? fenced(cutText(leg.finalMessage.trim(), '\n…(cut; last-message.md in the artifact has all of it)', perLeg), 'markdown') : '_No final message._');
    }
    parts.push('### Diffstat', fenced(cutDiffstat(plan.diffstat, DIFFSTAT_BYTES), 'text'));
    return parts.join('\n\n');
}
function usageLine(leg) {
    const usage = leg.usage;
    if (!usage)
        return 'usage unknown';
    const number = (value) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
    return `${number(usage.requests)} model requests, ${number(usage.input_tokens)} input and ${number(usage.output_tokens)} output tokens`;
}
/** Plain text from the runner (workflow names) inside Markdown link text. */
function escapeMarkdownText(text) {
    return text.replace(/[\\`*_{}[\]()<>#+!|@~-]/g, (c) => `\\${c}`);
}
const COMMENT_MARKER = (runId) => `<!-- codex-action/apply run:${runId} -->`;
function commentBody(outcome, run, runId) {
    const icon = { landed: '✅', 'no-changes': '➖', refused: '⛔', fork: '📝', failed: '❌' }[outcome.conclusion];
    const parts = [COMMENT_MARKER(runId), `### ${icon} Codex apply: ${outcome.conclusion}`, `[${escapeMarkdownText(run.workflow)} run ${run.runNumber}](${run.runUrl})`];
    // The message may name agent-chosen paths: shown as text.
    parts.push(fenced(cutText(outcome.message, '…', AGENT_TEXT_BYTES), 'text'));
    if (outcome.link)
        parts.push(`→ [${outcome.link.text}](${outcome.link.url})`);
    if (outcome.legs.length)
        parts.push(`Artifacts: ${outcome.legs.map((leg) => `[${leg.name.replace(/[[\]()`]/g, '-')}](${run.artifactUrl(leg)})`).join(', ')}`);
    if (outcome.plan?.diffstat)
        parts.push(fenced(cutDiffstat(outcome.plan.diffstat, DIFFSTAT_BYTES), 'text'));
    return parts.join('\n\n');
}

function connect(token) {
    // GITHUB_API_URL (GitHub Enterprise Server, or a test's stand-in) is read by the client itself.
    return getOctokit(token);
}
async function readTrigger(github) {
    const { payload, repo } = context;
    const thisRepository = `${repo.owner}/${repo.repo}`.toLowerCase();
    const target = (number, headRef, headRepository) => ({
        issueNumber: number,
        pullRequest: { number, headRef, fromFork: (headRepository ?? '').toLowerCase() !== thisRepository }
    });
    if (payload.pull_request) {
        const pull = payload.pull_request;
        return target(pull.number, pull.head.ref, pull.head.repo?.full_name);
    }
    if (payload.issue?.pull_request) {
        const { data } = await github.rest.pulls.get({ ...repo, pull_number: payload.issue.number }).catch((error) => {
            throw new Error(status(error) === 403 ? forbidden(`read pull request #${payload.issue.number}`, 'pull-requests: read') : `Could not read pull request #${payload.issue.number}: ${error.message}`);
        });
        return target(data.number, data.head.ref, data.head.repo?.full_name);
    }
    if (payload.issue)
        return { issueNumber: payload.issue.number };
    const run = payload.workflow_run;
    if (run) {
        // GitHub lists no pull request for a workflow_run from a fork: a head repository of its own says it all.
        const number = run.pull_requests?.[0]?.number;
        if (number)
            return target(number, run.head_branch ?? '', run.head_repository?.full_name);
        if (run.head_repository?.full_name?.toLowerCase() !== thisRepository)
            return { pullRequest: { number: 0, headRef: run.head_branch ?? '', fromFork: true } };
    }
    return {};
}
/** Opens the pull request, or updates the open one from the same branch (GitHub answers 422 for a second), then adds labels and reviewers. */
async function openPullRequest(github, request) {
    const { repo } = context;
    let pull;
    let updated = false;
    try {
        pull = (await github.rest.pulls.create({ ...repo, head: request.head, base: request.base, title: request.title, body: request.body })).data;
    }
    catch (error) {
        if (status(error) === 403)
            throw new Error(forbidden('open a pull request', 'pull-requests: write (and, for GITHUB_TOKEN, the repository setting "Allow GitHub Actions to create and approve pull requests")'));
        if (status(error) !== 422)
            throw error;
        const [existing] = (await github.rest.pulls.list({ ...repo, head: `${repo.owner}:${request.head}`, base: request.base, state: 'open' })).data;
        if (!existing)
            throw error;
        pull = (await github.rest.pulls.update({ ...repo, pull_number: existing.number, title: request.title, body: request.body })).data;
        updated = true;
    }
    if (request.labels.length)
        await github.rest.issues.addLabels({ ...repo, issue_number: pull.number, labels: request.labels }).catch((error) => warning(`Labels were not added to #${pull.number}: ${error.message}`));
    if (request.reviewers.length)
        await github.rest.pulls.requestReviewers({ ...repo, pull_number: pull.number, reviewers: request.reviewers }).catch((error) => warning(`Reviewers were not requested on #${pull.number}: ${error.message}`));
    return { number: pull.number, url: pull.html_url, updated };
}
/** One comment per workflow run on the issue or pull request, found again by its marker and updated in place. */
async function upsertComment(github, issueNumber, runId, body) {
    const { repo } = context;
    try {
        const comments = await github.paginate(github.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 });
        const mine = comments.find((comment) => comment.body?.startsWith(COMMENT_MARKER(runId)));
        if (mine)
            await github.rest.issues.updateComment({ ...repo, comment_id: mine.id, body });
        else
            await github.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
    }
    catch (error) {
        // The comment reports; it never decides the outcome.
        warning(status(error) === 403 ? forbidden(`comment on #${issueNumber}`, 'issues: write or pull-requests: write') : `The comment on #${issueNumber} was not written: ${error.message}`);
    }
}
function status(error) {
    return error.status;
}
function forbidden(what, permission) {
    return `The github-token may not ${what} (HTTP 403): give the job ${permission}.`;
}

/**
 * Refused by default: what runs with the repository's rights or credentials (workflows, actions,
 * hooks of package managers and their credential files), and what changes how git reads the tree.
 */
const DEFAULT_PROTECTED_PATHS = [
    '.github/**',
    '**/action.yml',
    '**/action.yaml',
    '.gitmodules',
    '**/.gitattributes',
    '.lfsconfig',
    '**/CODEOWNERS',
    '**/.npmrc',
    '**/.yarnrc',
    '**/.yarnrc.yml',
    '**/.pypirc',
    '**/pip.conf',
    '**/.netrc',
    '**/.gem/credentials',
    '**/.cargo/credentials',
    '**/.cargo/credentials.toml',
    '**/.docker/config.json',
    '**/.m2/settings.xml',
    '**/.gradle/gradle.properties',
    '**/.nuget/NuGet.Config',
    '**/nuget.config'
];
const DEFAULT_MAX_FILES = 300;
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_BRANCH = 'codex/{workflow}-{run-id}';
const DEFAULT_AUTHOR = 'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>';
function readApplySettings(env = process.env) {
    const artifactName = getInput('artifact-name') || undefined;
    const artifactPattern = getInput('artifact-pattern') || undefined;
    if (Boolean(artifactName) === Boolean(artifactPattern)) {
        throw new InputError('artifact-name', `and 'artifact-pattern' are ${artifactName ? 'both given' : 'both empty'}`, "exactly one: 'artifact-name' (one agent job's artifact) or 'artifact-pattern' (a glob over this run's artifact names, for matrix legs)");
    }
    if (artifactPattern && globProblem(artifactPattern)) {
        throw new InputError('artifact-pattern', `is '${artifactPattern}', which ${globProblem(artifactPattern)}`, "a glob over artifact names such as 'codex-fanout-*'");
    }
    const githubToken = readSecret('github-token');
    if (!githubToken)
        throw new InputError('github-token', 'is empty', 'a token with contents: write (and pull-requests: write to open pull requests), e.g. ${{ github.token }} or a GitHub App token');
    return {
        artifactName,
        artifactPattern,
        mode: readChoice('mode', ['pull-request', 'push', 'commit']) ?? 'pull-request',
        githubToken,
        workingDirectory: readWorkingDirectory(env),
        policy: {
            protectedPaths: [...DEFAULT_PROTECTED_PATHS, ...readGlobs('protected-paths')],
            allowedPaths: readGlobs('allowed-paths'),
            maxFiles: readPositiveInteger('max-files', DEFAULT_MAX_FILES),
            maxBytes: readPositiveInteger('max-bytes', DEFAULT_MAX_BYTES)
        },
        branch: readBranch(env),
        base: readRefName('base'),
        title: oneLine(getInput('title')) || undefined,
        commitMessage: getInput('commit-message').trim() || undefined,
        labels: readList('labels'),
        reviewers: readList('reviewers'),
        author: readAuthor(),
        comment: readBoolean('comment', true)
    };
}
function readGlobs(input) {
    const globs = readList(input);
    for (const glob of globs) {
        const problem = globProblem(glob);
        if (problem)
            throw new InputError(input, `names '${glob}', which ${problem}`, "globs relative to the repository's top ('docs/**', '.github/workflows/ci.yml'), separated by commas or new lines");
    }
    return globs;
}
function readPositiveInteger(input, fallback) {
    const value = getInput(input);
    if (!value)
        return fallback;
    if (!/^\d{1,15}$/.test(value) || Number(value) < 1)
        throw new InputError(input, `is '${value}'`, 'a whole number of at least 1');
    return Number(value);
}
function readWorkingDirectory(env) {
    const workspace = env.GITHUB_WORKSPACE || process.cwd();
    const directory = path.resolve(workspace, getInput('working-directory') || '.');
    if (relativeInside(workspace, directory) === undefined) {
        throw new InputError('working-directory', `is '${directory}', outside the workspace '${workspace}'`, 'a folder of the checked-out repository, relative to the workspace');
    }
    return directory;
}
/** The branch template with its placeholders filled, checked by git as a branch name. */
function readBranch(env) {
    const template = getInput('branch') || DEFAULT_BRANCH;
    const workflow = (env.GITHUB_WORKFLOW ?? 'workflow').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'workflow';
    const values = { 'run-id': env.GITHUB_RUN_ID ?? '0', 'run-number': env.GITHUB_RUN_NUMBER ?? '0', 'run-attempt': env.GITHUB_RUN_ATTEMPT ?? '1', workflow, job: env.GITHUB_JOB ?? 'job' };
    const branch = template.replace(/\{([a-z-]+)\}/g, (whole, name) => values[name] ?? whole);
    if (!isBranchName(branch)) {
        throw new InputError('branch', `is '${template}' (${branch})`, 'a branch name, optionally with {workflow}, {run-id}, {run-number}, {run-attempt} or {job}, such as codex/{workflow}-{run-id}');
    }
    return branch;
}
function readRefName(input) {
    const value = getInput(input);
    if (value && !isBranchName(value))
        throw new InputError(input, `is '${value}'`, 'a branch name such as main');
    return value || undefined;
}
function isBranchName(name) {
    if (/[\s\x00-\x1f\x7f]|^-/.test(name))
        return false;
    try {
        execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
        return true;
    }
    catch {
        return false;
    }
}
function readAuthor() {
    const value = getInput('author') || DEFAULT_AUTHOR;
    const match = /^([^<>\n]+?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(value.trim());
    if (!match)
        throw new InputError('author', `is '${value}'`, "'Name <email>', such as 'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>'");
    return { name: match[1], email: match[2] };
}
function oneLine(text) {
    return text.replace(/\s+/g, ' ').trim();
}

/** Commits the checked plan onto the checked-out commit, then pushes it or opens a pull request, as `mode` says. */
async function land(repository, scratch, github, request) {
    const { settings, plan } = request;
    // Everything that can still refuse is decided before the first write.
    const base = settings.mode === 'pull-request' ? pullRequestBase(repository, request) : undefined;
    const target = request.pullRequest;
    if (settings.mode === 'push' && !target?.headRef)
        throw new Error('mode push needs a pull request to push to: run apply on a pull_request, issue_comment (on a pull request) or workflow_run event, or use mode pull-request.');
    await scratch.keep();
    const { name, email } = settings.author;
    const identity = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
    // commit-tree writes the commit from the checked tree: no hook, no index, no work tree involved.
    const commitSha = (await git(repository, ['commit-tree', plan.tree, '-p', repository.head, '-m', request.message], identity)).trim();
    if (base) {
        // The branch is apply's own: when it exists (the same scheduled job, again), it is replaced, and its open pull request updated.
        await push(repository, settings, `+${commitSha}:refs/heads/${settings.branch}`);
        const pullRequest = await openPullRequest(github, { head: settings.branch, base, title: request.title, body: request.body, labels: settings.labels, reviewers: settings.reviewers });
        return { commitSha, branch: settings.branch, pullRequest };
    }
    // push and commit: the commit goes onto the checkout, work tree and index included.
    await git(repository, ['read-tree', '-m', '-u', repository.head, commitSha]);
    await git(repository, ['update-ref', '-m', 'codex-action apply', 'HEAD', commitSha, repository.head]);
    if (settings.mode === 'commit' || !target)
        return { commitSha, branch: repository.branch };
    // Never forced: if the branch moved since the checkout, the push is refused and nothing is lost.
    await push(repository, settings, `${commitSha}:refs/heads/${target.headRef}`);
    return { commitSha, branch: target.headRef };
}
/** The base of the pull request; apply's branch, which it force-pushes, may be none of the branches people work on. */
function pullRequestBase(repository, { settings, defaultBase }) {
    const base = settings.base ?? repository.branch ?? defaultBase;
    if (!base)
        throw new Error("The pull request needs a base branch: HEAD is detached and the event names no default branch. Set the input 'base'.");
    const taken = [base, repository.branch, defaultBase].filter((name) => Boolean(name));
    if (taken.includes(settings.branch))
        throw new Error(`The input 'branch' (${settings.branch}) is the base, the checked-out or the default branch: apply force-pushes its branch, so it must be a branch of its own.`);
    return base;
}
/** Pushes to origin; over https, with github-token (the checkout's persisted credential, if any, is replaced). */
async function push(repository, settings, refspec) {
    const origin = (await git(repository, ['remote', 'get-url', 'origin'])).trim();
    const auth = {};
    const url = /^https?:\/\//i.test(origin) ? new URL(origin) : undefined;
    if (url) {
        const header = `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${settings.githubToken}`).toString('base64')}`;
        setSecret(header.slice('AUTHORIZATION: basic '.length));
        const key = `http.${url.protocol}//${url.host}/.extraheader`;
        // Through the environment, not the command line; an empty value first clears what actions/checkout persisted.
        Object.assign(auth, { GIT_CONFIG_COUNT: '2', GIT_CONFIG_KEY_0: key, GIT_CONFIG_VALUE_0: '', GIT_CONFIG_KEY_1: key, GIT_CONFIG_VALUE_1: header });
    }
    await git(repository, ['push', '--no-verify', '--porcelain', 'origin', refspec], auth);
}

/** The trusted landing job: download the agent's patch(es), check them, land them, and say so on the pull request or issue. */
async function main() {
    const settings = readApplySettings();
    const github = connect(settings.githubToken);
    const trigger = await readTrigger(github);
    const outcome = await applyLegs(settings, github, trigger);
    await report(outcome, settings, github, trigger);
    if (outcome.conclusion === 'refused' || outcome.conclusion === 'fork' || outcome.conclusion === 'failed')
        setFailed(outcome.message);
}
async function applyLegs(settings, github, trigger) {
    const run = runContext();
    let legs = [];
    let plan;
    let scratch;
    try {
        legs = await downloadLegs(settings);
        const repository = await openRepository(settings.workingDirectory);
        scratch = await createScratch(repository);
        plan = await checkLegs(repository, legs, settings.policy, scratch);
        if (!plan.files.length)
            return { conclusion: 'no-changes', message: `Nothing to land: the patch${legs.length > 1 ? 'es change' : ' changes'} no file.`, legs, plan, refusedPaths: [] };
        if (settings.mode === 'push' && trigger.pullRequest?.fromFork) {
            return { conclusion: 'fork', message: `Not pushed: the pull request's branch lives in a fork, where apply never pushes. ${plan.files.length} files would change; the patch is in the artifact (git apply it on the branch).`, legs, plan, refusedPaths: [] };
        }
        const title = settings.title ?? defaultTitle(legs, run);
        const landing = await land(repository, scratch, github, {
            settings,
            plan,
            title,
            message: settings.commitMessage ?? commitMessage(title, legs, run),
            body: pullRequestBody(legs, plan, run),
            pullRequest: trigger.pullRequest,
            defaultBase: context.payload.repository?.default_branch
        });
        setOutput('landed', 'true');
        setOutput('commit-sha', landing.commitSha);
        setOutput('branch', landing.branch ?? '');
        setOutput('pull-request-number', landing.pullRequest ? String(landing.pullRequest.number) : '');
        setOutput('pull-request-url', landing.pullRequest?.url ?? '');
        const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
        const link = landing.pullRequest
            ? { text: `pull request #${landing.pullRequest.number}${landing.pullRequest.updated ? ' (updated)' : ''}`, url: landing.pullRequest.url }
            : { text: `commit ${landing.commitSha.slice(0, 12)}${settings.mode === 'push' ? ` on ${landing.branch}` : ' (not pushed)'}`, url: `${server}/${process.env.GITHUB_REPOSITORY}/commit/${landing.commitSha}` };
        const how = { 'pull-request': 'opened as a pull request', push: `pushed to ${landing.branch}`, commit: 'committed (not pushed)' }[settings.mode];
        return { conclusion: 'landed', message: `${plan.files.length} files changed from ${legs.length} leg${legs.length > 1 ? 's' : ''}, ${how}.`, legs, plan, refusedPaths: [], link };
    }
    catch (error) {
        if (error instanceof Refusal)
            return { conclusion: 'refused', message: error.message, legs, plan, refusedPaths: error.paths };
        return { conclusion: 'failed', message: error.message, legs, plan, refusedPaths: [] };
    }
    finally {
        await scratch?.remove();
    }
}
async function report(outcome, settings, github, trigger) {
    if (outcome.conclusion !== 'landed')
        setOutput('landed', 'false');
    setOutput('refused-paths', JSON.stringify(outcome.refusedPaths));
    setOutput('legs', JSON.stringify(outcome.legs.map((leg) => ({ name: leg.name, artifactId: leg.artifactId, paths: leg.slice, files: outcome.plan?.filesByLeg.get(leg.name) ?? null }))));
    const runId = process.env.GITHUB_RUN_ID ?? '0';
    const body = commentBody(outcome, runContext(), runId);
    if (settings.comment && trigger.issueNumber)
        await upsertComment(github, trigger.issueNumber, runId, body);
    if (process.env.GITHUB_STEP_SUMMARY)
        await summary.addRaw(body, true).write();
}
main().catch((error) => setFailed(error.message));
